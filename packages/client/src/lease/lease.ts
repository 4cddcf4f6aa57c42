import { EventEmitter } from 'node:events';
import { isEtcdError } from '@etcd-ts/api';
import type { CallOptions } from '../call-options.js';
import { ClientClosedError, LeaseLostError } from '../errors.js';
import type { KeepAliveStream, KeepAliveTarget } from './keep-alive-stream.js';

export interface TimeToLiveOptions extends CallOptions {
  /** Also list the keys attached to the lease. */
  readonly keys?: boolean | undefined;
}

/** The server's view of a lease (LeaseTimeToLive). */
export interface LeaseTimeToLive {
  readonly id: bigint;
  /** Remaining seconds; -1 when the lease does not exist (expired, revoked or never granted). */
  readonly ttl: number;
  /** TTL the lease was granted with, seconds (0 when it does not exist). */
  readonly grantedTtl: number;
  /** Attached keys (only when asked for with `keys: true`). */
  readonly keys: Buffer[];
}

/** Marks a lease lost; used by the client that granted it (not part of the public API). */
export const loseLease = Symbol('loseLease');

/** Why a lease was lost (LeaseLostError.reason). */
export type LeaseLossReason = LeaseLostError['reason'];

/** An acknowledged keep-alive. Times are performance.now() milliseconds. */
export interface KeepAliveAck {
  /** TTL the server renewed the lease to, seconds. */
  readonly ttl: number;
  /** When the acknowledged request was sent. */
  readonly sentAt: number;
  /**
   * Until when the lease is certainly alive: the latest bound from any
   * acknowledgment so far, normally this one's `sentAt + ttl * 1000`.
   */
  readonly deadline: number;
}

export interface LeaseEvents {
  /** The lease is lost (at most once). */
  lost: [LeaseLostError];
  /** A keep-alive was acknowledged. */
  keepalive: [KeepAliveAck];
}

/** What a Lease needs from the client that granted it. */
export interface LeaseHost {
  readonly keeper: KeepAliveStream;
  revoke(id: bigint, opts?: CallOptions): Promise<void>;
  timeToLive(id: bigint, opts?: TimeToLiveOptions): Promise<LeaseTimeToLive>;
  /** The lease is lost: the client stops tracking it. */
  forget(lease: Lease): void;
}

/**
 * A granted lease, as seen by the client that granted it: kept alive on the
 * client's shared keep-alive stream while `keepAlive()` is in force, and
 * reporting loss as early as the client can know it.
 *
 * Loss is final: once lost, the lease is no longer kept alive, `signal` is
 * aborted and `lost` resolved with the LeaseLostError, and 'lost' is emitted.
 * Reasons: 'deadline' (no acknowledgment came in time: see remainingMs()),
 * 'expired' (the server reports the lease does not exist), 'revoked'
 * (revoked through this client), 'closed' (the client was closed).
 *
 * Timers of a Lease never keep the process alive by themselves.
 */
export class Lease extends EventEmitter<LeaseEvents> implements AsyncDisposable {
  /** Resolves (never rejects) with the LeaseLostError once the lease is lost. */
  readonly lost: Promise<LeaseLostError>;
  /** Aborted, with the LeaseLostError as reason, once the lease is lost. */
  readonly signal: AbortSignal;
  /**
   * performance.now() milliseconds until which the lease is certainly alive
   * on the server: max over the acknowledgments received of
   * (send time of the acknowledged request + TTL of the answer * 1000), the
   * grant counting as the first (sent when grant() was called, TTL as granted).
   *
   * Why send time and not arrival time: the server renews the lease when it
   * handles the request, at some moment between sending and the answer's
   * arrival, and the lease then lives TTL seconds from that moment. The send
   * time is the only moment the client knows not to be later than it. An
   * answer whose request took long to reach the server still yields a bound
   * that is true; timing it from its arrival could overshoot the server's
   * expiry by the whole round trip.
   *
   * Invariant: until `deadline` passes without a newer acknowledgment, the
   * lease is alive (unless revoked by someone else); when it passes, the lease
   * is lost with reason 'deadline' at once, not at some multiple of the TTL.
   * (Both clocks are taken to run at the same rate; a leader change only ever
   * extends a lease, as etcd refreshes every lease on promotion.)
   */
  private deadline: number;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The lease is on the keep-alive stream. */
  private keeping = false;
  private lostError: LeaseLostError | undefined;
  private revoking: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private resolveLost!: (err: LeaseLostError) => void;
  private readonly target: KeepAliveTarget;

  /**
   * Made by LeaseClient.grant().
   * @param ttl TTL granted, seconds.
   * @param deadline performance.now() ms until which the lease is certainly alive.
   */
  constructor(
    private readonly host: LeaseHost,
    readonly id: bigint,
    readonly ttl: number,
    deadline: number,
  ) {
    super();
    this.deadline = deadline;
    this.signal = this.controller.signal;
    this.lost = new Promise((resolve) => {
      this.resolveLost = resolve;
    });
    this.target = {
      id,
      acknowledged: (sentAt, ttlSeconds) => this.acknowledged(sentAt, ttlSeconds),
      expired: () => this.lose('expired'),
    };
    this.armDeadline();
  }

  /** Whether the lease is lost. */
  get isLost(): boolean {
    return this.lostError !== undefined;
  }

  /** Whether the lease is being kept alive. */
  get keepingAlive(): boolean {
    return this.keeping;
  }

  /**
   * How long, in ms, the client can still be sure the lease is alive (0 once
   * the lease is lost, except after client close(), which changes nothing on
   * the server).
   */
  remainingMs(): number {
    const r = this.lostError?.reason;
    if (r !== undefined && r !== 'closed') return 0;
    return Math.max(0, this.deadline - performance.now());
  }

  /**
   * Keeps the lease alive on the client's shared keep-alive stream, starting
   * with a request right away. No effect on a lost lease.
   */
  keepAlive(): this {
    if (this.lostError || this.keeping) return this;
    if (this.host.keeper.isClosed) {
      this.lose('closed');
      return this;
    }
    this.keeping = true;
    this.host.keeper.add(this.target, this.ttl);
    return this;
  }

  /**
   * Stops keeping the lease alive, without revoking it: it expires on the
   * server TTL seconds after its last renewal, unless kept alive again.
   * The deadline still runs: if keepAlive() is not called again, the lease is
   * lost with reason 'deadline' when it passes.
   */
  release(): void {
    if (!this.keeping) return;
    this.keeping = false;
    this.host.keeper.remove(this.target);
  }

  /**
   * Revokes the lease (etcd deletes every key attached to it). The lease is
   * lost with reason 'revoked' before the request is sent, so that work
   * guarded by `signal` stops before its keys go. A lease the server no
   * longer knows counts as revoked. Calling it again returns the same promise.
   */
  revoke(opts?: CallOptions): Promise<void> {
    if (this.lostError?.reason === 'expired') return Promise.resolve();
    this.revoking ??= (async () => {
      this.lose('revoked');
      try {
        await this.host.revoke(this.id, opts);
      } catch (err) {
        if (!isEtcdError(err, 'LEASE_NOT_FOUND')) throw err;
      }
    })();
    return this.revoking;
  }

  /** The server's view of the lease. A lease the server no longer knows (TTL -1) is lost ('expired'). */
  async timeToLive(opts?: TimeToLiveOptions): Promise<LeaseTimeToLive> {
    const res = await this.host.timeToLive(this.id, opts);
    if (res.ttl < 0) this.lose('expired');
    return res;
  }

  /** Revokes the lease (errors other than the client being closed are thrown). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.revoke();
    } catch (err) {
      if (!(err instanceof ClientClosedError)) throw err;
    }
  }

  /** Marks the lease lost (the client calls it with 'closed' when it closes). */
  [loseLease](reason: LeaseLossReason): void {
    this.lose(reason);
  }

  private lose(reason: LeaseLossReason): void {
    if (this.lostError) return;
    const err = new LeaseLostError(this.id, reason);
    this.lostError = err;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.release();
    this.host.forget(this);
    this.controller.abort(err);
    this.resolveLost(err);
    this.emit('lost', err);
  }

  private acknowledged(sentAt: number, ttl: number): void {
    if (this.lostError) return;
    const deadline = sentAt + ttl * 1000;
    if (deadline > this.deadline) {
      this.deadline = deadline;
      this.armDeadline();
    }
    this.emit('keepalive', { ttl, sentAt, deadline: this.deadline });
  }

  /** (Re)arms the timer that declares the lease lost when `deadline` passes. */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const wait = this.deadline - performance.now();
    if (wait <= 0) {
      this.deadlineTimer = undefined;
      this.lose('deadline');
      return;
    }
    // A timer may fire a little early (ms rounding): armDeadline() then re-arms for the rest.
    this.deadlineTimer = setTimeout(() => this.armDeadline(), Math.ceil(wait));
    this.deadlineTimer.unref();
  }
}
