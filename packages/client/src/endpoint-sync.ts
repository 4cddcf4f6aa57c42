import { parseEndpoint } from './balancer/endpoint.js';
import type { CallOptions } from './call-options.js';
import { ClientClosedError } from './errors.js';
import { ClusterClient, isStarted, type Member } from './cluster.js';
import type { Rpc } from './rpc.js';

/**
 * The client URLs to use for `members`: those of started voting members
 * (learners serve no client requests). URLs of the scheme the client uses
 * (https when it connects with TLS) are preferred; unix sockets are left out.
 */
export function clientEndpointsOf(members: readonly Member[], secure: boolean): string[] {
  const urls = members.filter((m) => isStarted(m) && !m.isLearner).flatMap((m) => m.clientUrls);
  const network = urls.filter((u) => !/^unixs?:/i.test(u));
  const sameScheme = network.filter((u) => parseEndpoint(u).secure === secure);
  return sameScheme.length > 0 ? sameScheme : network;
}

/**
 * Keeps the client's endpoint list in step with the cluster's membership:
 * every `intervalMs` (and on syncNow()), MemberList's client URLs of the
 * started voting members replace the pool's endpoints (connections to
 * addresses that stay are kept). An empty result keeps the current list.
 *
 * Invariant: at most one MemberList of this sync is in flight; callers of
 * syncNow() during a sync share it.
 */
export class EndpointSync {
  private readonly cluster: ClusterClient;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly stop = new AbortController();
  private inFlight: Promise<string[]> | undefined;
  private closed = false;

  /** `intervalMs` ≤ 0: no periodic sync, only syncNow(). */
  constructor(private readonly rpc: Rpc, readonly intervalMs: number) {
    this.cluster = new ClusterClient(rpc);
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        // A failed sync is tried again at the next interval.
        this.syncNow().catch(() => undefined);
      }, intervalMs);
      this.timer.unref();
    }
  }

  /**
   * Syncs now. Resolves to the endpoint list in use afterwards; rejects with
   * the MemberList error (the list is then unchanged).
   */
  syncNow(opts?: CallOptions): Promise<string[]> {
    if (this.closed || this.rpc.isClosed) return Promise.reject(new ClientClosedError());
    if (this.inFlight) return this.inFlight;
    const run = this.sync(opts).finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private async sync(opts: CallOptions | undefined): Promise<string[]> {
    // Aborted by the caller's signal or by close().
    const caller = opts?.signal;
    const both = new AbortController();
    const onCaller = (): void => both.abort(caller?.reason);
    const onStop = (): void => both.abort(this.stop.signal.reason);
    if (caller?.aborted) onCaller();
    caller?.addEventListener('abort', onCaller, { once: true });
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const members = await this.cluster.memberList({ ...opts, signal: both.signal });
      if (this.closed) throw new ClientClosedError();
      const endpoints = clientEndpointsOf(members, this.rpc.pool.secure);
      if (endpoints.length > 0) this.rpc.pool.setEndpoints(endpoints);
      return this.rpc.pool.addresses;
    } finally {
      caller?.removeEventListener('abort', onCaller);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Stops syncing (an in-flight sync is aborted and changes nothing). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stop.abort();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
