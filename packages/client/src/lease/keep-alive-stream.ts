import type * as grpc from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import type { Endpoint } from '../balancer/endpoint.js';
import { fromStatus } from '../errors.js';
import { DEFAULT_RETRY } from '../retry.js';
import type { Rpc } from '../rpc.js';

/** One lease the stream keeps alive, and where it reports what the server said. */
export interface KeepAliveTarget {
  readonly id: bigint;
  /**
   * The server renewed the lease: the request sent at `sentAt`
   * (performance.now() time base) was answered with `ttl` > 0 seconds.
   */
  acknowledged(sentAt: number, ttl: number): void;
  /** The server answered TTL <= 0: the lease does not exist any more. */
  expired(): void;
}

type KeepAliveCall = grpc.ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequestInit, etcdserverpb.LeaseKeepAliveResponse>;

interface Entry {
  readonly target: KeepAliveTarget;
  /** Seconds: the TTL of the newest answer (the granted TTL before the first). Paces this lease's requests. */
  ttl: number;
  /** performance.now() of this lease's latest request on the current stream (-Infinity: none yet). */
  lastSentAt: number;
  /** Sends the next request; armed only while a stream is open. */
  timer: NodeJS.Timeout | undefined;
}

/** Shortest pause between two requests for one lease. */
const MIN_INTERVAL_MS = 500;
/**
 * When a lease's next request is due while its previous one is still
 * unanswered (older than this fraction of the interval: timers may fire a
 * little early), the stream is taken as stalled and replaced, on another
 * endpoint when there is one. With an answer for a request sent at S, that
 * happens about S + 2/3 TTL, leaving a third of the TTL to renew the lease
 * elsewhere before its deadline S + TTL.
 */
const STALL_FRACTION = 0.9;

/**
 * The one LeaseKeepAlive bidi stream of a client, shared by every lease it
 * keeps alive. Opened when the first lease is added and closed when the last
 * one leaves; when it breaks (or stalls) it is opened again, with backoff, on
 * the next endpoint, and every lease is renewed right away on the new stream.
 *
 * Each lease sends a request every max(TTL/3, 500 ms), TTL being the one of
 * the lease's latest answer. Requests carry no correlation id, but a member
 * answers the requests of one stream in the order it received them (etcd's
 * server handles them one by one), so `pending` can attribute each answer to
 * a request of the same lease. Taking the OLDEST unanswered request of that
 * lease is safe even if answers were reordered: the answered request was sent
 * no earlier than it, so the send time reported is never later than the true
 * one, and the deadline derived from it never later than the server's.
 */
export class KeepAliveStream {
  /** Streams opened so far (for observability and tests). */
  streamsOpened = 0;
  private readonly entries = new Map<bigint, Entry>();
  /** The open stream, if any. Events of any other (older) call are ignored. */
  private call: KeepAliveCall | undefined;
  /** The endpoint of the open stream, or of the latest attempt. */
  private endpoint: Endpoint | undefined;
  /**
   * Send times (performance.now()) of the requests on `call` not answered yet,
   * per lease id, oldest first. Belongs to `call`: replaced with it, and kept
   * for a lease removed meanwhile (its answers still arrive in order).
   */
  private pending = new Map<bigint, number[]>();
  /** A connection attempt is scheduled (reconnectTimer) or in progress (connect()). */
  private connecting = false;
  /** Attempts since the last answer received; drives the backoff. */
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly closing = new AbortController();

  constructor(private readonly rpc: Rpc) {}

  /** Number of leases being kept alive. */
  get size(): number {
    return this.entries.size;
  }

  /** Address of the member the stream is open on, if it is open. */
  get endpointAddress(): string | undefined {
    return this.call ? this.endpoint?.address : undefined;
  }

  get isClosed(): boolean {
    return this.closing.signal.aborted;
  }

  /**
   * Starts keeping `target` alive with a request right away. `ttl` (seconds)
   * paces the requests until the first answer. One target per lease id.
   */
  add(target: KeepAliveTarget, ttl: number): void {
    if (this.isClosed || this.entries.has(target.id)) return;
    const entry: Entry = { target, ttl, lastSentAt: -Infinity, timer: undefined };
    this.entries.set(target.id, entry);
    if (this.call) this.send(entry);
    else this.ensureStream();
  }

  /** Stops keeping `target` alive; closes the stream when it was the last lease. */
  remove(target: KeepAliveTarget): void {
    const entry = this.entries.get(target.id);
    if (entry?.target !== target) return;
    clearTimeout(entry.timer);
    this.entries.delete(target.id);
    if (this.entries.size === 0) this.stop();
  }

  /** Stops everything; leases are left to expire (not revoked). */
  close(): void {
    if (this.isClosed) return;
    this.closing.abort();
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    this.stop();
  }

  private interval(entry: Entry): number {
    return Math.max(MIN_INTERVAL_MS, (entry.ttl * 1000) / 3);
  }

  /** Sends one request for `entry` on the open stream and arms the next. */
  private send(entry: Entry): void {
    const call = this.call;
    if (!call) return;
    const now = performance.now();
    const unanswered = this.pending.get(entry.target.id);
    const oldest = unanswered?.[0];
    if (oldest !== undefined && now - oldest >= STALL_FRACTION * this.interval(entry)) {
      // No answer for a whole interval: the stream (or its connection) is stuck.
      this.endpoint?.markUnhealthy();
      this.replace();
      return;
    }
    call.write({ ID: entry.target.id });
    if (unanswered) unanswered.push(now);
    else this.pending.set(entry.target.id, [now]);
    entry.lastSentAt = now;
    this.schedule(entry);
  }

  /** Arms the next request of `entry`: one interval after its latest one. */
  private schedule(entry: Entry): void {
    clearTimeout(entry.timer);
    const wait = Math.max(0, entry.lastSentAt + this.interval(entry) - performance.now());
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.entries.get(entry.target.id) === entry) this.send(entry);
    }, Math.ceil(wait));
  }

  private onData(call: KeepAliveCall, res: etcdserverpb.LeaseKeepAliveResponse): void {
    if (call !== this.call) return;
    this.attempts = 0;
    const unanswered = this.pending.get(res.ID);
    const sentAt = unanswered?.shift();
    if (unanswered?.length === 0) this.pending.delete(res.ID);
    const entry = this.entries.get(res.ID);
    if (!entry) return;
    if (res.TTL <= 0) {
      entry.target.expired();
      return;
    }
    // An answer no request of this stream can account for proves nothing about when the lease was renewed.
    if (sentAt === undefined) return;
    entry.ttl = res.TTL;
    entry.target.acknowledged(sentAt, res.TTL);
    if (this.entries.get(res.ID) === entry && this.call === call) this.schedule(entry);
  }

  private onBroken(call: KeepAliveCall, ep: Endpoint, md: grpc.Metadata, err: grpc.ServiceError | undefined): void {
    if (call !== this.call) return;
    if (err) {
      const e = fromStatus(err.code, err.details, ep.address, true);
      if ('reauth' in e && e.reauth) this.rpc.invalidateToken(md);
      else if (e.transient) ep.markUnhealthy();
    }
    this.replace();
  }

  /** Drops the current stream (its unanswered requests can no longer be acknowledged) and opens another. */
  private replace(): void {
    this.dropCall();
    this.ensureStream();
  }

  private dropCall(): void {
    const call = this.call;
    this.call = undefined;
    this.pending = new Map();
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
    }
    call?.cancel();
  }

  /** No lease left (or closed): no stream, no attempt. */
  private stop(): void {
    this.dropCall();
    if (this.reconnectTimer !== undefined) {
      // An attempt was scheduled, not started: it will not run.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.connecting = false;
    }
    this.attempts = 0;
  }

  private get wanted(): boolean {
    return !this.isClosed && !this.rpc.isClosed && this.entries.size > 0;
  }

  /** Schedules a connection attempt, after a backoff if the previous attempts got no answer. */
  private ensureStream(): void {
    if (this.call || this.connecting || !this.wanted) return;
    this.connecting = true;
    const policy = { ...DEFAULT_RETRY, ...this.rpc.opts.retry };
    const n = this.attempts++;
    const delay =
      n === 0 ? 0 : Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private async connect(): Promise<void> {
    let again = true;
    try {
      if (!this.wanted) return;
      const signal = this.closing.signal;
      const ep = this.rpc.pool.pick(this.endpoint);
      this.endpoint = ep;
      const ready = await ep.waitReady(Date.now() + this.rpc.opts.dialTimeoutMs, signal);
      if (!this.wanted) return;
      if (!ready) {
        ep.markUnhealthy();
        return;
      }
      const md = await this.rpc.metadata(true, signal);
      if (!this.wanted) return;
      this.open(ep, md);
      again = false;
    } catch {
      // Token or connection trouble: try again after the backoff.
    } finally {
      this.connecting = false;
      if (again) this.ensureStream();
    }
  }

  private open(ep: Endpoint, md: grpc.Metadata): void {
    const call = ep.lease.leaseKeepAlive(md);
    this.call = call;
    this.pending = new Map();
    this.streamsOpened++;
    call.on('data', (res: etcdserverpb.LeaseKeepAliveResponse) => this.onData(call, res));
    call.on('error', (err: grpc.ServiceError) => this.onBroken(call, ep, md, err));
    call.on('end', () => this.onBroken(call, ep, md, undefined));
    // Renew every lease at once on the new stream.
    for (const e of this.entries.values()) this.send(e);
  }
}
