/** What an instance registers: its ID (unique within the service), where to reach it, and free-form metadata. */
export interface ServiceInstance {
  readonly id: string;
  readonly address: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** An instance as discovered: what it registered, plus where it lives in etcd. */
export interface DiscoveredInstance extends ServiceInstance {
  /** The registration's key (`<prefix>/<service>/<id>`). */
  readonly key: string;
  /** Lease the registration is attached to. */
  readonly leaseId: bigint;
  /** Revision of the registration's last write. */
  readonly modRevision: number;
}

export interface RegisterOptions {
  /** TTL of the registration's lease in seconds (keep-alives every TTL/3). Default 10. */
  readonly ttl?: number;
  /** Deregisters when aborted. */
  readonly signal?: AbortSignal;
  /** Pause before registering again after a failure, ms (doubling up to 10 × this). Default 500. */
  readonly retryDelayMs?: number;
}

/** Instance-picking strategies of ServiceDiscovery.pick(). */
export type PickStrategy = 'round-robin' | 'random';

/** Service names and instance IDs become key segments: no '/' and not empty. */
export function checkSegment(what: string, s: string): void {
  if (s.length === 0 || s.includes('/')) throw new RangeError(`${what} must be non-empty and contain no '/': ${JSON.stringify(s)}`);
}
