/**
 * The peer gRPC server on one --listen-peer-urls address. Limits follow
 * etcd's peer listener: a raft message may be large (etcd's decoder accepts
 * up to 512 MiB), and HTTP/2 keepalive detects silently dead peers.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerCredentials as ServerCredentialsType } from '@grpc/grpc-js';
import { PeerService } from '@etcd-ts/api';
import type { PeerServer } from '@etcd-ts/api';

export const DEFAULT_PEER_MAX_RECEIVE_BYTES = 512 * 1024 * 1024;

export interface StartPeerServerOptions {
  /** Host to bind, e.g. '127.0.0.1' or '::'. */
  readonly host: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** The Peer service implementation (createPeerService). */
  readonly service: PeerServer;
  /** Insecure unless given. */
  readonly credentials?: ServerCredentialsType;
  /** Largest frame accepted; default 512 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** HTTP/2 keepalive ping interval towards callers; default 5000. */
  readonly keepAliveMs?: number;
  readonly keepAliveTimeoutMs?: number;
}

export interface PeerServerHandle {
  readonly host: string;
  /** The bound port. */
  readonly port: number;
  /** http://host:port (IPv6 hosts in brackets). */
  readonly url: string;
  readonly server: Server;
  /** Stops listening and ends every call at once (peers see their streams break and redial). */
  close(): Promise<void>;
}

export async function startPeerServer(opts: StartPeerServerOptions): Promise<PeerServerHandle> {
  const server = new Server({
    'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? DEFAULT_PEER_MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': opts.keepAliveMs ?? 5000,
    'grpc.keepalive_timeout_ms': opts.keepAliveTimeoutMs ?? 5000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 1000,
  });
  server.addService(PeerService, opts.service);
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, opts.credentials ?? ServerCredentials.createInsecure(), (err, bound) => {
      if (err !== null) reject(err);
      else resolve(bound);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    url: `${opts.credentials === undefined ? 'http' : 'https'}://${host}:${port}`,
    server,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      });
      return closed;
    },
  };
}
