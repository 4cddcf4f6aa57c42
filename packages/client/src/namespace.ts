import type { etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import { toBuffer, type Bytes } from './codec.js';
import { KV } from './kv.js';
import type { KVTransport } from './kv-transport.js';
import { NamespaceTransport } from './namespace-transport.js';
import type { DeleteOptions, PutOptions, RangeOptions } from './ops.js';
import type { RangeQuery } from './range-query.js';
import type { TxnBuilder } from './txn.js';
import type { Watch, Watcher, WatchOptions } from './watch/index.js';

/**
 * The client seen from inside a key prefix: keys, ranges, txns (compares
 * included) and watches are prefixed on the way out and stripped on the way
 * back. Leases are not namespaced (they are not keys).
 */
export class Namespace {
  readonly kv: KV;
  readonly prefix: Buffer;
  private readonly watchView: Watch;

  constructor(outer: KVTransport, watch: Watch, prefix: Buffer) {
    const transport = new NamespaceTransport(outer, prefix);
    this.prefix = transport.prefix;
    this.kv = new KV(transport);
    this.watchView = watch.withPrefix(this.prefix);
  }

  get(key: Bytes, opts?: RangeOptions & CallOptions): RangeQuery {
    return this.kv.get(key, opts);
  }
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
  watch(key: Bytes, opts?: WatchOptions): Watcher {
    return this.watchView.watch(key, opts);
  }
  /** A namespace nested in this one. */
  namespace(prefix: Bytes): Namespace {
    return new Namespace(this.kv.transport, this.watchView, toBuffer(prefix));
  }
}
