import { isEtcdError, LeaseLostError, type Client, type Lease } from '@etcd-ts/client';

/**
 * - `alive`: the last keep-alive was acknowledged in time.
 * - `suspended`: keep-alives are currently failing (no acknowledgement for
 *   longer than expected), but the lease may still be alive: its remaining
 *   time, as last acknowledged, has not run out yet.
 * - `lost`: the client can no longer be sure the lease is alive (its TTL ran
 *   out without an acknowledgement, the server reported it expired or
 *   revoked, or the session was closed or orphaned). Final.
 */
export type SessionState = 'alive' | 'suspended' | 'lost';

export interface SessionOptions {
  /** TTL of a new lease, in seconds. Default 60 (etcd's concurrency.Session default). */
  readonly ttl?: number;
  /**
   * Resume an existing lease (e.g. after a process restart, to reclaim a lock
   * or leadership held under it): no new lease is granted, the lease is kept
   * alive from now on. Its keys are found again because every recipe derives
   * its key from the lease ID.
   */
  readonly lease?: bigint;
  /**
   * Cancels creation; after creation, aborting it orphans the session (as
   * etcd's concurrency.WithContext: keep-alive stops, the lease is left to expire).
   */
  readonly signal?: AbortSignal;
}

export type SessionStateListener = (state: SessionState, previous: SessionState) => void;

/**
 * One lease and one keep-alive shared by every recipe that uses it (etcd's
 * concurrency.Session). Keys that recipes create are attached to the lease,
 * so they vanish when the session's process dies or is cut off for longer
 * than the TTL.
 *
 * ```ts
 * await using session = await Session.create(client, { ttl: 10 });
 * session.signal.addEventListener('abort', () => stopWork());
 * ```
 */
export class Session implements AsyncDisposable {
  /** Aborted, with a LeaseLostError as reason, when the session becomes `lost`. */
  readonly signal: AbortSignal;
  /** Resolves with the reason when the session becomes `lost` (it never rejects). */
  readonly lost: Promise<LeaseLostError>;

  private readonly controller = new AbortController();
  private resolveLost!: (err: LeaseLostError) => void;
  private current: SessionState = 'alive';
  private readonly listeners = new Set<SessionStateListener>();
  /** Epoch ms of the latest keep-alive acknowledgement (or of the grant). */
  private lastAck = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly unhookCaller: (() => void) | undefined;

  private constructor(
    readonly client: Client,
    /** The client's Lease: its keep-alive runs on the client's shared lease stream. */
    readonly lease: Lease,
    /** TTL in seconds as granted (or as reported for a resumed lease). */
    readonly ttl: number,
    signal: AbortSignal | undefined,
  ) {
    this.signal = this.controller.signal;
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    lease.on('keepalive', () => this.acknowledged());
    void lease.lost.then((err) => this.markLost(err));
    if (lease.signal.aborted) this.markLost(leaseLostReason(lease));
    else lease.signal.addEventListener('abort', () => this.markLost(leaseLostReason(lease)), { once: true });
    if (signal) {
      const onAbort = (): void => this.orphan();
      signal.addEventListener('abort', onAbort, { once: true });
      this.unhookCaller = () => signal.removeEventListener('abort', onAbort);
    }
    this.armWatchdog();
  }

  /** Grants a lease (or resumes `opts.lease`) and starts keeping it alive. */
  static async create(client: Client, opts: SessionOptions = {}): Promise<Session> {
    const ttl = opts.ttl ?? 60;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`session TTL must be a positive integer of seconds, got ${ttl}`);
    opts.signal?.throwIfAborted();
    const callOpts = opts.signal ? { signal: opts.signal } : {};
    let lease: Lease;
    if (opts.lease !== undefined) {
      try {
        lease = await client.lease.attach(opts.lease, opts.signal ? { signal: opts.signal } : {});
      } catch (err) {
        // A resumed session over a lease that is gone would be lost at once.
        if (isEtcdError(err, 'LEASE_NOT_FOUND')) throw new LeaseLostError(opts.lease, 'expired');
        throw err;
      }
    } else {
      lease = await client.lease.grant(ttl, callOpts);
    }
    const granted = lease.ttl > 0 ? lease.ttl : ttl;
    if (opts.signal?.aborted) {
      lease.release();
      throw opts.signal.reason;
    }
    return new Session(client, lease, granted, opts.signal);
  }

  /** The lease ID every key of this session is attached to. */
  get leaseId(): bigint {
    return this.lease.id;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Listens to state changes; returns a function that removes the listener. */
  on(event: 'state', listener: SessionStateListener): () => void {
    if (event !== 'state') throw new TypeError(`unknown session event ${String(event)}`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  off(event: 'state', listener: SessionStateListener): void {
    if (event === 'state') this.listeners.delete(listener);
  }

  /** Resolves when the session is `lost` (already lost: at once). */
  whenLost(): Promise<LeaseLostError> {
    return this.lost;
  }

  /** Throws the loss reason when the session is lost. */
  throwIfLost(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /**
   * Stops the keep-alive and revokes the lease: every key of the session is
   * deleted at once (locks released, leadership resigned). Idempotent. A
   * failed revoke is not an error: the lease then expires after its TTL.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopTimers();
      this.markLost(new LeaseLostError(this.leaseId, 'revoked'));
      // Revoked even when already lost: a lease given up by its deadline may still live on the server.
      try {
        // If the revoke takes longer than the TTL, the lease has expired anyway.
        await this.lease.revoke({ timeoutMs: Math.max(1000, this.ttl * 1000) });
      } catch {
        this.lease.release();
      }
    })();
    return this.closing;
  }

  /**
   * Stops the keep-alive without revoking: the lease (and every key of the
   * session) lives on until its TTL runs out, or until another process
   * resumes it with `Session.create(client, { lease: session.leaseId })`.
   * The session itself becomes `lost` at once.
   */
  orphan(): void {
    if (this.closing) return;
    this.closing = Promise.resolve();
    this.stopTimers();
    this.lease.release();
    this.markLost(new LeaseLostError(this.leaseId, 'closed'));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Milliseconds the lease is known to live at least (0 once lost). */
  remainingMs(): number {
    return this.current === 'lost' ? 0 : this.lease.remainingMs();
  }

  private acknowledged(): void {
    if (this.current === 'lost') return;
    this.lastAck = Date.now();
    if (this.current === 'suspended') this.setState('alive');
    this.armWatchdog();
  }

  /**
   * Keep-alives are sent every TTL/3; an acknowledgement overdue by half that
   * period again (at least 1 s) means keep-alives are failing right now.
   */
  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.current === 'lost') return;
    const period = (this.ttl * 1000) / 3;
    const due = this.lastAck + period + Math.max(1000, period / 2);
    this.watchdog = setTimeout(() => this.checkOverdue(), Math.max(10, due - Date.now()));
    this.watchdog.unref();
  }

  private checkOverdue(): void {
    this.watchdog = undefined;
    if (this.current !== 'alive') return;
    if (this.lease.signal.aborted) {
      this.markLost(leaseLostReason(this.lease));
      return;
    }
    this.setState('suspended');
  }

  private stopTimers(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.unhookCaller?.();
  }

  private markLost(err: LeaseLostError): void {
    if (this.current === 'lost') return;
    this.stopTimers();
    this.setState('lost');
    this.resolveLost(err);
    this.controller.abort(err);
  }

  private setState(next: SessionState): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    for (const l of [...this.listeners]) {
      try {
        l(next, prev);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

function leaseLostReason(lease: Lease): LeaseLostError {
  const r: unknown = lease.signal.reason;
  // By name: a Lease of another copy of the client package has its own LeaseLostError class.
  return r instanceof Error && r.name === 'LeaseLostError' ? (r as LeaseLostError) : new LeaseLostError(lease.id, 'expired');
}
