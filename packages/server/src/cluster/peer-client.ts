/**
 * A gRPC client of one peer URL. Each client has its own subchannel pool, so
 * closing one transport never affects another in the same process, and its
 * connection backoff follows the transport's dial backoff rather than gRPC's
 * default (up to 120 s), so a restarted peer is reached again promptly.
 */
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { PeerService } from '@etcd-ts/api';
import type { PeerClient, PeerClientConstructor } from '@etcd-ts/api';
import { peerTarget } from './peer-target.js';

const PeerClientCtor = makeGenericClientConstructor(PeerService, 'Peer') as unknown as PeerClientConstructor;

export interface PeerClientOptions {
  readonly tls?: ChannelCredentials;
  readonly keepAliveMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

/** Throws PeerInvalidUrlError for a URL that is not http(s)://host:port. */
export function createPeerClient(url: string, opts: PeerClientOptions): PeerClient {
  const { target, credentials } = peerTarget(url, opts.tls);
  return new PeerClientCtor(target, credentials, {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
    'grpc.keepalive_time_ms': opts.keepAliveMs,
    'grpc.keepalive_timeout_ms': opts.keepAliveTimeoutMs,
    'grpc.initial_reconnect_backoff_ms': opts.backoffMinMs,
    'grpc.max_reconnect_backoff_ms': opts.backoffMaxMs,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.max_send_message_length': -1,
  });
}
