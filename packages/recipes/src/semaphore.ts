import { randomBytes } from 'node:crypto';
import type { CallOptions } from '@etcd-ts/client';
import { KeyLock } from './key-lock.js';
import { confirmOwnKey, Holding, leaseKey, putUniqueKey, waitInScope, withdrawKey, type WaitOptions } from './mutex-support.js';
import type { Session } from './session.js';
import { holdEventLoop } from './wait-delete.js';

export type AcquireOptions = WaitOptions;

/** mvccpb.Event_EventType.DELETE. */
const DELETE = 1;

/**
 * A counting semaphore: at most `permits` holders at once, served in
 * create-revision order (FIFO).
 *
 * Layout: each acquirer puts `<name>/<lease ID hex>-<random hex>` (empty
 * value, attached to the session's lease); the `permits` keys with the lowest
 * create revisions hold a permit. Every participant must use the same
 * `permits` for the same name.
 *
 * Waiting: a waiter counts the keys created before its own; while there are
 * `permits` or more, it follows the deletions under the prefix (one watch,
 * deletes only, with the previous key-value to learn each deleted key's
 * create revision) and counts down locally; no request is made per release.
 *
 * One Semaphore object holds at most one permit; use several objects (they
 * may share a session) to hold several.
 */
export class Semaphore extends KeyLock {
  constructor(
    session: Session,
    name: string,
    readonly permits: number,
  ) {
    if (!Number.isSafeInteger(permits) || permits < 1) throw new RangeError(`semaphore permits must be a positive integer, got ${permits}`);
    super(session, name);
  }

  get isAcquired(): boolean {
    return this.holding?.isValid === true;
  }

  /** The held key; throws NotLockOwnerError when no permit is held. */
  get key(): string {
    return this.held().key;
  }

  /** Waits for a permit; resolves with the fencing token. */
  async acquire(opts: AcquireOptions = {}): Promise<number> {
    return (await this.take(opts, true))!;
  }

  /** Takes a permit only if one is free now. */
  async tryAcquire(opts: CallOptions = {}): Promise<boolean> {
    return (await this.take({ signal: opts.signal }, false)) !== undefined;
  }

  /** Gives the permit back; a no-op when none is held. */
  release(opts: CallOptions = {}): Promise<void> {
    return this.releaseHeld(opts);
  }

  /** How many keys (holders and waiters) the semaphore has now. */
  async size(opts: CallOptions = {}): Promise<number> {
    const res = await this.session.client.get(this.prefix, { ...opts, prefix: true, countOnly: true });
    return res.count;
  }

  private async take(opts: WaitOptions, wait: boolean): Promise<number | undefined> {
    if (this.holding?.isValid) return this.holding.createRevision;
    const session = this.session;
    return this.exclusively(`semaphore ${this.name}: another acquire of this Semaphore is in progress`, () =>
      waitInScope(session, this.prefix, opts, async (scope, claim) => {
        const { key, createRevision: myRev } = await putUniqueKey(
          session,
          () => `${leaseKey(this.prefix, session.leaseId)}-${randomBytes(4).toString('hex')}`,
        );
        claim(key, myRev);
        let revision = await this.waitTurn(myRev, wait, scope.signal);
        if (revision === undefined) {
          await withdrawKey(session, key, myRev);
          return undefined;
        }
        if (wait) revision = Math.max(revision, await confirmOwnKey(session, key, myRev, 'semaphore', scope.signal));
        this.holding = new Holding(session, key, myRev, revision);
        return myRev;
      }),
    );
  }

  /**
   * Resolves with a revision at which fewer than `permits` keys precede
   * myRev, or undefined when that is not the case now and `wait` is false.
   */
  private async waitTurn(myRev: number, wait: boolean, signal: AbortSignal): Promise<number | undefined> {
    const client = this.session.client;
    for (;;) {
      // The keys themselves, not countOnly: etcd's count ignores the create-revision filter.
      const res = await client.get(this.prefix, { prefix: true, keysOnly: true, maxCreateRevision: myRev - 1, signal });
      let ahead = res.kvs.length;
      if (ahead < this.permits) return res.revision;
      if (!wait) return undefined;
      const watcher = client.watch(this.prefix, { prefix: true, startRevision: res.revision + 1, filters: ['noput'], prevKv: true, signal });
      let recount = false;
      const release = holdEventLoop();
      try {
        outer: for await (const batch of watcher) {
          for (const ev of batch.events) {
            if (ev.type !== DELETE) continue;
            const created = ev.prevKv?.createRevision;
            // Without the previous key-value (compacted), count again.
            if (created === undefined) {
              recount = true;
              break outer;
            }
            if (created < myRev && --ahead < this.permits) return ev.kv?.modRevision ?? batch.revision;
          }
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        // History needed to follow deletions is gone: count again.
        if ((err as { code?: unknown } | null)?.code !== 'COMPACTED') throw err;
        recount = true;
      } finally {
        release();
        await watcher.close();
      }
      if (!recount) {
        signal.throwIfAborted();
        throw new Error(`semaphore ${this.name}: watch ended`);
      }
    }
  }
}
