import { etcdserverpb, FROM_KEY_END, prefixEnd, type mvccpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import { toBuffer } from './codec.js';
import type { KVTransport } from './kv-transport.js';

type KeyAndEnd = { key?: Uint8Array | string | undefined; rangeEnd?: Uint8Array | string | undefined };

/**
 * Maps [key, rangeEnd) into the namespace: both get the prefix; the from-key
 * end "\0" becomes the prefix's end, so no request ever reaches outside the
 * namespace (etcd's namespace package does the same).
 */
export function prefixRange<T extends KeyAndEnd>(prefix: Buffer, req: T): T {
  const key = toBuffer(req.key ?? '');
  const end = req.rangeEnd === undefined ? undefined : toBuffer(req.rangeEnd);
  const fromKey = end !== undefined && end.length === 1 && end[0] === 0;
  // "\0" as key with "\0" as end is "every key": every key of the namespace.
  const allKeys = fromKey && key.length === 1 && key[0] === 0;
  const rangeEnd =
    end === undefined || end.length === 0 ? undefined : fromKey ? prefixEnd(prefix) : Buffer.concat([prefix, end]);
  return { ...req, key: allKeys ? prefix : Buffer.concat([prefix, key]), rangeEnd };
}

/** The key without the namespace prefix. Invariant: every key the server returns has the prefix. */
export function stripKv(prefix: Buffer, kv: mvccpb.KeyValue): mvccpb.KeyValue {
  return { ...kv, key: kv.key.subarray(prefix.length) };
}

const stripAll = (prefix: Buffer, kvs: mvccpb.KeyValue[]): mvccpb.KeyValue[] => kvs.map((kv) => stripKv(prefix, kv));
const stripOpt = (prefix: Buffer, kv: mvccpb.KeyValue | undefined): mvccpb.KeyValue | undefined =>
  kv === undefined ? undefined : stripKv(prefix, kv);

function prefixOps(prefix: Buffer, ops: readonly (etcdserverpb.RequestOpInit | unknown)[] | undefined): etcdserverpb.RequestOpInit[] {
  return (ops ?? []).map((o) => {
    const op = o as etcdserverpb.RequestOpInit;
    if (op.requestRange) return { requestRange: prefixRange(prefix, op.requestRange as etcdserverpb.RangeRequestInit) };
    if (op.requestPut) {
      const put = op.requestPut as etcdserverpb.PutRequestInit;
      return { requestPut: { ...put, key: Buffer.concat([prefix, toBuffer(put.key ?? '')]) } };
    }
    if (op.requestDeleteRange) {
      return { requestDeleteRange: prefixRange(prefix, op.requestDeleteRange as etcdserverpb.DeleteRangeRequestInit) };
    }
    if (op.requestTxn) return { requestTxn: prefixTxn(prefix, op.requestTxn as etcdserverpb.TxnRequestInit) };
    throw new TypeError('namespace: pre-encoded txn operations cannot be prefixed');
  });
}

function prefixTxn(prefix: Buffer, req: etcdserverpb.TxnRequestInit): etcdserverpb.TxnRequestInit {
  return {
    compare: (req.compare ?? []).map((c) => prefixRange(prefix, c as etcdserverpb.CompareInit)),
    success: prefixOps(prefix, req.success),
    failure: prefixOps(prefix, req.failure),
  };
}

function stripTxn(prefix: Buffer, res: etcdserverpb.TxnResponse): etcdserverpb.TxnResponse {
  return {
    ...res,
    responses: res.responses.map((r): etcdserverpb.ResponseOp => {
      if (r.responseRange) return { responseRange: { ...r.responseRange, kvs: stripAll(prefix, r.responseRange.kvs) } };
      if (r.responsePut) return { responsePut: { ...r.responsePut, prevKv: stripOpt(prefix, r.responsePut.prevKv) } };
      if (r.responseDeleteRange) {
        return { responseDeleteRange: { ...r.responseDeleteRange, prevKvs: stripAll(prefix, r.responseDeleteRange.prevKvs) } };
      }
      if (r.responseTxn) return { responseTxn: stripTxn(prefix, r.responseTxn) };
      return r;
    }),
  };
}

/** A KVTransport that keeps every key under `prefix`, invisible to its users. */
export class NamespaceTransport implements KVTransport {
  readonly prefix: Buffer;

  constructor(
    private readonly inner: KVTransport,
    prefix: Uint8Array | string,
  ) {
    this.prefix = toBuffer(prefix);
    if (this.prefix.length === 0) throw new TypeError('namespace: the prefix must not be empty');
    if (this.prefix.equals(FROM_KEY_END)) throw new TypeError('namespace: the prefix must not be "\\0"');
  }

  async range(req: etcdserverpb.RangeRequestInit, opts?: CallOptions): Promise<etcdserverpb.RangeResponse> {
    const res = await this.inner.range(prefixRange(this.prefix, req), opts);
    return { ...res, kvs: stripAll(this.prefix, res.kvs) };
  }
  async put(req: etcdserverpb.PutRequestInit, opts?: CallOptions): Promise<etcdserverpb.PutResponse> {
    const res = await this.inner.put({ ...req, key: Buffer.concat([this.prefix, toBuffer(req.key ?? '')]) }, opts);
    return { ...res, prevKv: stripOpt(this.prefix, res.prevKv) };
  }
  async deleteRange(
    req: etcdserverpb.DeleteRangeRequestInit,
    opts?: CallOptions,
  ): Promise<etcdserverpb.DeleteRangeResponse> {
    const res = await this.inner.deleteRange(prefixRange(this.prefix, req), opts);
    return { ...res, prevKvs: stripAll(this.prefix, res.prevKvs) };
  }
  async txn(req: etcdserverpb.TxnRequestInit, opts?: CallOptions): Promise<etcdserverpb.TxnResponse> {
    return stripTxn(this.prefix, await this.inner.txn(prefixTxn(this.prefix, req), opts));
  }
  compact(req: etcdserverpb.CompactionRequestInit, opts?: CallOptions): Promise<etcdserverpb.CompactionResponse> {
    return this.inner.compact(req, opts);
  }
}
