import type { CallOptions } from '@etcd-ts/client';
import { KeyLock } from './key-lock.js';
import { confirmOwnKey, Holding, putUniqueKey, waitInScope, type WaitOptions } from './mutex-support.js';
import { waitDeletes } from './wait-delete.js';

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
export class RWMutex extends KeyLock {
  /** The mode of the last lock taken: meaningful only while `holding` is valid. */
  private heldMode: RWMode | undefined;

  /** 'read' or 'write' while held, undefined otherwise. */
  get mode(): RWMode | undefined {
    return this.holding?.isValid ? this.heldMode : undefined;
  }

  /** The held key; throws NotLockOwnerError when not held. */
  get key(): string {
    return this.held().key;
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
  unlock(opts: CallOptions = {}): Promise<void> {
    return this.releaseHeld(opts);
  }

  private async acquire(mode: RWMode, opts: WaitOptions): Promise<number> {
    if (this.holding?.isValid) {
      if (this.heldMode === mode) return this.holding.createRevision;
      throw new Error(`rwmutex ${this.name}: already holds the ${this.heldMode} lock`);
    }
    const session = this.session;
    return this.exclusively(`rwmutex ${this.name}: another lock of this RWMutex is in progress`, () =>
      waitInScope(session, `${this.prefix}${mode}`, opts, async (scope, claim) => {
        const { key, createRevision: myRev } = await putUniqueKey(session, () => `${this.prefix}${mode}/${uniqueNanos()}`);
        claim(key, myRev);
        // Readers wait for earlier writers, writers for every earlier key.
        const blockers = mode === 'read' ? `${this.prefix}write/` : this.prefix;
        const revision = await waitDeletes(session.client, blockers, myRev - 1, scope.signal);
        const mine = await confirmOwnKey(session, key, myRev, 'lock', scope.signal);
        this.holding = new Holding(session, key, myRev, Math.max(revision, mine));
        this.heldMode = mode;
        return myRev;
      }),
    );
  }
}
