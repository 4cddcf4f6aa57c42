/**
 * Applies decoded requests to the key-value store and the lessor with etcd 3.4's
 * semantics (etcdserver/apply.go). Every check that can fail runs before the
 * first write of a request, so a failed request changes nothing; an error after
 * a write is a bug and propagates (fail-stop).
 */
import { etcdError, type etcdserverpb } from '@etcd-ts/api';
import type { WriteTx } from '../backend/backend.js';
import type { KVStore, TxnRead, TxnWrite } from '../mvcc/kv-store.js';
import { ErrCompacted, ErrFutureRev } from '../mvcc/mvcc-error.js';
import type { Lessor } from '../lease/lessor.js';
import { applyRange, type RangeOutcome } from './range.js';
import { compareToPath, forEachOnPath, isTxnReadonly, type TxnPath } from './txn-path.js';

type PutResponse = etcdserverpb.PutResponseInit;
type DeleteRangeResponse = etcdserverpb.DeleteRangeResponseInit;
type TxnResponse = etcdserverpb.TxnResponseInit;
type ResponseOp = etcdserverpb.ResponseOpInit;
type CompactionResponse = etcdserverpb.CompactionResponseInit;

export type RangeResponseBody = Omit<RangeOutcome, 'revision'> & { header: { revision: number } };

function rangeResponse(o: RangeOutcome): RangeResponseBody {
  return { header: { revision: o.revision }, kvs: o.kvs, more: o.more, count: o.count };
}

export class ApplierV3 {
  constructor(
    private readonly kv: KVStore,
    private readonly lessor: Lessor,
  ) {}

  range(view: TxnRead | TxnWrite, r: etcdserverpb.RangeRequest): RangeResponseBody {
    return rangeResponse(applyRange(view, r));
  }

  put(tx: WriteTx, p: etcdserverpb.PutRequest): PutResponse {
    if (p.lease !== 0n && this.lessor.lookup(p.lease) === undefined) throw etcdError('LEASE_NOT_FOUND');
    const w = this.kv.write(tx);
    try {
      return this.putIn(w, p);
    } finally {
      w.end();
    }
  }

  deleteRange(tx: WriteTx, dr: etcdserverpb.DeleteRangeRequest): DeleteRangeResponse {
    const w = this.kv.write(tx);
    try {
      return this.deleteRangeIn(w, dr);
    } finally {
      w.end();
    }
  }

  /** A txn that writes: runs inside the apply of its log entry. */
  txn(tx: WriteTx, rt: etcdserverpb.TxnRequest): TxnResponse {
    const w = this.kv.write(tx);
    try {
      const path = compareToPath(w, rt);
      this.checkPath(w, rt, path, isTxnReadonly(rt) ? 'ranges' : 'all');
      const resp = this.applyTxn(w, rt, path);
      const rev = w.changes().length > 0 ? w.rev + 1 : w.rev;
      return { ...resp, header: { revision: rev } };
    } finally {
      w.end();
    }
  }

  /** A read-only txn, served from a read view without the log. */
  txnRead(view: TxnRead, rt: etcdserverpb.TxnRequest): TxnResponse {
    const path = compareToPath(view, rt);
    this.checkPath(view, rt, path, 'ranges');
    const resp = this.applyTxn(view, rt, path);
    return { ...resp, header: { revision: view.rev } };
  }

  leaseGrant(tx: WriteTx, r: etcdserverpb.LeaseGrantRequest): etcdserverpb.LeaseGrantResponseInit {
    const lease = this.lessor.grant(tx, r.ID, r.TTL);
    return { header: { revision: this.kv.currentRev }, ID: lease.id, TTL: lease.ttl };
  }

  /** Deletes every key attached to the lease in one revision, then forgets the lease. */
  leaseRevoke(tx: WriteTx, r: etcdserverpb.LeaseRevokeRequest): etcdserverpb.LeaseRevokeResponseInit {
    const lease = this.lessor.lookup(r.ID);
    if (lease === undefined) throw etcdError('LEASE_NOT_FOUND');
    const keys = [...lease.keys].sort();
    if (keys.length > 0) {
      const w = this.kv.write(tx);
      try {
        for (const key of keys) w.deleteRange(Buffer.from(key, 'latin1'), undefined);
      } finally {
        w.end();
      }
    }
    this.lessor.remove(tx, r.ID);
    return { header: { revision: this.kv.currentRev } };
  }

  compaction(tx: WriteTx, r: etcdserverpb.CompactionRequest): CompactionResponse {
    this.kv.compact(tx, r.revision);
    return { header: { revision: this.kv.currentRev } };
  }

  private putIn(w: TxnWrite, p: etcdserverpb.PutRequest): PutResponse {
    let value = p.value;
    let lease = p.lease;
    const prev = p.ignoreValue || p.ignoreLease || p.prevKv ? w.range(p.key, undefined).kvs[0] : undefined;
    if ((p.ignoreValue || p.ignoreLease) && prev === undefined) throw etcdError('KEY_NOT_FOUND');
    if (p.ignoreValue && prev !== undefined) value = prev.value;
    if (p.ignoreLease && prev !== undefined) lease = prev.lease;
    const revision = w.put(p.key, value, lease);
    return { header: { revision }, prevKv: p.prevKv ? prev : undefined };
  }

  private deleteRangeIn(w: TxnWrite, dr: etcdserverpb.DeleteRangeRequest): DeleteRangeResponse {
    const end = dr.rangeEnd.length > 0 ? dr.rangeEnd : undefined;
    const prevKvs = dr.prevKv ? w.range(dr.key, end).kvs : [];
    const { deleted, rev } = w.deleteRange(dr.key, end);
    return { header: { revision: rev }, deleted, prevKvs };
  }

  /**
   * etcd's checkRequests: puts on the path must find their key when they ignore
   * value or lease and must name a live lease; ranges must not read a compacted
   * or future revision. Read-only txns check only their ranges.
   */
  private checkPath(view: TxnRead | TxnWrite, rt: etcdserverpb.TxnRequest, path: TxnPath, what: 'all' | 'ranges'): void {
    if (what === 'all') {
      forEachOnPath(rt, path, (op) => {
        const p = op.requestPut;
        if (p === undefined) return;
        if ((p.ignoreValue || p.ignoreLease) && view.range(p.key, undefined).kvs.length === 0) {
          throw etcdError('KEY_NOT_FOUND');
        }
        if (p.lease !== 0n && this.lessor.lookup(p.lease) === undefined) throw etcdError('LEASE_NOT_FOUND');
      });
    }
    forEachOnPath(rt, path, (op) => {
      const r = op.requestRange;
      if (r === undefined || r.revision === 0) return;
      if (r.revision > view.rev) throw new ErrFutureRev(view.rev);
      if (r.revision < this.kv.compactRev) throw new ErrCompacted(this.kv.compactRev);
    });
  }

  private applyTxn(view: TxnRead | TxnWrite, rt: etcdserverpb.TxnRequest, path: TxnPath): TxnResponse {
    const responses: ResponseOp[] = [];
    let nested = 0;
    for (const op of path.succeeded ? rt.success : rt.failure) {
      if (op.requestRange !== undefined) {
        responses.push({ responseRange: this.range(view, op.requestRange) });
      } else if (op.requestPut !== undefined) {
        responses.push({ responsePut: this.putIn(view as TxnWrite, op.requestPut) });
      } else if (op.requestDeleteRange !== undefined) {
        responses.push({ responseDeleteRange: this.deleteRangeIn(view as TxnWrite, op.requestDeleteRange) });
      } else if (op.requestTxn !== undefined) {
        const child = path.nested[nested++];
        if (child === undefined) throw new Error('txn path does not match the request');
        // A nested txn's response carries an empty header, as etcd's does.
        responses.push({ responseTxn: { ...this.applyTxn(view, op.requestTxn, child), header: {} } });
      } else {
        responses.push({});
      }
    }
    return { succeeded: path.succeeded, responses };
  }
}
