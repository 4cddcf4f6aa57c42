/**
 * Encodes a proposal, an etcdserverpb.InternalRaftRequest carrying one request
 * and the header with its ID, directly from the request's encoded bytes: the
 * envelope has dozens of optional fields, and sizing it generically costs more
 * than the request itself on the write path. Field numbers are etcd's.
 */
import { Writer } from '@etcd-ts/api';

export const ProposalField = {
  v2: 2,
  put: 4,
  deleteRange: 5,
  txn: 6,
  compaction: 7,
  leaseGrant: 8,
  leaseRevoke: 9,
} as const;
export type ProposalKind = keyof typeof ProposalField;

const HEADER_FIELD = 100;
const LENGTH_DELIMITED = 2;
const VARINT = 0;

export function encodeProposal(id: bigint, kind: ProposalKind, body: Uint8Array): Buffer {
  const header = new Writer(16);
  header.tag(1, VARINT);
  header.uint64Big(id);
  const h = header.finish();
  const w = new Writer(body.length + h.length + 16);
  w.tag(ProposalField[kind], LENGTH_DELIMITED);
  w.bytes(body);
  w.tag(HEADER_FIELD, LENGTH_DELIMITED);
  w.bytes(h);
  return w.finish();
}
