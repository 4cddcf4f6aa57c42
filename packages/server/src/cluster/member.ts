/**
 * Cluster members and the deterministic IDs etcd derives for them: a member's ID is
 * the first 8 bytes (big-endian) of SHA-1 over its sorted peer URLs and the cluster
 * token (plus the Unix time in seconds for members added at run time); the cluster
 * ID is the first 8 bytes of SHA-1 over the sorted member IDs. The same flags give
 * the same IDs as etcd 3.4.
 */
import { createHash } from 'node:crypto';

export interface Member {
  readonly id: bigint;
  /** Empty until the member has started and published its attributes. */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

export function computeMemberId(peerURLs: readonly string[], clusterToken: string, addedAtUnixSeconds?: number): bigint {
  const parts = [...peerURLs].sort();
  let s = parts.join('') + clusterToken;
  if (addedAtUnixSeconds !== undefined) s += String(addedAtUnixSeconds);
  return createHash('sha1').update(s, 'utf8').digest().readBigUInt64BE(0);
}

export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** A member as stored in the backend's members bucket (key: the ID in 16 hex digits). */
interface StoredMember {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

export function memberKey(id: bigint): Buffer {
  return Buffer.from(id.toString(16).padStart(16, '0'));
}

export function encodeMember(m: Member): Buffer {
  const stored: StoredMember = { ...m, id: m.id.toString(16) };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeMember(b: Uint8Array): Member {
  const s = JSON.parse(Buffer.from(b).toString('utf8')) as StoredMember;
  return { id: BigInt(`0x${s.id}`), name: s.name, peerURLs: s.peerURLs, clientURLs: s.clientURLs, isLearner: s.isLearner };
}
