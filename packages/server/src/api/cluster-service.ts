/** The Cluster service: the membership this member knows. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { responseHeader } from './response-header.js';
import { unary } from './unary.js';

export function clusterService(s: EtcdServer): UntypedServiceImplementation {
  return {
    memberList: unary(
      (): etcdserverpb.MemberListResponseInit => ({
        header: responseHeader(s),
        members: [...s.members.values()].map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: [...m.peerURLs],
          clientURLs: [...m.clientURLs],
          isLearner: m.isLearner,
        })),
      }),
    ),
  };
}
