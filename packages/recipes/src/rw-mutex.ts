import { compare, op, type CallOptions, type Cmp, type Op, type TxnBuilder, type TxnResult } from '@etcd-ts/client';
import { LockReleasedError, NotLockOwnerError } from './mutex-errors.js';
import { Holding, WaitScope, type WaitOptions } from './mutex-support.js';
import type { Session } from './session.js';
import { lastCreatedBefore, waitDelete } from './wait-delete.js';

export type RWLockOptions = WaitOptions;

export type RWMode = 'read' | 'write';

let lastNanos = 0n;

/** Wall-clock nanoseconds, strictly increasing within the process (Go's time.Now().UnixNano()). */
function uniqueNanos(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  lastNanos = now > lastNanos ? now : lastNanos + 1n;
  return lastNanos;
}

/**
 * A readers-writer lock: any number of readers share it, a writer holds it
 * alone; waiters are served in create-revision order (a writer waits for
 * every earlier key, a reader only for earlier writers).
 *
 * Layout: etcd's contrib/recipes RWMutex: readers put `<name>/read/<ns>`,
 * writers `<name>/write/<ns>` (ns: wall-clock nanoseconds, unique thanks to a
 * create-if-absent txn), empty values, attached to the session's lease. A
 * reader waits for the deletion of the last writer key created before its
 * own; a writer for the last key of any kind created before its own; each
 * then looks again. Revisions are compared by create revision.
 *
 * One RWMutex object holds at most one lock (read or write) at a time; use
 * several objects (they may share the session) for several holders.
 */
export class RWMutex implements AsyncDisposable {
  /** `name + '/'`. */
  readonly prefix: string;
  private holding: Holding | undefined;
  private heldMode: RWMode | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.prefix = `${name}/`;
  }

  /** 'read' or 'write' while held, undefined otherwise. */
  get mode(): RWMode | undefined {
    return this.holding?.isValid ? this.heldMode : undefined;
  }

  /** The held key; throws NotLockOwnerError when not held. */
  get key(): string {
    return this.held().key;
  }

  /** Create revision of the held key. */
  get fencingToken(): number {
    return this.held().createRevision;
  }

  /** Aborted when the lock is lost while held (see Mutex.signal). */
  get signal(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort(new NotLockOwnerError(this.prefix));
  }

  /** Waits for a shared (read) lock; resolves with the fencing token. */
  rLock(opts: RWLockOptions = {}): Promise<number> {
    return this.acquire('read', opts);
  }

  /** Waits for the exclusive (write) lock; resolves with the fencing token. */
  lock(opts: RWLockOptions = {}): Promise<number> {
    return this.acquire('write', opts);
  }

  /** Releases a read lock (same as unlock()). */
  rUnlock(opts: CallOptions = {}): Promise<void> {
    return this.unlock(opts);
  }

  /** Releases the lock held (read or write); a no-op when not held. */
  async unlock(opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h) return;
    await this.session.client.txn().if(compare.createRevision(h.key, '=', h.createRevision)).then(op.delete(h.key)).commit(opts);
    if (this.holding === h) {
      this.holding = undefined;
      this.heldMode = undefined;
    }
    h.end(new LockReleasedError(h.key));
  }

  /** The compare that holds only while this holder's key is still there. */
  isOwner(): Cmp {
    const h = this.holding;
    return compare.createRevision(h?.key ?? `${this.prefix}\0`, '=', h?.createRevision ?? -1);
  }

  txn(): TxnBuilder {
    return this.session.client.txn().if(this.isOwner());
  }

  /** Runs ops only while this holder still holds the lock; throws NotLockOwnerError otherwise. */
  async guard(...ops: Op[]): Promise<TxnResult> {
    const res = await this.txn().then(...ops).commit();
    if (!res.succeeded) throw new NotLockOwnerError(this.holding?.key ?? this.prefix);
    return res;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  private held(): Holding {
    if (!this.holding) throw new NotLockOwnerError(this.prefix);
    return this.holding;
  }

  private async acquire(mode: RWMode, opts: WaitOptions): Promise<number> {
    if (this.busy) throw new Error(`rwmutex ${this.name}: another lock of this RWMutex is in progress`);
    if (this.holding?.isValid) {
      if (this.heldMode === mode) return this.holding.createRevision;
      throw new Error(`rwmutex ${this.name}: already holds the ${this.heldMode} lock`);
    }
    this.busy = true;
    const client = this.session.client;
    const scope = new WaitScope(this.session, `${this.prefix}${mode}`, opts);
    let key: string | undefined;
    let myRev = -1;
    try {
      scope.check();
      for (;;) {
        key = `${this.prefix}${mode}/${uniqueNanos()}`;
        const res = await client
          .txn()
          .if(compare.version(key, '=', 0))
          .then(op.put(key, '', { lease: this.session.leaseId }))
          .commit(); // not abortable: an aborted write may still apply, and its key must be known to be removed
        if (res.succeeded) {
          myRev = res.revision;
          break;
        }
      }
      // Readers wait for earlier writers, writers for every earlier key.
      const blockers = mode === 'read' ? `${this.prefix}write/` : this.prefix;
      let revision: number;
      for (;;) {
        const last = await lastCreatedBefore(client, blockers, myRev - 1, scope.signal);
        if (!last.kv) {
          revision = last.revision;
          break;
        }
        await waitDelete(client, last.kv.key, last.revision, scope.signal);
      }
      const mine = await client.get(key, { signal: scope.signal });
      if (mine.kvs[0]?.createRevision !== myRev) {
        throw this.session.signal.aborted ? this.session.signal.reason : new NotLockOwnerError(key, `lock ${key}: key deleted while waiting`);
      }
      this.holding = new Holding(this.session, key, myRev, Math.max(revision, mine.revision));
      this.heldMode = mode;
      return myRev;
    } catch (err) {
      if (key !== undefined && myRev >= 0 && !this.session.signal.aborted) {
        await client
          .txn()
          .if(compare.createRevision(key, '=', myRev))
          .then(op.delete(key))
          .commit({ timeoutMs: 5000 })
          .catch(() => undefined);
      }
      throw scope.reason(err);
    } finally {
      scope.dispose();
      this.busy = false;
    }
  }
}
