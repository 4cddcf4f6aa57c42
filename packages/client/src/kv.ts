import type { etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import type { Bytes, Codec } from './codec.js';
import type { KVTransport } from './kv-transport.js';
import { deleteRequest, putRequest, type DeleteOptions, type PutOptions, type RangeOptions } from './ops.js';
import { RangeQuery } from './range-query.js';
import { TxnBuilder } from './txn.js';

/** etcd's KV service: get, put, delete, txn, compact. */
export class KV {
  constructor(readonly transport: KVTransport) {}

  /** A Range on key (add `.prefix()`, `.range(end)`, ... or pass options). */
  get(key: Bytes, opts?: RangeOptions & CallOptions): RangeQuery {
    return new RangeQuery(this.transport, key, opts);
  }

  /** Every key with the prefix (every key when empty). */
  getAll(prefix: Bytes = '', opts?: RangeOptions & CallOptions): RangeQuery {
    return new RangeQuery(this.transport, prefix, { ...opts, prefix: true });
  }

  put(key: Bytes, value: Bytes, opts?: PutOptions & CallOptions): Promise<etcdserverpb.PutResponse> {
    return this.transport.put(putRequest(key, value, opts), opts);
  }

  delete(key: Bytes, opts?: DeleteOptions & CallOptions): Promise<etcdserverpb.DeleteRangeResponse> {
    return this.transport.deleteRange(deleteRequest(key, opts), opts);
  }

  txn(): TxnBuilder {
    return new TxnBuilder(this.transport);
  }

  /** Compacts history up to revision; `physical` waits until the compaction is done on the member. */
  compact(revision: number, opts?: { physical?: boolean } & CallOptions): Promise<etcdserverpb.CompactionResponse> {
    return this.transport.compact({ revision, physical: opts?.physical }, opts);
  }

  /** A view whose values are encoded and decoded with codec. */
  typed<T>(codec: Codec<T>): TypedKV<T> {
    return new TypedKV(this, codec);
  }
}

/** KV with typed values (e.g. `kv.typed(jsonCodec<Config>())`). */
export class TypedKV<T> {
  constructor(
    readonly kv: KV,
    readonly codec: Codec<T>,
  ) {}

  get(key: Bytes, opts?: RangeOptions & CallOptions): Promise<T | undefined> {
    return this.kv.get(key, opts).decode(this.codec);
  }

  getAll(prefix: Bytes, opts?: RangeOptions & CallOptions): Promise<Map<string, T>> {
    return this.kv.getAll(prefix, opts).entries(this.codec);
  }

  put(key: Bytes, value: T, opts?: PutOptions & CallOptions): Promise<etcdserverpb.PutResponse> {
    return this.kv.put(key, Buffer.from(this.codec.encode(value)), opts);
  }
}
