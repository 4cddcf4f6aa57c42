import type { Bytes } from '@etcd-ts/client';
import { ClaimingQueue, prefixEnd, uniqueSuffix, type KeyValue } from './queue-core.js';

export { type DequeueOptions, type QueueItem, type QueueOptions } from './queue-core.js';

/** Largest priority: priorities are written with five digits. */
export const MAX_PRIORITY = 99_999;

/** A priority as it appears in keys: five digits, zero-padded (etcd contrib/recipes' `%05d`). */
export function priorityKey(priority: number): string {
  if (!Number.isSafeInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw new RangeError(`priority must be an integer in [0, ${MAX_PRIORITY}], got ${priority}`);
  }
  return String(priority).padStart(5, '0');
}

/**
 * A work queue ordered by priority, then FIFO, with the claim / ack
 * protocol of Queue (at-least-once delivery).
 *
 * Layout: `<prefix>/<priority, %05d>/<unique suffix>` (the priority segment
 * as etcd's contrib/recipes PriorityQueue writes it). The smallest number is
 * served first (0 is the most urgent), as in etcd's recipe where the lowest
 * key comes first; within a priority, items are served in create-revision
 * order. Claims are `<prefix>-claims/<priority>/<unique suffix>`.
 */
export class PriorityQueue extends ClaimingQueue {
  /** Adds value with priority (0..99999, smaller first). Resolves with the item's key and create revision. */
  async enqueue(value: Bytes, priority: number, opts: { signal?: AbortSignal } = {}): Promise<{ key: string; revision: number }> {
    const bucket = `${this.itemsPrefix}${priorityKey(priority)}/`;
    for (;;) {
      const key = `${bucket}${uniqueSuffix()}`;
      const revision = await this.create(key, value, opts.signal);
      if (revision !== undefined) return { key, revision };
    }
  }

  /** Buckets in key order (lowest priority number first), each in create-revision order. */
  protected async *candidates(revision: number, claimed: ReadonlySet<string>, signal: AbortSignal | undefined): AsyncGenerator<KeyValue> {
    const end = prefixEnd(this.itemsPrefix);
    let from: Bytes = this.itemsPrefix;
    for (;;) {
      // The first key at or after `from`: its priority segment names the next bucket.
      const r = await this.client.get(from, { rangeEnd: end, limit: 1, keysOnly: true, revision, signal });
      const first = r.kvs[0];
      if (first === undefined) return;
      const rest = first.key.toString('utf8').slice(this.itemsPrefix.length);
      const slash = rest.indexOf('/');
      const bucket = `${this.itemsPrefix}${slash < 0 ? rest : rest.slice(0, slash)}/`;
      if (slash < 0) {
        // Not an item of this layout: skip the key.
        from = Buffer.concat([first.key, Buffer.from([0])]);
        continue;
      }
      yield* this.inCreateOrder(bucket, revision, claimed, signal);
      from = prefixEnd(bucket);
    }
  }
}
