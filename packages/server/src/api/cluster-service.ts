/** The Cluster service: membership as the log defines it, and changes to it through the log. */
import * as grpc from '@grpc/grpc-js';
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ClusterService, etcdError, fromGrpcStatus, isEtcdError, type etcdserverpb } from '@etcd-ts/api';
import type { Member } from '../cluster/member.js';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { unary } from './unary.js';

const toPb = (m: Member): etcdserverpb.MemberInit => ({
  ID: m.id,
  name: m.name,
  peerURLs: [...m.peerURLs],
  clientURLs: [...m.clientURLs],
  isLearner: m.isLearner,
});

/** etcd's ClusterServer header: cluster and member ID and raft term, never a revision. */
const header = (s: EtcdServer): etcdserverpb.ResponseHeaderInit => ({ clusterId: s.clusterId, memberId: s.memberId, raftTerm: s.term });

/** etcd's ReqTimeout with the default election timeout (5 s + 2 × 1 s): bounds a promote forwarded to the leader. */
const FORWARD_TIMEOUT_MS = 7000;
/** Pause before asking the leader again after a transient failure. */
const FORWARD_RETRY_MS = 100;

type ClusterClient = grpc.Client & {
  memberPromote(
    req: etcdserverpb.MemberPromoteRequestInit,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: etcdserverpb.MemberPromoteResponse) => void,
  ): void;
};

const ClusterClientCtor = grpc.makeGenericClientConstructor(ClusterService as unknown as grpc.ServiceDefinition, 'Cluster');

function promoteOn(clientUrl: string, id: bigint, deadline: number): Promise<etcdserverpb.MemberPromoteResponse> {
  const client = new ClusterClientCtor(clientUrl.replace(/^http:\/\//, ''), grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as ClusterClient;
  return new Promise<etcdserverpb.MemberPromoteResponse>((resolve, reject) => {
    client.memberPromote({ ID: id }, { deadline }, (err, res) => {
      if (err !== null) reject(fromGrpcStatus(err.code, err.details) ?? err);
      else if (res === undefined) reject(etcdError('NO_LEADER'));
      else resolve(res);
    });
  }).finally(() => client.close());
}

/**
 * MemberPromote as etcd answers it on any member: only the leader knows whether
 * the learner has caught up, so a follower hands the request to the leader
 * (etcd over the leader's peer URL, here its client URL) and returns the
 * leader's answer. The leader's refusals for this learner end the attempt;
 * anything else (no leader yet, leadership moving, the leader unreachable) is
 * retried until the deadline, as etcd does.
 */
async function promote(s: EtcdServer, id: bigint, deadline: number): Promise<etcdserverpb.MemberInit[]> {
  for (;;) {
    try {
      return (await s.memberPromote(id)).map(toPb);
    } catch (err) {
      if (!isEtcdError(err, 'NOT_LEADER')) throw err;
    }
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw etcdError('TIMEOUT');
      await s.waitLeader(left);
      if (s.lead === s.memberId) break;
      const url = s.cluster.member(s.lead)?.clientURLs.find((u) => u.startsWith('http://'));
      if (url !== undefined) {
        try {
          return (await promoteOn(url, id, deadline)).members;
        } catch (err) {
          if (isEtcdError(err, 'LEARNER_NOT_READY', 'MEMBER_NOT_FOUND', 'MEMBER_NOT_LEARNER')) throw err;
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(FORWARD_RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }
}

function deadlineOf(call: ServerUnaryCall<unknown, unknown>): number {
  const d = call.getDeadline();
  const t = d instanceof Date ? d.getTime() : d;
  return Math.min(Number.isFinite(t) ? t : Infinity, Date.now() + FORWARD_TIMEOUT_MS);
}

export function clusterService(s: EtcdServer): UntypedServiceImplementation {
  return {
    memberList: unary((): etcdserverpb.MemberListResponseInit => ({ header: header(s), members: s.cluster.list().map(toPb) })),
    memberAdd: unary(async (r: etcdserverpb.MemberAddRequest): Promise<etcdserverpb.MemberAddResponseInit> => {
      const { member, members } = await s.memberAdd(r.peerURLs, r.isLearner);
      return { header: header(s), member: toPb(member), members: members.map(toPb) };
    }),
    memberRemove: unary(async (r: etcdserverpb.MemberRemoveRequest): Promise<etcdserverpb.MemberRemoveResponseInit> => {
      const members = await s.memberRemove(r.ID);
      return { header: header(s), members: members.map(toPb) };
    }),
    memberUpdate: unary(async (r: etcdserverpb.MemberUpdateRequest): Promise<etcdserverpb.MemberUpdateResponseInit> => {
      const members = await s.memberUpdate(r.ID, r.peerURLs);
      return { header: header(s), members: members.map(toPb) };
    }),
    memberPromote: unary(
      async (r: etcdserverpb.MemberPromoteRequest, call: ServerUnaryCall<etcdserverpb.MemberPromoteRequest, unknown>): Promise<etcdserverpb.MemberPromoteResponseInit> => {
        const members = await promote(s, r.ID, deadlineOf(call as ServerUnaryCall<unknown, unknown>));
        return { header: header(s), members };
      },
    ),
  };
}
