import type { Bytes } from '@etcd-ts/client';
import { ClaimingQueue, uniqueSuffix, type KeyValue } from './queue-core.js';

export { type DequeueOptions, type QueueItem, type QueueOptions } from './queue-core.js';

/**
 * A FIFO work queue with at-least-once delivery.
 *
 * Layout: each item is a key `<prefix>/<unique time-ordered suffix>`,
 * created with a txn that requires the key not to exist; the queue's order
 * is the items' create revision (not the suffix). A consumer claims the head
 * by creating `<prefix>-claims/<suffix>` under its session's lease, in a txn
 * that checks the item still exists and nobody claimed it; it acknowledges
 * by deleting item and claim in one txn. A consumer that dies before
 * acknowledging loses its lease, the claim vanishes with it and the item is
 * delivered again. A blocking dequeue waits on a watch from the revision
 * after its last read.
 *
 * ```ts
 * const q = new Queue(client, 'jobs');
 * await q.enqueue(JSON.stringify({ id: 1 }));
 * const item = await q.dequeue({ signal });
 * await handle(item.json());
 * await item.ack();
 * ```
 */
export class Queue extends ClaimingQueue {
  /** Appends value at the tail. Resolves with the item's key and create revision. */
  async enqueue(value: Bytes, opts: { signal?: AbortSignal } = {}): Promise<{ key: string; revision: number }> {
    for (;;) {
      const key = `${this.itemsPrefix}${uniqueSuffix()}`;
      const revision = await this.create(key, value, opts.signal);
      if (revision !== undefined) return { key, revision };
    }
  }

  protected candidates(revision: number, claimed: ReadonlySet<string>, signal: AbortSignal | undefined): AsyncGenerator<KeyValue> {
    return this.inCreateOrder(this.itemsPrefix, revision, claimed, signal);
  }
}
