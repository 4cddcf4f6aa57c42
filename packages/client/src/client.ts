import { EndpointPool } from './balancer/endpoint-pool.js';
import type { KeepaliveOptions, TlsOptions } from './balancer/endpoint.js';
import { Rpc } from './rpc.js';
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
