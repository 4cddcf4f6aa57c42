/**
 * Converts errors of the inner layers (mvcc, raft) into the shared etcd error
 * table, so that every error leaving the server layer is an EtcdError or a bug.
 */
import { EtcdError, etcdError } from '@etcd-ts/api';
import { ErrCompacted, ErrFutureRev } from '../mvcc/mvcc-error.js';
import { ErrProposalDropped } from '../raft/errors.js';
import { LessorError } from '../lease/lessor.js';
import { MembershipError, type MembershipErrorCode } from '../cluster/raft-cluster.js';
import type { EtcdErrorCode } from '@etcd-ts/api';

/** etcd's mapping of membership errors to client errors (v3rpc togRPCError). */
const MEMBERSHIP: Record<MembershipErrorCode, EtcdErrorCode> = {
  ID_REMOVED: 'MEMBER_NOT_FOUND',
  ID_NOT_FOUND: 'MEMBER_NOT_FOUND',
  ID_EXISTS: 'MEMBER_EXISTS',
  PEER_URL_EXISTS: 'PEER_URL_EXISTS',
  MEMBER_NOT_LEARNER: 'MEMBER_NOT_LEARNER',
  TOO_MANY_LEARNERS: 'TOO_MANY_LEARNERS',
};

export function toEtcdError(err: unknown): unknown {
  if (err instanceof EtcdError) return err;
  if (err instanceof ErrCompacted) return etcdError('COMPACTED');
  if (err instanceof ErrFutureRev) return etcdError('FUTURE_REV');
  if (err instanceof ErrProposalDropped) return etcdError('NO_LEADER');
  if (err instanceof MembershipError) return etcdError(MEMBERSHIP[err.code]);
  if (err instanceof LessorError) {
    if (err.code === 'NOT_PRIMARY') return etcdError('NO_LEADER');
    if (err.code === 'LEASE_EXPIRED') return etcdError('LEASE_NOT_FOUND');
    return etcdError(err.code);
  }
  return err;
}
