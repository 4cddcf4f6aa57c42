import { compare, isEtcdError, LeaseLostError, op, type CallOptions, type Client, type TxnResult } from '@etcd-ts/client';
import type { Session } from './session.js';
import { LockLostError, LockTimeoutError, NotLockOwnerError } from './mutex-errors.js';
import { waitGenerationEnd } from './wait-delete.js';

/** Options of lock()/acquire()/campaign(). */
export interface WaitOptions {
  /** Gives up when aborted: lock() rejects with the signal's reason and the waiter's key is deleted. */
  readonly signal?: AbortSignal | undefined;
  /** Gives up after this many ms: lock() rejects with LockTimeoutError and the waiter's key is deleted. */
  readonly timeoutMs?: number | undefined;
}

/**
 * The signal a wait runs under: the caller's signal, the timeout and the
 * session's loss, whichever comes first; `reason(err)` turns a failure into
 * the error to report (the loss, the timeout or the caller's reason first).
 */
export class WaitScope {
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly timeout = new AbortController();

  constructor(
    private readonly session: Session,
    private readonly key: string,
    private readonly opts: WaitOptions,
  ) {
    const signals = [session.signal, this.timeout.signal];
    if (opts.signal) signals.push(opts.signal);
    this.signal = AbortSignal.any(signals);
    const ms = opts.timeoutMs;
    if (ms !== undefined) {
      if (!(ms >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${ms}`);
      this.timer = setTimeout(() => this.timeout.abort(new LockTimeoutError(key, ms)), ms);
    }
  }

  /** Throws the reason when already aborted. */
  check(): void {
    if (this.signal.aborted) throw this.reason(undefined);
  }

  /** The error to report for err: the session's loss, then the timeout, then the caller's abort. */
  reason(err: unknown): unknown {
    if (this.session.signal.aborted) return this.session.signal.reason;
    if (isEtcdError(err, 'LEASE_NOT_FOUND')) {
      // The lease is gone on the server (revoked elsewhere, or expired) before the
      // keep-alive said so: ask, so that the session learns it is lost now.
      this.session.lease.timeToLive().catch(() => undefined);
      return new LeaseLostError(this.session.leaseId, 'expired');
    }
    if (this.timeout.signal.aborted) return this.timeout.signal.reason;
    if (this.opts.signal?.aborted) return this.opts.signal.reason;
    return err;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * A held key (lock, semaphore permit, leadership). Its `signal` aborts when
 * the session is lost, when the holding ends (release), or — once the signal
 * has been asked for — when the key is deleted or replaced by someone else,
 * watched from the revision after `revision`.
 */
export class Holding {
  private readonly ended = new AbortController();
  private monitored: AbortSignal | undefined;

  constructor(
    readonly session: Session,
    /** The held key. */
    readonly key: string,
    /** Its create revision: the fencing token. */
    readonly createRevision: number,
    /** Revision at which holding was established. */
    readonly revision: number,
  ) {}

  get signal(): AbortSignal {
    if (this.monitored) return this.monitored;
    const monitored = AbortSignal.any([this.session.signal, this.ended.signal]);
    this.monitored = monitored;
    if (!monitored.aborted) {
      waitGenerationEnd(this.session.client, this.key, this.createRevision, this.revision + 1, monitored).then(
        (rev) => this.end(new LockLostError(this.key, rev)),
        () => {
          // aborted (session lost or released) or the client closed: nothing to report
        },
      );
    }
    return monitored;
  }

  /** Not ended and the session not lost (without starting the key watch that `signal` starts). */
  get isValid(): boolean {
    return !this.ended.signal.aborted && !this.session.signal.aborted;
  }

  end(reason: unknown): void {
    if (!this.ended.signal.aborted) this.ended.abort(reason);
  }
}

/** `<prefix><lease ID in lowercase hex>`, as etcd's Go concurrency package spells it (`%s%x`). */
export function leaseKey(prefix: string, leaseId: bigint): string {
  return `${prefix}${leaseId.toString(16)}`;
}

/**
 * Runs one wait for a key (lock(), acquire(), campaign()) under a WaitScope.
 * `attempt` reports the key it put with `claim`; when the attempt fails, that
 * key is withdrawn (withdrawKey) and the failure is reported as the scope's
 * reason (the session's loss, the timeout or the caller's abort first).
 */
export async function waitInScope<T>(
  session: Session,
  scopeKey: string,
  opts: WaitOptions,
  attempt: (scope: WaitScope, claim: (key: string, createRevision: number) => void) => Promise<T>,
): Promise<T> {
  const scope = new WaitScope(session, scopeKey, opts);
  let claimed: { key: string; createRevision: number } | undefined;
  try {
    scope.check();
    return await attempt(scope, (key, createRevision) => (claimed = { key, createRevision }));
  } catch (err) {
    if (claimed) await withdrawKey(session, claimed.key, claimed.createRevision);
    throw scope.reason(err);
  } finally {
    scope.dispose();
  }
}

/** Deletes `key` if it is still the generation created at `createRevision`. */
export function deleteIfCreatedAt(client: Client, key: string, createRevision: number, opts: CallOptions): Promise<TxnResult> {
  return client.txn().if(compare.createRevision(key, '=', createRevision)).then(op.delete(key)).commit(opts);
}

/**
 * Best-effort delete of a waiter's or candidate's own key: nothing to do once
 * the session is lost (the key went with the lease), and a failure is ignored
 * (the lease removes the key at the latest).
 */
export async function withdrawKey(session: Session, key: string, createRevision: number): Promise<void> {
  if (session.signal.aborted) return;
  try {
    await deleteIfCreatedAt(session.client, key, createRevision, { timeoutMs: 5000 });
  } catch {
    // the lease removes it at the latest
  }
}

/**
 * Puts an empty key named by `nextKey()` under the session's lease, with a new
 * name while the name is taken (etcd's newUniqueKV); resolves with the key and
 * its create revision. Not abortable: an aborted write may still apply, and
 * its key must be known to be removed.
 */
export async function putUniqueKey(session: Session, nextKey: () => string): Promise<{ key: string; createRevision: number }> {
  for (;;) {
    const key = nextKey();
    const res = await session.client
      .txn()
      .if(compare.version(key, '=', 0))
      .then(op.put(key, '', { lease: session.leaseId }))
      .commit();
    if (res.succeeded) return { key, createRevision: res.revision };
  }
}

/**
 * After a wait: the waiter's key must still be there with its create revision
 * (the session may have been lost meanwhile). Resolves with the revision of
 * the read; rejects with the session's loss, or NotLockOwnerError when the key
 * was deleted (`what` names the recipe in the message).
 */
export async function confirmOwnKey(session: Session, key: string, createRevision: number, what: string, signal: AbortSignal): Promise<number> {
  const mine = await session.client.get(key, { signal });
  if (mine.kvs[0]?.createRevision !== createRevision) {
    throw session.signal.aborted ? session.signal.reason : new NotLockOwnerError(key, `${what} ${key}: key deleted while waiting`);
  }
  return mine.revision;
}
