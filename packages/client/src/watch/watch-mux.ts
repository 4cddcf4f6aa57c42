import type { Endpoint } from '../balancer/endpoint.js';
import { ClientClosedError } from '../errors.js';
import type { Rpc } from '../rpc.js';
import { WatchStream, type WatchStreamHooks } from './watch-stream.js';
import type { WatchSubscription } from './watch-subscription.js';

/** Reconnect backoff: 50 ms doubling to 2 s, reset by the next successful create. */
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2_000;
/** A stream without watches closes after this long. */
const IDLE_MS = 2_000;

/**
 * The watch streams of one client: at most one WatchStream per endpoint,
 * created lazily, and the re-creation of watches whose stream broke.
 *
 * New and resuming watches join the "home" stream; when it breaks, the next
 * home is on another endpoint when one is available (pool.pick avoiding the
 * one that failed), so all watches normally share one stream.
 *
 * Invariants: `streams` holds only streams that are not done, keyed by their
 * endpoint; every open subscription is either on a stream (sub.stream set)
 * or in `resuming`, never both.
 */
export class WatchMux implements WatchStreamHooks {
  readonly #streams = new Map<Endpoint, WatchStream>();
  #home: WatchStream | undefined;
  /** Every subscription not yet ended. */
  readonly #subs = new Set<WatchSubscription>();
  /** Subscriptions whose stream broke, waiting for the resume timer. */
  readonly #resuming = new Set<WatchSubscription>();
  #resumeTimer: NodeJS.Timeout | undefined;
  /** Stream failures since the last successful create (drives the backoff). */
  #failures = 0;
  /** Endpoint of the last failure, avoided by the next home stream when another is available. */
  #avoid: Endpoint | undefined;
  #closed = false;

  constructor(private readonly rpc: Rpc) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Open watch streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  add(sub: WatchSubscription): void {
    if (this.#closed || this.rpc.isClosed) throw new ClientClosedError();
    this.#subs.add(sub);
    this.#homeStream().add(sub);
  }

  /** Forgets `sub` (its watcher ended), canceling it on the server if created. */
  remove(sub: WatchSubscription): void {
    this.#subs.delete(sub);
    this.#resuming.delete(sub);
    sub.stream?.remove(sub);
  }

  /** Ends every watch with ClientClosedError and closes every stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#resumeTimer !== undefined) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
    const subs = [...this.#subs];
    this.#subs.clear();
    this.#resuming.clear();
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
    this.#home = undefined;
    const err = new ClientClosedError();
    for (const sub of subs) {
      sub.stream = undefined;
      sub.sink.end(err);
    }
  }

  created(): void {
    this.#failures = 0;
  }

  broken(stream: WatchStream, subs: WatchSubscription[], err: Error): void {
    this.#forget(stream);
    this.#avoid = stream.endpoint;
    if (this.#closed) return;
    for (const sub of subs) {
      if (!this.#subs.has(sub)) continue;
      this.#resuming.add(sub);
      sub.sink.disconnected(err, stream.endpoint.address);
    }
    this.#scheduleResume();
  }

  idle(stream: WatchStream): void {
    this.#forget(stream);
  }

  #forget(stream: WatchStream): void {
    if (this.#streams.get(stream.endpoint) === stream) this.#streams.delete(stream.endpoint);
    if (this.#home === stream) this.#home = undefined;
  }

  /** The stream new and resuming watches join, opened on a freshly picked endpoint when there is none. */
  #homeStream(): WatchStream {
    if (this.#home !== undefined && !this.#home.done) return this.#home;
    const ep = this.rpc.pool.pick(this.#avoid);
    let s = this.#streams.get(ep);
    if (s === undefined || s.done) {
      s = new WatchStream(ep, this.rpc, this, IDLE_MS);
      this.#streams.set(ep, s);
    }
    this.#home = s;
    return s;
  }

  #scheduleResume(): void {
    if (this.#resumeTimer !== undefined || this.#resuming.size === 0) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.#failures, 6));
    this.#failures += 1;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = undefined;
      if (this.#closed) return;
      if (this.rpc.isClosed) return this.close();
      const subs = [...this.#resuming];
      this.#resuming.clear();
      const home = this.#homeStream();
      for (const sub of subs) home.add(sub);
    }, delay);
  }
}
