import type { Client } from '@etcd-ts/client';
import { decodeInstance, ServiceDiscovery } from './service-registry-discovery.js';
import { Registration } from './service-registry-registration.js';
import { checkSegment, type DiscoveredInstance, type RegisterOptions, type ServiceInstance } from './service-registry-types.js';

export { ServiceDiscovery, type DiscoveryEvents } from './service-registry-discovery.js';
export { Registration, type RegistrationEvents } from './service-registry-registration.js';
export type { DiscoveredInstance, PickStrategy, RegisterOptions, ServiceInstance } from './service-registry-types.js';

/**
 * Service registration and discovery.
 *
 * Layout: `<prefix>/<service>/<instance id>` → JSON `{ id, address, meta? }`,
 * attached to the registering process's session lease: the key goes away
 * when the process dies or is cut off for longer than the TTL, and comes
 * back under a new lease if the process is still running (re-registration).
 *
 * ```ts
 * const registry = new ServiceRegistry(client);
 * const reg = await registry.register('api', { id: 'api-1', address: '10.0.0.5:8080' }, { ttl: 10 });
 * const api = registry.discover('api');
 * await api.ready;
 * const target = api.pick('round-robin');
 * ```
 */
export class ServiceRegistry {
  /** Default key prefix. */
  static readonly DEFAULT_PREFIX = 'services';

  constructor(
    private readonly client: Client,
    readonly prefix: string = ServiceRegistry.DEFAULT_PREFIX,
  ) {}

  /** `<prefix>/<service>/`: every instance of the service. */
  serviceKey(service: string): string {
    checkSegment('service name', service);
    return `${this.prefix}/${service}/`;
  }

  /**
   * Registers the instance and keeps it registered until deregister():
   * resolves once the key is written. The lease is kept alive in the
   * background, and a lost lease leads to a new one and the key written
   * again.
   */
  async register(service: string, instance: ServiceInstance, opts: RegisterOptions = {}): Promise<Registration> {
    checkSegment('instance id', instance.id);
    const reg = new Registration(this.client, service, `${this.serviceKey(service)}${instance.id}`, instance, opts);
    try {
      await reg.ready;
    } catch (err) {
      await reg.deregister();
      throw err;
    }
    return reg;
  }

  /** A live, self-updating list of the service's instances (see ServiceDiscovery). */
  discover(service: string): ServiceDiscovery {
    return new ServiceDiscovery(this.client, service, this.serviceKey(service));
  }

  /** The service's instances right now (one Range), sorted by ID; registrations that cannot be decoded are skipped. */
  async list(service: string, opts: { signal?: AbortSignal } = {}): Promise<DiscoveredInstance[]> {
    const keyPrefix = this.serviceKey(service);
    const r = await this.client.get(keyPrefix, { prefix: true, signal: opts.signal });
    const out: DiscoveredInstance[] = [];
    for (const kv of r.kvs) {
      try {
        out.push(decodeInstance(kv, keyPrefix));
      } catch {
        // not a registration
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
