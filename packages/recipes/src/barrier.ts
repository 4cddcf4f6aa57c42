import { compare, op, type Client } from '@etcd-ts/client';

/** What a Barrier needs from a client (a Client or a Namespace). */
export type BarrierClient = Pick<Client, 'get' | 'delete' | 'txn' | 'watch'>;

const DELETE = 1; // mvccpb.Event.EventType.DELETE

/**
 * A barrier (etcd contrib/recipes barrier): while the key exists, `wait()`
 * blocks; deleting it releases every waiter. `hold()` creates the key (not
 * attached to a lease: the barrier stays up until someone releases it).
 *
 * ```ts
 * const b = new Barrier(client, 'deploy/gate');
 * await b.hold();            // coordinator
 * await b.wait({ signal });  // workers, until...
 * await b.release();         // ...the coordinator lets them through
 * ```
 */
export class Barrier {
  constructor(
    private readonly client: BarrierClient,
    readonly key: string,
  ) {}

  /**
   * Raises the barrier: creates the key if it does not exist. Resolves with
   * true if this call created it, false if it was already held.
   */
  async hold(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const res = await this.client
      .txn()
      .if(compare.createRevision(this.key, '=', 0))
      .then(op.put(this.key, ''))
      .commit({ signal: opts.signal });
    return res.succeeded;
  }

  /** Lowers the barrier (deletes the key): every waiter returns. Resolves with whether the key existed. */
  async release(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    const res = await this.client.delete(this.key, { signal: opts.signal });
    return res.deleted > 0;
  }

  /** Whether the barrier is up. */
  async isHeld(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    return (await this.client.get(this.key, { countOnly: true, signal: opts.signal })).count > 0;
  }

  /**
   * Resolves once the key does not exist (at once if it does not exist now).
   * Rejects with the signal's reason when `signal` fires.
   */
  async wait(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = opts.signal;
    try {
      await this.waitGone(signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  }

  private async waitGone(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const r = await this.client.get(this.key, { countOnly: true, signal });
      if (r.count === 0) return;
      // Watch from the revision after the read: a delete after it cannot be missed.
      const watcher = this.client.watch(this.key, { startRevision: r.revision + 1, filters: ['noput'], signal });
      try {
        for await (const res of watcher) {
          if (res.events.some((e) => e.type === DELETE)) return;
        }
      } catch (err) {
        // Compacted past our revision: read again.
        if ((err as { code?: unknown }).code !== 'COMPACTED') throw err;
      } finally {
        await watcher.close();
      }
      signal?.throwIfAborted();
    }
  }
}
