import { Endpoint, parseEndpoint, type KeepaliveOptions, type TlsOptions } from './endpoint.js';

export interface EndpointPoolOptions {
  readonly tls?: TlsOptions | undefined;
  readonly keepalive?: KeepaliveOptions | undefined;
  readonly maxMessageBytes: number;
  /** How often unhealthy endpoints are probed (Maintenance.Status). Default 1 s; 0 disables probing. */
  readonly healthCheckIntervalMs?: number | undefined;
}

/**
 * The client's endpoints and round-robin balancing over the healthy ones.
 *
 * Invariants: `endpoints` holds one Endpoint per distinct address; pick()
 * never returns a closed endpoint; when every endpoint is marked unhealthy,
 * pick() still returns the one whose skip period ends first (a call must go
 * somewhere, and the mark may be stale).
 */
export class EndpointPool {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Whether the addresses given were https:// (TLS then applies to all). */
  readonly secure: boolean;

  constructor(addresses: readonly string[], private readonly opts: EndpointPoolOptions) {
    if (addresses.length === 0) throw new TypeError('etcd client: at least one endpoint is required');
    this.secure = addresses.some((a) => parseEndpoint(a).secure);
    this.setEndpoints(addresses);
    const every = opts.healthCheckIntervalMs ?? 1_000;
    if (every > 0) {
      this.probeTimer = setInterval(() => this.probeUnhealthy(), every);
      this.probeTimer.unref();
    }
  }

  /** Current addresses, in order. */
  get addresses(): string[] {
    return this.endpoints.map((e) => e.address);
  }

  /** Current endpoints (a copy). */
  list(): Endpoint[] {
    return [...this.endpoints];
  }

  /**
   * Replaces the endpoint list, keeping the connections of addresses that stay
   * and closing those of addresses that go.
   */
  setEndpoints(raw: readonly string[]): void {
    if (this.closed) return;
    const wanted = [...new Set(raw.map((r) => parseEndpoint(r).address))].filter((a) => a !== '');
    if (wanted.length === 0) return;
    const keep = new Map(this.endpoints.map((e) => [e.address, e]));
    const tls = this.opts.tls ?? (this.secure ? {} : undefined);
    this.endpoints = wanted.map(
      (a) => keep.get(a) ?? new Endpoint(a, tls, this.opts.keepalive, this.opts.maxMessageBytes),
    );
    for (const [address, e] of keep) if (!wanted.includes(address)) e.close();
  }

  /**
   * The next endpoint in round-robin order among the healthy ones, avoiding
   * `avoid` when another is available.
   */
  pick(avoid?: Endpoint): Endpoint {
    const n = this.endpoints.length;
    for (const skipAvoided of [true, false]) {
      for (let i = 0; i < n; i++) {
        const e = this.endpoints[(this.next + i) % n];
        if (e === undefined || !e.healthy || (skipAvoided && e === avoid && n > 1)) continue;
        this.next = (this.next + i + 1) % n;
        return e;
      }
    }
    // All unhealthy: the one whose skip period ends first.
    let best = this.endpoints[0] as Endpoint;
    for (const e of this.endpoints) if (e.unhealthyUntil < best.unhealthyUntil && e !== avoid) best = e;
    return best;
  }

  /** Probes endpoints marked unhealthy with a short Status call; a success clears the mark. */
  private probeUnhealthy(): void {
    for (const e of this.endpoints) {
      if (e.failures === 0) continue;
      e.maintenance.status({}, { deadline: Date.now() + 1_000 }, (err) => {
        if (!err) e.markHealthy();
      });
    }
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const e of this.endpoints) e.close();
  }
}
