import type * as grpc from '@grpc/grpc-js';
import { EtcdErrors, etcdErrorCodeOf, GrpcCode, type etcdserverpb } from '@etcd-ts/api';
import type { Endpoint } from '../balancer/endpoint.js';
import { EtcdError, fromStatus, TransportError } from '../errors.js';
import type { Rpc } from '../rpc.js';
import { cancelReasonMessage, type SubscriptionStream, type WatchSubscription } from './watch-subscription.js';

/** etcd's watch ID of responses that belong to no watch (progress broadcast, refused create). */
const INVALID_WATCH_ID = -1;

/** What a stream tells the WatchMux that owns it. */
export interface WatchStreamHooks {
  /** A watch was created: the endpoint works (resets the reconnect backoff). */
  created(stream: WatchStream): void;
  /** The stream broke; `subs` were on it and must be re-created elsewhere. */
  broken(stream: WatchStream, subs: WatchSubscription[], err: Error): void;
  /** The stream had no watch for `idleMs` and closed itself. */
  idle(stream: WatchStream): void;
}

type State = 'opening' | 'open' | 'done';

/**
 * One Watch bidi stream to one endpoint, multiplexing many watches.
 *
 * Creates are serialized as etcd 3.4's clients do: only the head of
 * `creating` has been sent, and the next `created` response answers it (etcd
 * 3.4 assigns watch IDs itself and answers creates in order). Cancels use
 * cancel_request. Responses marked `fragment` are reassembled per watch ID
 * before delivery.
 *
 * Invariants: a subscription is in at most one of `byId` and `creating`, and
 * then its `stream` is this; once `state` is 'done' both are empty and no
 * request is written.
 */
export class WatchStream implements SubscriptionStream {
  #state: State = 'opening';
  #call: grpc.ClientDuplexStream<etcdserverpb.WatchRequestInit, etcdserverpb.WatchResponse> | undefined;
  #md: grpc.Metadata | undefined;
  /** Watches the server confirmed, by the ID it assigned. */
  readonly #byId = new Map<number, WatchSubscription>();
  /**
   * Creates not yet answered, in order. Only the head may have been sent
   * (`#headSent`). An entry is undefined when its subscription left while its
   * create was in flight: the ID it gets is canceled on arrival.
   */
  readonly #creating: (WatchSubscription | undefined)[] = [];
  #headSent = false;
  /** IDs canceled by this side whose remaining responses are ignored until the server confirms the cancel. */
  readonly #canceling = new Set<number>();
  /** Responses marked `fragment` so far, by watch ID: the first one, with every later fragment's events appended. */
  readonly #fragments = new Map<number, etcdserverpb.WatchResponse>();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly rpc: Rpc,
    private readonly hooks: WatchStreamHooks,
    private readonly idleMs: number,
  ) {
    void this.#open();
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Queues the create of `sub` (sent once every earlier create was answered). */
  add(sub: WatchSubscription): void {
    if (this.#state === 'done') throw new Error('watch stream is closed');
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    sub.stream = this;
    sub.watchId = undefined;
    this.#creating.push(sub);
    this.#sendNextCreate();
  }

  /** Takes `sub` off this stream, canceling it on the server if it was created. */
  remove(sub: WatchSubscription): void {
    if (sub.stream !== this) return;
    sub.stream = undefined;
    const id = sub.watchId;
    sub.watchId = undefined;
    if (id !== undefined && this.#byId.get(id) === sub) {
      this.#byId.delete(id);
      this.#fragments.delete(id);
      this.#cancel(id);
    } else {
      const i = this.#creating.indexOf(sub);
      if (i === 0 && this.#headSent) this.#creating[0] = undefined;
      else if (i >= 0) this.#creating.splice(i, 1);
    }
    this.#checkIdle();
  }

  /** Sends a progress_request; every established watch on this stream gets the answer. False when not open. */
  requestProgress(): boolean {
    return this.#write({ progressRequest: {} });
  }

  /** Closes the stream without reporting its watches (the owner moved or ended them). */
  close(): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#clear();
    this.#call?.cancel();
  }

  async #open(): Promise<void> {
    const ep = this.endpoint;
    try {
      const ready = await ep.waitReady(Date.now() + this.rpc.opts.dialTimeoutMs);
      if (this.done) return;
      if (!ready) {
        ep.markUnhealthy();
        throw new TransportError(GrpcCode.UNAVAILABLE, 'connection not ready', ep.address, false);
      }
      const md = await this.rpc.metadata(true);
      if (this.done) return;
      const call = ep.watch.watch(md);
      this.#md = md;
      this.#call = call;
      this.#state = 'open';
      call.on('data', (res: etcdserverpb.WatchResponse) => this.#onResponse(res));
      // 'status' ends every call, after 'error' (which needs a listener but carries the same status).
      call.on('error', () => {});
      call.on('status', (st: grpc.StatusObject) =>
        this.#fail(
          st.code === GrpcCode.OK
            ? new TransportError(GrpcCode.UNAVAILABLE, 'watch stream ended by the server', ep.address, true)
            : fromStatus(st.code, st.details, ep.address, true),
        ),
      );
      this.#sendNextCreate();
    } catch (err) {
      this.#fail(err);
    }
  }

  #onResponse(res: etcdserverpb.WatchResponse): void {
    if (this.#state !== 'open') return;
    if (res.created) return this.#onCreated(res);
    const id = res.watchId;
    if (id === INVALID_WATCH_ID) {
      // The answer to a progress_request, for every watch of the stream.
      const revision = res.header?.revision ?? 0;
      for (const sub of [...this.#byId.values()]) sub.onBroadcastProgress(revision);
      return;
    }
    const sub = this.#byId.get(id);
    if (sub === undefined) {
      if (res.canceled) this.#canceling.delete(id);
      else if (!this.#canceling.has(id)) this.#cancel(id); // a watch this side does not know: stop it
      return;
    }
    if (res.fragment) {
      const first = this.#fragments.get(id);
      if (first === undefined) this.#fragments.set(id, res);
      else for (const e of res.events) first.events.push(e);
      return;
    }
    const first = this.#fragments.get(id);
    if (first !== undefined) {
      this.#fragments.delete(id);
      for (const e of res.events) first.events.push(e);
      res = { ...res, events: first.events };
    }
    if (res.canceled) {
      this.#byId.delete(id);
      sub.stream = undefined;
      sub.watchId = undefined;
      sub.onCanceled(res);
      this.#checkIdle();
      return;
    }
    sub.onResponse(res);
  }

  /** The answer to the create at the head of `creating`. */
  #onCreated(res: etcdserverpb.WatchResponse): void {
    const sub = this.#creating.shift();
    this.#headSent = false;
    if (res.canceled) {
      // The create was refused (watch ID -1).
      const code = etcdErrorCodeOf(cancelReasonMessage(res.cancelReason));
      if (code !== undefined && EtcdErrors[code].reauth) {
        // The token expired or the auth store changed: new stream, new token (etcd's clients do the same).
        if (sub !== undefined) this.#creating.unshift(sub);
        this.#fail(new EtcdError(code)); // drops the token
        return;
      }
      if (sub !== undefined) {
        sub.stream = undefined;
        sub.onCanceled(res);
      }
    } else if (sub === undefined) {
      this.#cancel(res.watchId); // its watcher left while the create was in flight
    } else {
      this.#byId.set(res.watchId, sub);
      sub.watchId = res.watchId;
      this.endpoint.markHealthy();
      this.hooks.created(this);
      sub.onCreated(res.header?.revision ?? 0, this.endpoint.address);
    }
    this.#sendNextCreate();
    this.#checkIdle();
  }

  #sendNextCreate(): void {
    if (this.#state !== 'open' || this.#headSent) return;
    while (this.#creating.length > 0 && this.#creating[0] === undefined) this.#creating.shift();
    const head = this.#creating[0];
    if (head === undefined) return;
    this.#headSent = this.#write({ createRequest: head.createRequest() });
  }

  #cancel(id: number): void {
    if (this.#write({ cancelRequest: { watchId: id } })) this.#canceling.add(id);
  }

  #write(req: etcdserverpb.WatchRequestInit): boolean {
    if (this.#state !== 'open' || this.#call === undefined) return false;
    this.#call.write(req);
    return true;
  }

  /** Starts the idle countdown once the stream carries no watch. */
  #checkIdle(): void {
    if (this.#state === 'done' || this.#idleTimer !== undefined || this.#byId.size > 0 || this.#creating.length > 0) {
      return;
    }
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#byId.size > 0 || this.#creating.length > 0) return;
      this.close();
      this.hooks.idle(this);
    }, this.idleMs);
    this.#idleTimer.unref();
  }

  /** The stream broke: hand every watch on it back to the owner. */
  #fail(cause: unknown): void {
    if (this.#state === 'done') return;
    const err = cause instanceof Error ? cause : new Error(String(cause));
    // Balancing skips a member that cannot be reached or has no leader, for a while.
    if ((err instanceof TransportError && err.transient) || (err instanceof EtcdError && err.code === 'NO_LEADER')) {
      this.endpoint.markUnhealthy();
    }
    if (err instanceof EtcdError && err.reauth && this.#md) this.rpc.invalidateToken(this.#md);
    const subs = [...this.#byId.values(), ...this.#creating.filter((s): s is WatchSubscription => s !== undefined)];
    for (const s of subs) {
      s.stream = undefined;
      s.watchId = undefined;
    }
    this.close();
    this.hooks.broken(this, subs, err);
  }

  #clear(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#byId.clear();
    this.#creating.length = 0;
    this.#headSent = false;
    this.#canceling.clear();
    this.#fragments.clear();
  }
}
