import type { etcdserverpb, mvccpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import type { Cmp } from './compare.js';
import type { KVTransport } from './kv-transport.js';
import type { Op } from './ops.js';

/** Outcome of a committed txn. */
export interface TxnResult {
  /** Whether every compare held (the `then` branch ran). */
  readonly succeeded: boolean;
  /** Store revision after the txn. */
  readonly revision: number;
  /** One response per operation of the branch that ran, in order. */
  readonly responses: etcdserverpb.ResponseOp[];
}

/**
 * A txn under construction: `kv.txn().if(...).then(...).else(...).commit()`.
 * A txn with a write is sent at most once unless the failure proves it was
 * never applied; a read-only txn is retried like a read.
 */
export class TxnBuilder {
  private readonly compares: Cmp[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];

  constructor(private readonly transport: KVTransport) {}

  /** Conditions; all must hold for `then` to run. */
  if(...compares: Cmp[]): this {
    this.compares.push(...compares);
    return this;
  }

  then(...ops: Op[]): this {
    this.success.push(...ops);
    return this;
  }

  else(...ops: Op[]): this {
    this.failure.push(...ops);
    return this;
  }

  /** The request as it goes on the wire. */
  request(): etcdserverpb.TxnRequestInit {
    return { compare: this.compares, success: this.success, failure: this.failure };
  }

  async commit(opts?: CallOptions): Promise<TxnResult> {
    const res = await this.transport.txn(this.request(), opts);
    return { succeeded: res.succeeded, revision: res.header?.revision ?? 0, responses: res.responses };
  }
}

/** The key-values of the i-th response of a txn result, when it is a Range. */
export function rangeKvs(result: TxnResult, i: number): mvccpb.KeyValue[] {
  return result.responses[i]?.responseRange?.kvs ?? [];
}
