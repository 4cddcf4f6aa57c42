import type { etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import type { Bytes } from './codec.js';
import type { KV } from './kv.js';
import type { DeleteOptions, PutOptions, RangeOptions } from './ops.js';
import type { RangeQuery } from './range-query.js';
import type { TxnBuilder } from './txn.js';
import type { Watch, Watcher, WatchOptions } from './watch/index.js';

/** The everyday calls of a client or a namespace, on its KV and Watch. */
export abstract class KVView {
  abstract readonly kv: KV;
  /** The Watch that watch() uses (prefixed in a namespace). */
  protected abstract readonly watchView: Watch;

  /** See KV.get. */
  get(key: Bytes, opts?: RangeOptions & CallOptions): RangeQuery {
    return this.kv.get(key, opts);
  }
  /** See KV.getAll. */
  getAll(prefix: Bytes = '', opts?: RangeOptions & CallOptions): RangeQuery {
    return this.kv.getAll(prefix, opts);
  }
  put(key: Bytes, value: Bytes, opts?: PutOptions & CallOptions): Promise<etcdserverpb.PutResponse> {
    return this.kv.put(key, value, opts);
  }
  delete(key: Bytes, opts?: DeleteOptions & CallOptions): Promise<etcdserverpb.DeleteRangeResponse> {
    return this.kv.delete(key, opts);
  }
  txn(): TxnBuilder {
    return this.kv.txn();
  }
  /** Watches key (or a range, with options). */
  watch(key: Bytes, opts?: WatchOptions): Watcher {
    return this.watchView.watch(key, opts);
  }
}
