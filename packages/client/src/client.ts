import { EndpointPool } from './balancer/endpoint-pool.js';
import type { KeepaliveOptions, TlsOptions } from './balancer/endpoint.js';
import { AuthClient } from './auth.js';
import { ClusterClient } from './cluster.js';
import { toBuffer, type Bytes } from './codec.js';
import { EndpointSync } from './endpoint-sync.js';
import { KV } from './kv.js';
import { KVView } from './kv-view.js';
import { RpcKVTransport } from './kv-transport.js';
import { LeaseClient } from './lease/index.js';
import { MaintenanceClient } from './maintenance.js';
import { Namespace } from './namespace.js';
import { Rpc } from './rpc.js';
import { Watch } from './watch/index.js';
import type { RetryPolicy } from './retry.js';
import { TokenSource, type Credentials } from './token-source.js';

export interface ClientOptions {
  /** "host:port", "http://host:port" or "https://host:port" (https turns TLS on). */
  readonly endpoints: readonly string[] | string;
  /** TLS material; also turns TLS on for plain host:port endpoints. */
  readonly tls?: TlsOptions;
  /** Authenticate as this user; the token is refreshed whenever the server refuses it. */
  readonly credentials?: Credentials;
  /** gRPC keepalive pings. */
  readonly keepalive?: KeepaliveOptions;
  /** Default overall deadline of a unary call, retries included. Default 10 s. */
  readonly callTimeoutMs?: number;
  /** Longest wait for one endpoint's connection before the next is tried. Default 2 s. */
  readonly dialTimeoutMs?: number;
  /** Backoff of retried calls. */
  readonly retry?: RetryPolicy;
  /** Streams (watch, lease keep-alive) only on members that have a leader. Default true. */
  readonly requireLeader?: boolean;
  /** Refresh the endpoint list from MemberList this often (ms). Default 0: never. */
  readonly autoSyncIntervalMs?: number;
  /** Probe unhealthy endpoints this often (ms). Default 1 s. */
  readonly healthCheckIntervalMs?: number;
  /** Largest message sent or received. Default 64 MiB. */
  readonly maxMessageBytes?: number;
}

/**
 * A client for etcd v3 (real etcd or etcd-ts): KV, Watch, Lease, Cluster,
 * Maintenance and Auth over one balanced set of endpoints.
 *
 * ```ts
 * await using client = new Client({ endpoints: ['127.0.0.1:2379'] });
 * await client.put('greeting', 'hello');
 * const value = await client.get('greeting').string();
 * ```
 */
export class Client extends KVView implements AsyncDisposable {
  readonly pool: EndpointPool;
  readonly rpc: Rpc;
  readonly kv: KV;
  /** Watches, multiplexed on one stream per connection. */
  readonly watcher: Watch;
  protected get watchView(): Watch {
    return this.watcher;
  }
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
  readonly auth: AuthClient;
  private readonly sync: EndpointSync | undefined;
  private closing: Promise<void> | undefined;

  constructor(readonly options: ClientOptions) {
    super();
    const endpoints = typeof options.endpoints === 'string' ? options.endpoints.split(',') : options.endpoints;
    this.pool = new EndpointPool(endpoints, {
      tls: options.tls,
      keepalive: options.keepalive,
      maxMessageBytes: options.maxMessageBytes ?? 64 * 1024 * 1024,
      healthCheckIntervalMs: options.healthCheckIntervalMs,
    });
    this.rpc = new Rpc(
      this.pool,
      {
        callTimeoutMs: options.callTimeoutMs ?? 10_000,
        dialTimeoutMs: options.dialTimeoutMs ?? 2_000,
        retry: options.retry ?? {},
        requireLeader: options.requireLeader ?? true,
      },
      options.credentials ? new TokenSource(options.credentials) : undefined,
    );
    this.kv = new KV(new RpcKVTransport(this.rpc));
    this.watcher = new Watch(this.rpc);
    this.lease = new LeaseClient(this.rpc);
    this.cluster = new ClusterClient(this.rpc);
    this.maintenance = new MaintenanceClient(this.rpc);
    this.auth = new AuthClient(this.rpc);
    this.sync = options.autoSyncIntervalMs ? new EndpointSync(this.rpc, options.autoSyncIntervalMs) : undefined;
  }

  /** A view of the client in which every key lives under prefix. */
  namespace(prefix: Bytes): Namespace {
    return new Namespace(this.kv.transport, this.watcher, toBuffer(prefix));
  }

  /** Current endpoint addresses (they change with auto-sync). */
  get endpoints(): string[] {
    return this.pool.addresses;
  }

  /** Stops streams and timers and closes every connection. Leases are not revoked. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.sync?.close();
      await Promise.allSettled([this.watcher.close(), this.lease.close()]);
      this.rpc.close();
      this.pool.close();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
