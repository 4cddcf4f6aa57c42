import { compare, op, type CallOptions, type Cmp, type Op, type TxnBuilder, type TxnResult } from '@etcd-ts/client';
import { LockReleasedError, NotLockOwnerError } from './mutex-errors.js';
import { Holding, leaseKey, WaitScope, type WaitOptions } from './mutex-support.js';
import type { Session } from './session.js';
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
export class Mutex implements AsyncDisposable {
  /** `name + '/'`: the prefix of every contender's key. */
  readonly prefix: string;
  private holding: Holding | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.prefix = `${name}/`;
  }

  /** This session's key: `<name>/<lease ID hex>`. */
  get key(): string {
    return leaseKey(this.prefix, this.session.leaseId);
  }

  /** Whether this object holds the lock (as far as it knows: see `signal` and `isOwner()`). */
  get isLocked(): boolean {
    return this.holding?.isValid === true;
  }

  /** The create revision of the held key; throws NotLockOwnerError when not held. */
  get fencingToken(): number {
    return this.held().createRevision;
  }

  /** Revision at which the lock was acquired (etcd's Mutex.Header().Revision). */
  get revision(): number {
    return this.held().revision;
  }

  /**
   * Aborted when the lock is lost while held: the session is lost (reason
   * LeaseLostError), the key is deleted by someone else (LockLostError) or
   * unlock() is called (LockReleasedError). An aborted signal when not held.
   */
  get signal(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort(new NotLockOwnerError(this.key));
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
  async unlock(opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h) return;
    await this.session.client
      .txn()
      .if(compare.createRevision(h.key, '=', h.createRevision))
      .then(op.delete(h.key))
      .commit(opts);
    if (this.holding === h) this.holding = undefined;
    h.end(new LockReleasedError(h.key));
  }

  /**
   * The compare that holds only while this holder's key exists with its
   * create revision (never true when not held).
   */
  isOwner(): Cmp {
    const h = this.holding;
    return compare.createRevision(h?.key ?? this.key, '=', h?.createRevision ?? -1);
  }

  /** A txn already conditioned on `isOwner()`; add compares and ops. */
  txn(): TxnBuilder {
    return this.session.client.txn().if(this.isOwner());
  }

  /** Runs ops in a txn only if this holder still owns the lock; throws NotLockOwnerError otherwise. */
  async guard(...ops: Op[]): Promise<TxnResult> {
    const key = this.holding?.key ?? this.key;
    const res = await this.txn().then(...ops).commit();
    if (!res.succeeded) throw new NotLockOwnerError(key);
    return res;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  private held(): Holding {
    if (!this.holding) throw new NotLockOwnerError(this.key);
    return this.holding;
  }

  /** Resolves with the fencing token, or undefined when `wait` is false and the lock is taken. */
  private async acquire(opts: WaitOptions, wait: boolean): Promise<number | undefined> {
    if (this.busy) throw new Error(`lock ${this.key}: another lock()/tryLock() of this Mutex is in progress`);
    if (this.holding?.isValid) return this.holding.createRevision;
    this.busy = true;
    const key = this.key;
    const scope = new WaitScope(this.session, key, wait ? opts : { signal: opts.signal });
    const client = this.session.client;
    let myRev = -1;
    let created = false;
    try {
      scope.check();
      const owner = op.get(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
      const res = await client
        .txn()
        .if(compare.createRevision(key, '=', 0))
        .then(op.put(key, '', { lease: this.session.leaseId }), owner)
        .else(op.get(key), owner)
        .commit(); // not abortable: an aborted write may still apply, and its key must be known to be removed
      created = res.succeeded;
      myRev = res.succeeded ? res.revision : (res.responses[0]?.responseRange?.kvs[0]?.createRevision ?? -1);
      if (myRev < 0) throw new Error(`lock ${key}: txn answered without the key`);
      const first = res.responses[1]?.responseRange?.kvs[0];
      let revision = res.revision;
      if (first && first.createRevision !== myRev) {
        if (!wait) {
          if (created) await this.deleteKey(key, myRev);
          return undefined;
        }
        await waitDeletes(client, this.prefix, myRev - 1, scope.signal);
        // The session may have been lost while waiting: the key must still be ours.
        const mine = await client.get(key, { signal: scope.signal });
        const kv = mine.kvs[0];
        if (!kv || kv.createRevision !== myRev) {
          throw this.session.signal.aborted ? this.session.signal.reason : new NotLockOwnerError(key, `lock ${key}: key deleted while waiting`);
        }
        revision = mine.revision;
      }
      this.holding = new Holding(this.session, key, myRev, revision);
      return myRev;
    } catch (err) {
      if (myRev >= 0 && (created || wait)) await this.deleteKey(key, myRev);
      throw scope.reason(err);
    } finally {
      scope.dispose();
      this.busy = false;
    }
  }

  /** Best-effort delete of the waiter's key (it goes with the lease anyway). */
  private async deleteKey(key: string, rev: number): Promise<void> {
    if (this.session.signal.aborted) return;
    try {
      await this.session.client
        .txn()
        .if(compare.createRevision(key, '=', rev))
        .then(op.delete(key))
        .commit({ timeoutMs: 5000 });
    } catch {
      // the lease removes it at the latest
    }
  }
}
