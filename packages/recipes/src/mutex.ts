import { compare, op, type CallOptions } from '@etcd-ts/client';
import { KeyLock } from './key-lock.js';
import { confirmOwnKey, Holding, leaseKey, waitInScope, withdrawKey, type WaitOptions } from './mutex-support.js';
import { waitDeletes } from './wait-delete.js';

export type LockOptions = WaitOptions;

/**
 * A distributed, fair (FIFO) mutex, with the key layout and protocol of
 * etcd's Go concurrency.Mutex, so it interoperates with `etcdctl lock` and
 * Go programs locking the same name.
 *
 * Layout: each contender puts `<name>/<lease ID in lowercase hex>` (empty
 * value, attached to the session's lease); the key with the lowest create
 * revision holds the lock. A waiter watches only its predecessor (the key with
 * the largest create revision below its own) for deletion, then looks again:
 * a release wakes one waiter, not all of them.
 *
 * Fencing: the holder's key's create revision is a token that grows with
 * every acquisition (`fencingToken`); `isOwner()` is the txn compare that
 * holds only while this holder's key is still there (etcd's
 * `Compare(CreateRevision(myKey), "=", myRev)`), and `guard(...ops)` runs ops
 * only under it. A holder that was paused past its lease's TTL finds its
 * guarded writes rejected.
 *
 * Re-entrancy is etcd's: two Mutex objects of the same session and name use
 * the same key, so both "hold" the lock at once and one unlock() releases it
 * for both. Use one session per independent holder.
 *
 * ```ts
 * const m = new Mutex(session, 'jobs/lock');
 * await m.lock({ timeoutMs: 5000 });
 * try { await m.guard(op.put('jobs/state', 'x')); } finally { await m.unlock(); }
 * ```
 */
export class Mutex extends KeyLock {
  /** This session's key: `<name>/<lease ID hex>`. */
  get key(): string {
    return leaseKey(this.prefix, this.session.leaseId);
  }

  /** Whether this object holds the lock (as far as it knows: see `signal` and `isOwner()`). */
  get isLocked(): boolean {
    return this.holding?.isValid === true;
  }

  /** Revision at which the lock was acquired (etcd's Mutex.Header().Revision). */
  get revision(): number {
    return this.held().revision;
  }

  /**
   * Waits until this session holds the lock; resolves with the fencing token.
   * Rejects with LeaseLostError when the session is lost meanwhile, with
   * LockTimeoutError after `timeoutMs`, or with the signal's reason when it
   * aborts; the waiter's key is deleted then.
   */
  async lock(opts: LockOptions = {}): Promise<number> {
    return this.acquire(opts, true).then((token) => token!);
  }

  /** Takes the lock only if it is free now (or held by this session); never waits. */
  async tryLock(opts: CallOptions = {}): Promise<boolean> {
    return (await this.acquire(opts, false)) !== undefined;
  }

  /**
   * Releases the lock: deletes the key if it is still this holder's. A no-op
   * when not held. On failure the lock stays held here (retry, or let the
   * session's lease end it).
   */
  unlock(opts: CallOptions = {}): Promise<void> {
    return this.releaseHeld(opts);
  }

  protected override unheldKey(): string {
    return this.key;
  }

  protected override unheldCompareKey(): string {
    return this.key;
  }

  /** Resolves with the fencing token, or undefined when `wait` is false and the lock is taken. */
  private async acquire(opts: WaitOptions, wait: boolean): Promise<number | undefined> {
    if (this.holding?.isValid) return this.holding.createRevision;
    const key = this.key;
    const session = this.session;
    return this.exclusively(`lock ${key}: another lock()/tryLock() of this Mutex is in progress`, () =>
      waitInScope(session, key, wait ? opts : { signal: opts.signal }, async (scope, claim) => {
        const owner = op.get(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
        const res = await session.client
          .txn()
          .if(compare.createRevision(key, '=', 0))
          .then(op.put(key, '', { lease: session.leaseId }), owner)
          .else(op.get(key), owner)
          .commit(); // not abortable: an aborted write may still apply, and its key must be known to be removed
        const created = res.succeeded;
        const myRev = res.succeeded ? res.revision : (res.responses[0]?.responseRange?.kvs[0]?.createRevision ?? -1);
        if (myRev < 0) throw new Error(`lock ${key}: txn answered without the key`);
        // tryLock() leaves a key of this session it did not create where it is.
        if (created || wait) claim(key, myRev);
        const first = res.responses[1]?.responseRange?.kvs[0];
        let revision = res.revision;
        if (first && first.createRevision !== myRev) {
          if (!wait) {
            if (created) await withdrawKey(session, key, myRev);
            return undefined;
          }
          await waitDeletes(session.client, this.prefix, myRev - 1, scope.signal);
          revision = await confirmOwnKey(session, key, myRev, 'lock', scope.signal);
        }
        this.holding = new Holding(session, key, myRev, revision);
        return myRev;
      }),
    );
  }
}
