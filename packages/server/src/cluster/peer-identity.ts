/**
 * Who is calling whom: the request metadata every Stream and SendSnapshot call
 * carries (etcd's X-Server-From / X-Etcd-Cluster-ID / X-Raft-To / X-PeerURLs
 * headers). IDs are 16 lowercase hex digits.
 */
import { Metadata } from '@grpc/grpc-js';
import { PeerBadRequestError } from './peer-errors.js';

export const MEMBER_ID_KEY = 'etcdts-member-id';
export const CLUSTER_ID_KEY = 'etcdts-cluster-id';
export const TO_KEY = 'etcdts-to';
export const PEER_URLS_KEY = 'etcdts-peer-urls';

export interface PeerIdentity {
  /** The calling member. Never 0n. */
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** The member the caller means to reach. Never 0n. */
  readonly to: bigint;
  /** The caller's advertised peer URLs; may be empty. */
  readonly peerUrls: readonly string[];
}

const formatHexId = (id: bigint): string => id.toString(16).padStart(16, '0');

export function identityMetadata(id: PeerIdentity): Metadata {
  const md = new Metadata();
  md.set(MEMBER_ID_KEY, formatHexId(id.memberId));
  md.set(CLUSTER_ID_KEY, formatHexId(id.clusterId));
  md.set(TO_KEY, formatHexId(id.to));
  if (id.peerUrls.length > 0) md.set(PEER_URLS_KEY, id.peerUrls.join(','));
  return md;
}

function hexId(md: Metadata, key: string, allowZero: boolean): bigint {
  const values = md.get(key);
  const v = values.length === 1 ? values[0] : undefined;
  if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/i.test(v)) {
    throw new PeerBadRequestError(`missing or malformed ${key} metadata`);
  }
  const id = BigInt(`0x${v}`);
  if (id === 0n && !allowZero) throw new PeerBadRequestError(`${key} must not be 0`);
  return id;
}

/** Throws PeerBadRequestError when a field is missing or malformed. */
export function parseIdentity(md: Metadata): PeerIdentity {
  const urls = md.get(PEER_URLS_KEY)[0];
  return {
    memberId: hexId(md, MEMBER_ID_KEY, false),
    clusterId: hexId(md, CLUSTER_ID_KEY, true),
    to: hexId(md, TO_KEY, false),
    peerUrls: typeof urls === 'string' && urls !== '' ? urls.split(',') : [],
  };
}
