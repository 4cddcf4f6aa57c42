/** The Maintenance service: status, hashes, snapshots and alarms of this member. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import { ETCD_VERSION } from '../config/version.js';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { toEtcdError } from '../etcd/errors.js';
import { hashBackend } from '../mvcc/hash.js';
import { responseHeader } from './response-header.js';
import { sendSnapshot, type SnapshotCall } from './snapshot-stream.js';
import { unary } from './unary.js';

export function maintenanceService(s: EtcdServer): UntypedServiceImplementation {
  return {
    status: unary(
      (): etcdserverpb.StatusResponseInit => ({
        header: responseHeader(s),
        version: ETCD_VERSION,
        dbSize: s.backend.size(),
        dbSizeInUse: s.backend.sizeInUse(),
        leader: s.lead,
        raftIndex: s.commitIndex,
        raftTerm: s.term,
        raftAppliedIndex: s.appliedIndex,
        errors: [],
        isLearner: s.cluster.member(s.memberId)?.isLearner ?? false,
      }),
    ),
    // etcd's Hash: the whole backend (every bucket but meta/consistent_index) at the current revision.
    hash: unary(
      (): etcdserverpb.HashResponseInit => ({ header: responseHeader(s, s.kv.currentRev), hash: hashBackend(s.backend) }),
    ),
    snapshot: (call: SnapshotCall): void => {
      void sendSnapshot(s, call);
    },
    hashKV: unary((r: etcdserverpb.HashKVRequest): etcdserverpb.HashKVResponseInit => {
      try {
        const h = s.kv.hashByRev(r.revision);
        return {
          header: responseHeader(s, h.currentRev),
          hash: h.hash,
          // -1 until the first compaction, as etcd's store reports it
          compactRevision: h.compactRev,
        };
      } catch (err) {
        throw toEtcdError(err);
      }
    }),
    alarm: unary((): etcdserverpb.AlarmResponseInit => ({ header: responseHeader(s), alarms: [] })),
    defragment: unary((): etcdserverpb.DefragmentResponseInit => ({ header: responseHeader(s) })),
    moveLeader: unary(async (r: etcdserverpb.MoveLeaderRequest): Promise<etcdserverpb.MoveLeaderResponseInit> => {
      await s.moveLeader(r.targetID);
      return { header: responseHeader(s) };
    }),
  };
}
