import type { etcdserverpb, mvccpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import { jsonCodec, stringCodec, type Bytes, type Codec } from './codec.js';
import type { KVTransport } from './kv-transport.js';
import { rangeRequest, type RangeOptions, type SortOrder, type SortTarget } from './ops.js';

/** A Range's answer. */
export interface RangeResult {
  readonly kvs: mvccpb.KeyValue[];
  /** Whether the limit cut the result short. */
  readonly more: boolean;
  /** Number of keys in the range, regardless of limit. */
  readonly count: number;
  /** Store revision the result reflects. */
  readonly revision: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A fluent Range: `await kv.get('k').string()`, `await kv.get('dir/').prefix().keys()`.
 * Awaiting it directly gives the RangeResult. Nothing is sent until a
 * terminal method (or await) runs; each runs one Range.
 */
export class RangeQuery implements PromiseLike<RangeResult> {
  private readonly o: Mutable<RangeOptions> = {};
  private callOpts: CallOptions | undefined;

  constructor(
    private readonly transport: KVTransport,
    private readonly key: Bytes,
    options?: RangeOptions & CallOptions,
  ) {
    if (options) {
      const { signal, timeoutMs, deadline, ...range } = options;
      Object.assign(this.o, range);
      this.callOpts = { signal, timeoutMs, deadline };
    }
  }

  prefix(): this {
    this.o.prefix = true;
    return this;
  }
  /** [key, end). */
  range(end: Bytes): this {
    this.o.rangeEnd = end;
    return this;
  }
  fromKey(): this {
    this.o.fromKey = true;
    return this;
  }
  limit(n: number): this {
    this.o.limit = n;
    return this;
  }
  revision(rev: number): this {
    this.o.revision = rev;
    return this;
  }
  serializable(on = true): this {
    this.o.serializable = on;
    return this;
  }
  sort(target: SortTarget, order: SortOrder = 'ascend'): this {
    this.o.sort = { target, order };
    return this;
  }
  minModRevision(rev: number): this {
    this.o.minModRevision = rev;
    return this;
  }
  maxModRevision(rev: number): this {
    this.o.maxModRevision = rev;
    return this;
  }
  minCreateRevision(rev: number): this {
    this.o.minCreateRevision = rev;
    return this;
  }
  maxCreateRevision(rev: number): this {
    this.o.maxCreateRevision = rev;
    return this;
  }
  /** Deadline and AbortSignal of the call. */
  options(opts: CallOptions): this {
    this.callOpts = opts;
    return this;
  }

  /** The request as it goes on the wire. */
  request(): etcdserverpb.RangeRequestInit {
    return rangeRequest(this.key, this.o);
  }

  async exec(): Promise<RangeResult> {
    const res = await this.transport.range(this.request(), this.callOpts);
    return { kvs: res.kvs, more: res.more, count: res.count, revision: res.header?.revision ?? 0 };
  }

  then<A = RangeResult, B = never>(
    onfulfilled?: ((value: RangeResult) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.exec().then(onfulfilled, onrejected);
  }

  /** Every key-value in the range. */
  async all(): Promise<mvccpb.KeyValue[]> {
    return (await this.exec()).kvs;
  }
  /** The first key-value, or undefined. */
  async first(): Promise<mvccpb.KeyValue | undefined> {
    return (await this.exec()).kvs[0];
  }
  /** The first value decoded with codec, or undefined. */
  async decode<T>(codec: Codec<T>): Promise<T | undefined> {
    const kv = await this.first();
    return kv === undefined ? undefined : codec.decode(kv.value);
  }
  buffer(): Promise<Buffer | undefined> {
    return this.first().then((kv) => kv?.value);
  }
  string(): Promise<string | undefined> {
    return this.decode(stringCodec);
  }
  json<T = unknown>(): Promise<T | undefined> {
    return this.decode(jsonCodec<T>());
  }
  /** Every key, as strings. */
  async keys(): Promise<string[]> {
    this.o.keysOnly = true;
    return (await this.exec()).kvs.map((kv) => kv.key.toString('utf8'));
  }
  /** Key → value decoded with codec (default: strings). */
  async entries<T = string>(codec?: Codec<T>): Promise<Map<string, T>> {
    const c = (codec ?? stringCodec) as Codec<T>;
    return new Map((await this.exec()).kvs.map((kv) => [kv.key.toString('utf8'), c.decode(kv.value)]));
  }
  /** Number of keys in the range. */
  async count(): Promise<number> {
    this.o.countOnly = true;
    return (await this.exec()).count;
  }
  async exists(): Promise<boolean> {
    return (await this.count()) > 0;
  }
}
