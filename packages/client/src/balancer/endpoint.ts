import * as grpc from '@grpc/grpc-js';
import {
  AuthService,
  ClusterService,
  KVService,
  LeaseService,
  MaintenanceService,
  WatchService,
  type AuthClient,
  type AuthClientConstructor,
  type ClusterClient,
  type ClusterClientConstructor,
  type KVClient,
  type KVClientConstructor,
  type LeaseClient,
  type LeaseClientConstructor,
  type MaintenanceClient,
  type MaintenanceClientConstructor,
  type WatchClient,
  type WatchClientConstructor,
} from '@etcd-ts/api';

const KV = grpc.makeGenericClientConstructor(KVService, 'KV') as unknown as KVClientConstructor;
const Watch = grpc.makeGenericClientConstructor(WatchService, 'Watch') as unknown as WatchClientConstructor;
const Lease = grpc.makeGenericClientConstructor(LeaseService, 'Lease') as unknown as LeaseClientConstructor;
const Cluster = grpc.makeGenericClientConstructor(ClusterService, 'Cluster') as unknown as ClusterClientConstructor;
const Maintenance = grpc.makeGenericClientConstructor(
  MaintenanceService,
  'Maintenance',
) as unknown as MaintenanceClientConstructor;
const Auth = grpc.makeGenericClientConstructor(AuthService, 'Auth') as unknown as AuthClientConstructor;

/** TLS material for https endpoints (PEM). */
export interface TlsOptions {
  readonly ca?: Buffer | string;
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
  /** Name to verify the server certificate against, when it differs from the endpoint host. */
  readonly serverName?: string;
}

/** gRPC keepalive pings on idle connections (grpc-js channel options). */
export interface KeepaliveOptions {
  /** Ping after this long without activity. Default 30 s. */
  readonly timeMs?: number;
  /** Consider the connection dead if a ping is not answered within this. Default 10 s. */
  readonly timeoutMs?: number;
  /** Ping even with no call in progress. Default false. */
  readonly permitWithoutCalls?: boolean;
}

const asBuffer = (v: Buffer | string | undefined): Buffer | null =>
  v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;

/** "host:port" from "host:port", "http://host:port" or "https://host:port/". */
export function parseEndpoint(raw: string): { address: string; secure: boolean } {
  const m = /^(https?|unixs?):\/\/(.*?)\/?$/.exec(raw.trim());
  if (!m) return { address: raw.trim(), secure: false };
  return { address: m[2] ?? '', secure: m[1] === 'https' || m[1] === 'unixs' };
}

/**
 * One member's address and its single gRPC channel; every service client of
 * the endpoint shares that channel (one HTTP/2 connection per endpoint).
 */
export class Endpoint {
  readonly channel: grpc.Channel;
  readonly kv: KVClient;
  readonly watch: WatchClient;
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
  readonly auth: AuthClient;
  /**
   * Epoch ms before which balancing skips this endpoint (0: healthy). Set when
   * a call to it fails for the connection; cleared by a successful call or probe.
   */
  unhealthyUntil = 0;
  /** Consecutive connection failures (drives the skip period's backoff). */
  failures = 0;

  constructor(
    readonly address: string,
    tls: TlsOptions | undefined,
    keepalive: KeepaliveOptions | undefined,
    maxMessageBytes: number,
  ) {
    const creds = tls
      ? grpc.credentials.createSsl(asBuffer(tls.ca), asBuffer(tls.key), asBuffer(tls.cert))
      : grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = {
      // Each client owns its connections: closing or breaking one client never affects another.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.keepalive_time_ms': keepalive?.timeMs ?? 30_000,
      'grpc.keepalive_timeout_ms': keepalive?.timeoutMs ?? 10_000,
      'grpc.keepalive_permit_without_calls': keepalive?.permitWithoutCalls ? 1 : 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
      ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
    };
    this.channel = new grpc.Channel(address, creds, options);
    const shared = { channelOverride: this.channel } as Partial<grpc.ChannelOptions>;
    this.kv = new KV(address, creds, shared);
    this.watch = new Watch(address, creds, shared);
    this.lease = new Lease(address, creds, shared);
    this.cluster = new Cluster(address, creds, shared);
    this.maintenance = new Maintenance(address, creds, shared);
    this.auth = new Auth(address, creds, shared);
  }

  /** Whether the channel has a connection up right now (no wait). */
  get ready(): boolean {
    return this.channel.getConnectivityState(false) === grpc.connectivityState.READY;
  }

  get healthy(): boolean {
    return this.unhealthyUntil <= Date.now();
  }

  /**
   * Resolves true once the channel is READY, false if it fails to connect
   * (TRANSIENT_FAILURE / SHUTDOWN) or the deadline passes first.
   */
  waitReady(deadline: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (signal?.aborted) return resolve(false);
        const state = this.channel.getConnectivityState(true);
        if (state === grpc.connectivityState.READY) return resolve(true);
        // grpc-js keeps a channel in TRANSIENT_FAILURE while it retries the connection in the background.
        if (state === grpc.connectivityState.SHUTDOWN || state === grpc.connectivityState.TRANSIENT_FAILURE) {
          return resolve(false);
        }
        if (Date.now() >= deadline) return resolve(false);
        this.channel.watchConnectivityState(state, Math.min(deadline, Date.now() + 1_000), () => check());
      };
      check();
    });
  }

  /** Records a connection failure: skipped by balancing for a backoff period (250 ms doubling to 5 s). */
  markUnhealthy(): void {
    this.failures += 1;
    this.unhealthyUntil = Date.now() + Math.min(5_000, 250 * 2 ** Math.min(this.failures - 1, 5));
  }

  markHealthy(): void {
    this.failures = 0;
    this.unhealthyUntil = 0;
  }

  close(): void {
    this.channel.close();
  }
}
