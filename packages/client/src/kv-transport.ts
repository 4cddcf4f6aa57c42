import type { etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import type { Rpc } from './rpc.js';


/**
 * The five KV RPCs on request and response messages. The KV API, the txn
 * builder and the namespace wrapper all sit on this one seam.
 */
export interface KVTransport {
  range(req: etcdserverpb.RangeRequestInit, opts?: CallOptions): Promise<etcdserverpb.RangeResponse>;
  put(req: etcdserverpb.PutRequestInit, opts?: CallOptions): Promise<etcdserverpb.PutResponse>;
  deleteRange(req: etcdserverpb.DeleteRangeRequestInit, opts?: CallOptions): Promise<etcdserverpb.DeleteRangeResponse>;
  txn(req: etcdserverpb.TxnRequestInit, opts?: CallOptions): Promise<etcdserverpb.TxnResponse>;
  compact(req: etcdserverpb.CompactionRequestInit, opts?: CallOptions): Promise<etcdserverpb.CompactionResponse>;
}

/** Whether every operation of a txn (nested ones included) is a Range: such a txn may be retried. */
export function isReadOnlyTxn(req: etcdserverpb.TxnRequestInit): boolean {
  const ops = [...(req.success ?? []), ...(req.failure ?? [])];
  return ops.every((op) => {
    if (!('requestRange' in op) && !('requestTxn' in op) && !('requestPut' in op) && !('requestDeleteRange' in op)) {
      return false; // pre-encoded: unknown content
    }
    const o = op as etcdserverpb.RequestOpInit;
    if (o.requestPut != null || o.requestDeleteRange != null) return false;
    if (o.requestTxn != null) return 'compare' in o.requestTxn && isReadOnlyTxn(o.requestTxn as etcdserverpb.TxnRequestInit);
    return o.requestRange != null;
  });
}

/** KVTransport over the client's Rpc: reads retried on transient errors, writes only when never applied. */
export class RpcKVTransport implements KVTransport {
  constructor(private readonly rpc: Rpc) {}

  range(req: etcdserverpb.RangeRequestInit, opts?: CallOptions): Promise<etcdserverpb.RangeResponse> {
    return this.rpc.unary<etcdserverpb.RangeResponse>('idempotent', opts, (ep, md, o, cb) => ep.kv.range(req, md, o, cb));
  }
  put(req: etcdserverpb.PutRequestInit, opts?: CallOptions): Promise<etcdserverpb.PutResponse> {
    return this.rpc.unary<etcdserverpb.PutResponse>('mutation', opts, (ep, md, o, cb) => ep.kv.put(req, md, o, cb));
  }
  deleteRange(req: etcdserverpb.DeleteRangeRequestInit, opts?: CallOptions): Promise<etcdserverpb.DeleteRangeResponse> {
    return this.rpc.unary<etcdserverpb.DeleteRangeResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.kv.deleteRange(req, md, o, cb),
    );
  }
  txn(req: etcdserverpb.TxnRequestInit, opts?: CallOptions): Promise<etcdserverpb.TxnResponse> {
    const kind = isReadOnlyTxn(req) ? 'idempotent' : 'mutation';
    return this.rpc.unary<etcdserverpb.TxnResponse>(kind, opts, (ep, md, o, cb) => ep.kv.txn(req, md, o, cb));
  }
  compact(req: etcdserverpb.CompactionRequestInit, opts?: CallOptions): Promise<etcdserverpb.CompactionResponse> {
    return this.rpc.unary<etcdserverpb.CompactionResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.kv.compact(req, md, o, cb),
    );
  }
}
