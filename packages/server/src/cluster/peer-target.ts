/**
 * The gRPC target and channel credentials of a peer URL. Peer URLs are etcd's
 * (--initial-advertise-peer-urls): http://host:port, or https://host:port when
 * TLS credentials are configured.
 */
import { credentials as grpcCredentials } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { PeerInvalidUrlError } from './peer-errors.js';

export interface PeerTarget {
  /** host:port (the scheme's default port when the URL has none), IPv6 hosts in brackets. */
  readonly target: string;
  readonly credentials: ChannelCredentials;
}

export function peerTarget(url: string, tls?: ChannelCredentials): PeerTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PeerInvalidUrlError(url, 'not a URL');
  }
  if (u.pathname !== '/' && u.pathname !== '') throw new PeerInvalidUrlError(url, 'a peer URL has no path');
  if (u.protocol === 'http:') {
    return { target: `${u.hostname}:${u.port === '' ? '80' : u.port}`, credentials: grpcCredentials.createInsecure() };
  }
  if (u.protocol === 'https:') {
    if (tls === undefined) throw new PeerInvalidUrlError(url, 'https needs TLS credentials');
    return { target: `${u.hostname}:${u.port === '' ? '443' : u.port}`, credentials: tls };
  }
  throw new PeerInvalidUrlError(url, `unsupported scheme ${u.protocol}`);
}
