import { compare, op, rangeKvs, type Client } from '@etcd-ts/client';
import { anySignal, DELETE, isCompacted, PUT, waitForEvent } from './barrier-watch.js';
import type { Session } from './session.js';

type KeyValue = Awaited<ReturnType<Client['get']>>['kvs'][number];

/** More participants entered than the barrier's count. */
export class TooManyParticipantsError extends Error {
  override readonly name = 'TooManyParticipantsError';
  readonly code = 'TOO_MANY_PARTICIPANTS';
  constructor(
    readonly key: string,
    readonly count: number,
    readonly entered: number,
  ) {
    super(`double barrier ${key}: ${entered} participants entered, at most ${count} expected`);
  }
}

/**
 * A double barrier (etcd contrib/recipes double_barrier): `enter()` blocks
 * until `count` participants have entered, `leave()` blocks until every
 * participant has left. Computations start together and finish together.
 *
 * Layout under `key`: one key per participant, `<key>/waiters/<lease ID in
 * hex>`, attached to the participant's session lease (a participant that
 * dies is removed when its lease expires, so the others are not stuck on it
 * when leaving); and `<key>/ready`, put by the participant whose entry
 * completes the count, deleted by the last one to leave.
 *
 * One participant per session: two DoubleBarrier objects on the same session
 * and key are the same participant.
 */
export class DoubleBarrier {
  private readonly client: Client;
  readonly myKey: string;
  private readonly waiters: string;
  private readonly ready: string;

  constructor(
    private readonly session: Session,
    readonly key: string,
    readonly count: number,
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`double barrier count must be a positive integer, got ${count}`);
    this.client = session.client;
    this.waiters = `${key}/waiters/`;
    this.ready = `${key}/ready`;
    this.myKey = `${this.waiters}${session.leaseId.toString(16)}`;
  }

  /**
   * Joins the barrier and resolves once `count` participants have joined.
   * Throws TooManyParticipantsError (after withdrawing) if more did. Rejects
   * with the signal's reason when `signal` fires, or the session's loss
   * reason when the session is lost, after withdrawing from the barrier.
   */
  async enter(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = anySignal(opts.signal, this.session.signal);
    signal?.throwIfAborted();
    const lease = this.session.leaseId;
    const created = await this.client
      .txn()
      .if(compare.createRevision(this.myKey, '=', 0))
      .then(op.put(this.myKey, '', { lease }))
      .else(op.get(this.myKey))
      .commit({ signal });
    // Entered before (same session): carry on from that entry.
    const myRevision = created.succeeded ? created.revision : (rangeKvs(created, 0)[0]?.createRevision ?? created.revision);
    const all = await this.client.get(this.waiters, { prefix: true, countOnly: true, signal });
    if (all.count > this.count) {
      await this.client.delete(this.myKey);
      throw new TooManyParticipantsError(this.key, this.count, all.count);
    }
    if (all.count === this.count) {
      await this.client.put(this.ready, '', { signal });
      return;
    }
    // The participant completing the count puts `ready` after its own entry,
    // which is after ours: watching from our entry's revision cannot miss it.
    let from = myRevision;
    try {
      for (;;) {
        try {
          await waitForEvent(this.client, this.ready, from, (ev) => ev.type === PUT, signal);
          return;
        } catch (err) {
          if (!isCompacted(err)) throw err;
          const r = await this.client.get(this.ready, { countOnly: true, signal });
          if (r.count > 0) return;
          from = r.revision + 1;
        }
      }
    } catch (err) {
      // Gave up waiting: withdraw, so that we are not counted (best effort: the lease removes it otherwise).
      await this.client
        .txn()
        .if(compare.lease(this.myKey, '=', lease))
        .then(op.delete(this.myKey))
        .commit()
        .catch(() => undefined);
      throw err;
    }
  }

  /**
   * Leaves the barrier and resolves once every participant has left (etcd's
   * algorithm: the participant with the lowest entry waits for the highest
   * to go, every other one removes itself and waits for the lowest to go;
   * the last one removes `ready`).
   */
  async leave(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = opts.signal;
    signal?.throwIfAborted();
    for (;;) {
      const r = await this.client.get(this.waiters, { prefix: true, signal });
      const kvs = r.kvs;
      if (kvs.length === 0) {
        // Everyone is gone, but the last to go may have died instead of
        // leaving: lower the barrier unless a new round has begun.
        await this.client
          .txn()
          .if(compare.createRevision(this.waiters, '=', 0, { prefix: true }))
          .then(op.delete(this.ready))
          .commit({ signal });
        return;
      }
      const mine = kvs.find((kv) => kv.key.toString('utf8') === this.myKey);
      let lowest = kvs[0] as KeyValue;
      let highest = kvs[0] as KeyValue;
      for (const kv of kvs) {
        if (kv.modRevision < lowest.modRevision) lowest = kv;
        if (kv.modRevision > highest.modRevision) highest = kv;
      }
      if (mine && kvs.length === 1) {
        // The last one out: lower the barrier for the next round, then go.
        await this.client.txn().then(op.delete(this.ready), op.delete(this.myKey)).commit({ signal });
        return;
      }
      let awaited: KeyValue;
      if (mine && mine === lowest) {
        awaited = highest;
      } else {
        if (mine) await this.client.delete(this.myKey, { signal });
        awaited = lowest;
      }
      try {
        await waitForEvent(this.client, awaited.key.toString('utf8'), r.revision + 1, (ev) => ev.type === DELETE, signal);
      } catch (err) {
        if (!isCompacted(err)) throw err;
        // Read again.
      }
    }
  }
}
