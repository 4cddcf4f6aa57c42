/** The Cluster service: membership as the log defines it, and changes to it through the log. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import type { Member } from '../cluster/member.js';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { responseHeader } from './response-header.js';
import { unary } from './unary.js';

const toPb = (m: Member): etcdserverpb.MemberInit => ({
  ID: m.id,
  name: m.name,
  peerURLs: [...m.peerURLs],
  clientURLs: [...m.clientURLs],
  isLearner: m.isLearner,
});

export function clusterService(s: EtcdServer): UntypedServiceImplementation {
  return {
    memberList: unary(
      (): etcdserverpb.MemberListResponseInit => ({ header: responseHeader(s), members: s.cluster.list().map(toPb) }),
    ),
    memberAdd: unary(async (r: etcdserverpb.MemberAddRequest): Promise<etcdserverpb.MemberAddResponseInit> => {
      const { member, members } = await s.memberAdd(r.peerURLs, r.isLearner);
      return { header: responseHeader(s), member: toPb(member), members: members.map(toPb) };
    }),
    memberRemove: unary(async (r: etcdserverpb.MemberRemoveRequest): Promise<etcdserverpb.MemberRemoveResponseInit> => {
      const members = await s.memberRemove(r.ID);
      return { header: responseHeader(s), members: members.map(toPb) };
    }),
    memberUpdate: unary(async (r: etcdserverpb.MemberUpdateRequest): Promise<etcdserverpb.MemberUpdateResponseInit> => {
      const members = await s.memberUpdate(r.ID, r.peerURLs);
      return { header: responseHeader(s), members: members.map(toPb) };
    }),
    memberPromote: unary(async (r: etcdserverpb.MemberPromoteRequest): Promise<etcdserverpb.MemberPromoteResponseInit> => {
      const members = await s.memberPromote(r.ID);
      return { header: responseHeader(s), members: members.map(toPb) };
    }),
  };
}
