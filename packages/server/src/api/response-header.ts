/**
 * Fills the member fields of a response header, as etcd's header filler does:
 * cluster and member ID, raft term, and the store's revision when the handler
 * did not set one.
 */
import type { etcdserverpb } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';

export function responseHeader(s: EtcdServer, revision?: number): etcdserverpb.ResponseHeaderInit {
  return {
    clusterId: s.clusterId,
    memberId: s.memberId,
    revision: revision !== undefined && revision !== 0 ? revision : s.kv.currentRev,
    raftTerm: s.term,
  };
}

/** Returns resp with its header completed. */
export function withHeader<T extends { header?: etcdserverpb.ResponseHeaderInit | unknown }>(s: EtcdServer, resp: T): T {
  const h = resp.header as etcdserverpb.ResponseHeaderInit | undefined;
  const rev = typeof h?.revision === 'number' ? h.revision : undefined;
  return { ...resp, header: responseHeader(s, rev) };
}
