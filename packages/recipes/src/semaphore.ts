import { randomBytes } from 'node:crypto';
import { compare, op, type CallOptions, type Cmp, type Op, type TxnBuilder, type TxnResult } from '@etcd-ts/client';
import { LockReleasedError, NotLockOwnerError } from './mutex-errors.js';
import { Holding, leaseKey, WaitScope, type WaitOptions } from './mutex-support.js';
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
export class Semaphore implements AsyncDisposable {
  /** `name + '/'`. */
  readonly prefix: string;
  private holding: Holding | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    readonly name: string,
    readonly permits: number,
  ) {
    if (!Number.isSafeInteger(permits) || permits < 1) throw new RangeError(`semaphore permits must be a positive integer, got ${permits}`);
    this.prefix = `${name}/`;
  }

  get isAcquired(): boolean {
    return this.holding?.isValid === true;
  }

  /** The held key; throws NotLockOwnerError when no permit is held. */
  get key(): string {
    return this.held().key;
  }

  /** Create revision of the held key. */
  get fencingToken(): number {
    return this.held().createRevision;
  }

  /** Aborted when the permit is lost while held (see Mutex.signal). */
  get signal(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort(new NotLockOwnerError(this.prefix));
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
  async release(opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h) return;
    await this.session.client.txn().if(compare.createRevision(h.key, '=', h.createRevision)).then(op.delete(h.key)).commit(opts);
    if (this.holding === h) this.holding = undefined;
    h.end(new LockReleasedError(h.key));
  }

  /** How many keys (holders and waiters) the semaphore has now. */
  async size(opts: CallOptions = {}): Promise<number> {
    const res = await this.session.client.get(this.prefix, { ...opts, prefix: true, countOnly: true });
    return res.count;
  }

  /** The compare that holds only while this holder's key is still there. */
  isOwner(): Cmp {
    const h = this.holding;
    return compare.createRevision(h?.key ?? `${this.prefix}\0`, '=', h?.createRevision ?? -1);
  }

  txn(): TxnBuilder {
    return this.session.client.txn().if(this.isOwner());
  }

  /** Runs ops only while this holder still holds its permit; throws NotLockOwnerError otherwise. */
  async guard(...ops: Op[]): Promise<TxnResult> {
    const res = await this.txn().then(...ops).commit();
    if (!res.succeeded) throw new NotLockOwnerError(this.holding?.key ?? this.prefix);
    return res;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private held(): Holding {
    if (!this.holding) throw new NotLockOwnerError(this.prefix);
    return this.holding;
  }

  private async take(opts: WaitOptions, wait: boolean): Promise<number | undefined> {
    if (this.busy) throw new Error(`semaphore ${this.name}: another acquire of this Semaphore is in progress`);
    if (this.holding?.isValid) return this.holding.createRevision;
    this.busy = true;
    const client = this.session.client;
    const scope = new WaitScope(this.session, this.prefix, opts);
    let key: string | undefined;
    let myRev = -1;
    try {
      scope.check();
      for (;;) {
        key = `${leaseKey(this.prefix, this.session.leaseId)}-${randomBytes(4).toString('hex')}`;
        const res = await client
          .txn()
          .if(compare.createRevision(key, '=', 0))
          .then(op.put(key, '', { lease: this.session.leaseId }))
          .commit(); // not abortable: an aborted write may still apply, and its key must be known to be removed
        if (res.succeeded) {
          myRev = res.revision;
          break;
        }
      }
      let revision = await this.waitTurn(myRev, wait, scope.signal);
      if (revision === undefined) {
        await this.deleteKey(key, myRev);
        return undefined;
      }
      if (wait) {
        const mine = await client.get(key, { signal: scope.signal });
        if (mine.kvs[0]?.createRevision !== myRev) {
          throw this.session.signal.aborted ? this.session.signal.reason : new NotLockOwnerError(key, `semaphore ${key}: key deleted while waiting`);
        }
        revision = Math.max(revision, mine.revision);
      }
      this.holding = new Holding(this.session, key, myRev, revision);
      return myRev;
    } catch (err) {
      if (key !== undefined && myRev >= 0) await this.deleteKey(key, myRev);
      throw scope.reason(err);
    } finally {
      scope.dispose();
      this.busy = false;
    }
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

  private async deleteKey(key: string, rev: number): Promise<void> {
    if (this.session.signal.aborted) return;
    await this.session.client
      .txn()
      .if(compare.createRevision(key, '=', rev))
      .then(op.delete(key))
      .commit({ timeoutMs: 5000 })
      .catch(() => undefined);
  }
}
