import { etcdserverpb } from '@etcd-ts/api';
import { toBuffer, type Bytes } from './codec.js';
import { keyRange, leaseIdOf, type KeyRangeOptions, type LeaseRef } from './ops.js';

/** Comparison operators of a txn compare. */
export type CompareOp = '=' | '!=' | '<' | '>';

const RESULT: Record<CompareOp, etcdserverpb.Compare_CompareResult> = {
  '=': etcdserverpb.Compare_CompareResult.EQUAL,
  '!=': etcdserverpb.Compare_CompareResult.NOT_EQUAL,
  '<': etcdserverpb.Compare_CompareResult.LESS,
  '>': etcdserverpb.Compare_CompareResult.GREATER,
};
const T = etcdserverpb.Compare_CompareTarget;

/** A txn condition. */
export type Cmp = etcdserverpb.CompareInit;

function cmp(
  key: Bytes,
  op: CompareOp,
  target: etcdserverpb.Compare_CompareTarget,
  value: Partial<etcdserverpb.CompareInit>,
  range: KeyRangeOptions | undefined,
): Cmp {
  const { key: k, rangeEnd } = keyRange(key, range);
  return { key: k, rangeEnd, result: RESULT[op], target, ...value };
}

/**
 * Txn conditions in etcd's vocabulary, e.g. `compare.createRevision(k, '=', 0)`
 * (the key does not exist), `compare.value(k, '=', 'v')`. With a range option
 * the condition must hold for every key in the range.
 */
export const compare = {
  value: (key: Bytes, op: CompareOp, value: Bytes, range?: KeyRangeOptions): Cmp =>
    cmp(key, op, T.VALUE, { value: toBuffer(value) }, range),
  version: (key: Bytes, op: CompareOp, version: number, range?: KeyRangeOptions): Cmp =>
    cmp(key, op, T.VERSION, { version }, range),
  createRevision: (key: Bytes, op: CompareOp, revision: number, range?: KeyRangeOptions): Cmp =>
    cmp(key, op, T.CREATE, { createRevision: revision }, range),
  modRevision: (key: Bytes, op: CompareOp, revision: number, range?: KeyRangeOptions): Cmp =>
    cmp(key, op, T.MOD, { modRevision: revision }, range),
  lease: (key: Bytes, op: CompareOp, lease: LeaseRef | 0n, range?: KeyRangeOptions): Cmp =>
    cmp(key, op, T.LEASE, { lease: typeof lease === 'bigint' ? lease : leaseIdOf(lease) }, range),
} as const;
