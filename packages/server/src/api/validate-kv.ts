/**
 * Request validation done before a KV request is proposed, with etcd 3.4's rules
 * and errors (etcdserver/api/v3rpc/key.go): empty keys, value/lease given with
 * ignore_value/ignore_lease, the txn operation limit, and overlapping writes in
 * one txn. A request rejected here never reaches the log.
 */
import { etcdError, type etcdserverpb } from '@etcd-ts/api';
import { compareBytes } from '@etcd-ts/api';

type RangeRequest = etcdserverpb.RangeRequest;
type PutRequest = etcdserverpb.PutRequest;
type DeleteRangeRequest = etcdserverpb.DeleteRangeRequest;
type TxnRequest = etcdserverpb.TxnRequest;
type RequestOp = etcdserverpb.RequestOp;

const isEmpty = (b: Uint8Array | undefined): boolean => b === undefined || b.length === 0;

export function checkRangeRequest(r: RangeRequest): void {
  if (isEmpty(r.key)) throw etcdError('EMPTY_KEY');
}

export function checkPutRequest(r: PutRequest): void {
  if (isEmpty(r.key)) throw etcdError('EMPTY_KEY');
  if (r.ignoreValue && !isEmpty(r.value)) throw etcdError('VALUE_PROVIDED');
  if (r.ignoreLease && r.lease !== 0n) throw etcdError('LEASE_PROVIDED');
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (isEmpty(r.key)) throw etcdError('EMPTY_KEY');
}

/** The whole of a txn request's checks: operation counts, keys, and overlapping writes. */
export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnRequest(r, maxTxnOps);
  // Overlaps are checked after the cheap checks so a huge request cannot cause quadratic work.
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw etcdError('TOO_MANY_TXN_OPS');
  for (const c of r.compare) {
    if (isEmpty(c.key)) throw etcdError('EMPTY_KEY');
  }
  for (const op of r.success) checkRequestOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkRequestOp(op, maxTxnOps - opc);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange !== undefined) return checkRangeRequest(op.requestRange);
  if (op.requestPut !== undefined) return checkPutRequest(op.requestPut);
  if (op.requestDeleteRange !== undefined) return checkDeleteRequest(op.requestDeleteRange);
  if (op.requestTxn !== undefined) return checkTxnRequest(op.requestTxn, maxTxnOps);
  // An empty union member is what etcd reports as a missing key.
  throw etcdError('KEY_NOT_FOUND');
}

/**
 * A deleted interval [begin, end), or a single key when end is undefined.
 * Keys compare as unsigned bytes.
 */
interface Interval {
  readonly begin: Uint8Array;
  readonly end: Uint8Array | undefined;
}

function intersectsPoint(dels: readonly Interval[], key: Uint8Array): boolean {
  for (const iv of dels) {
    if (iv.end === undefined) {
      if (compareBytes(iv.begin, key) === 0) return true;
    } else if (compareBytes(iv.begin, key) <= 0 && compareBytes(key, iv.end) < 0) {
      return true;
    }
  }
  return false;
}

const keyOf = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');

/**
 * Rejects a txn branch that writes one key twice: two puts of a key, or a put of a
 * key that a delete of the same branch (or of a nested txn) covers. A put in the
 * success branch of a nested txn may repeat one in its failure branch, since only
 * one of them runs. Returns the keys put and the intervals deleted by the branch.
 */
function checkIntervals(reqs: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    const d = req.requestDeleteRange;
    if (d === undefined) continue;
    const key = d.key;
    dels.push({ begin: key, end: isEmpty(d.rangeEnd) ? undefined : d.rangeEnd });
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    const t = req.requestTxn;
    if (t === undefined) continue;
    const then = checkIntervals(t.success);
    const otherwise = checkIntervals(t.failure);
    for (const k of then.puts) {
      if (puts.has(k) || intersectsPoint(dels, Buffer.from(k, 'latin1'))) throw etcdError('DUPLICATE_KEY');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw etcdError('DUPLICATE_KEY');
      if (intersectsPoint(dels, Buffer.from(k, 'latin1'))) throw etcdError('DUPLICATE_KEY');
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const req of reqs) {
    const p = req.requestPut;
    if (p === undefined) continue;
    const key = p.key;
    const k = keyOf(key);
    if (puts.has(k) || intersectsPoint(dels, key)) throw etcdError('DUPLICATE_KEY');
    puts.add(k);
  }
  return { puts, dels };
}
