/**
 * Errors raised by the lock recipes (Mutex, RWMutex, Semaphore). Each has a
 * stable `code`.
 */

/** The caller is not (or no longer) the holder: a guarded txn's ownership compare failed. */
export class NotLockOwnerError extends Error {
  override readonly name = 'NotLockOwnerError';
  readonly code = 'NOT_LOCK_OWNER';
  constructor(readonly key: string, message = `not the owner of lock ${key}`) {
    super(message);
  }
}

/** lock()/acquire() gave up after its `timeoutMs`; the waiter's key was deleted. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  readonly code = 'LOCK_TIMEOUT';
  constructor(readonly key: string, readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for lock ${key}`);
  }
}

/**
 * The holder's key was deleted or replaced by someone else (e.g. `etcdctl del`,
 * or the lease revoked elsewhere) while the lock was held.
 */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
  readonly code = 'LOCK_LOST';
  constructor(readonly key: string, readonly revision: number) {
    super(`lock key ${key} was deleted or replaced at revision ${revision}`);
  }
}

/** Released by unlock()/release(): the reason a holder's signal aborts with then. */
export class LockReleasedError extends Error {
  override readonly name = 'LockReleasedError';
  readonly code = 'LOCK_RELEASED';
  constructor(readonly key: string) {
    super(`lock ${key} was released`);
  }
}
