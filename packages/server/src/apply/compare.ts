/**
 * Txn compares with etcd 3.4's semantics (applyCompare): a compare over a range
 * holds only if it holds for every key in it; over no key, a VALUE compare fails
 * and the others compare against zero.
 */
import { etcdserverpb, type mvccpb } from '@etcd-ts/api';
import type { RangeView } from './range.js';

type Compare = etcdserverpb.Compare;
const Target = etcdserverpb.Compare_CompareTarget;
const Result = etcdserverpb.Compare_CompareResult;

export function applyCompares(view: RangeView, compares: readonly Compare[]): boolean {
  return compares.every((c) => applyCompare(view, c));
}

function applyCompare(view: RangeView, c: Compare): boolean {
  const end = c.rangeEnd.length > 0 ? c.rangeEnd : undefined;
  let kvs: mvccpb.KeyValue[];
  try {
    kvs = view.range(c.key, end).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    // A missing key has no value to compare (nil and empty are the same on the wire).
    if (c.target === Target.VALUE) return false;
    return compareKV(c, undefined);
  }
  return kvs.every((kv) => compareKV(c, kv));
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareKV(c: Compare, kv: mvccpb.KeyValue | undefined): boolean {
  let result: number;
  switch (c.target) {
    case Target.VALUE:
      result = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY);
      break;
    case Target.CREATE:
      result = sign((kv?.createRevision ?? 0) - (c.createRevision ?? 0));
      break;
    case Target.MOD:
      result = sign((kv?.modRevision ?? 0) - (c.modRevision ?? 0));
      break;
    case Target.VERSION:
      result = sign((kv?.version ?? 0) - (c.version ?? 0));
      break;
    case Target.LEASE: {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      result = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    default:
      result = 0;
  }
  switch (c.result) {
    case Result.EQUAL:
      return result === 0;
    case Result.NOT_EQUAL:
      return result !== 0;
    case Result.GREATER:
      return result > 0;
    case Result.LESS:
      return result < 0;
    default:
      return true;
  }
}

const EMPTY = Buffer.alloc(0);
