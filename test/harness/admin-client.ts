/** A raw gRPC client for etcd's Maintenance and Cluster services, for cluster tests. */
import * as grpc from '@grpc/grpc-js';
import { ClusterService, MaintenanceService, type etcdserverpb } from '@etcd-ts/api';
import { unaryCaller } from './kv-client.js';

export interface AdminClient {
  readonly endpoint: string;
  status(): Promise<etcdserverpb.StatusResponse>;
  hashKV(req: etcdserverpb.HashKVRequestInit): Promise<etcdserverpb.HashKVResponse>;
  moveLeader(req: etcdserverpb.MoveLeaderRequestInit): Promise<etcdserverpb.MoveLeaderResponse>;
  memberList(): Promise<etcdserverpb.MemberListResponse>;
  memberAdd(req: etcdserverpb.MemberAddRequestInit): Promise<etcdserverpb.MemberAddResponse>;
  memberRemove(req: etcdserverpb.MemberRemoveRequestInit): Promise<etcdserverpb.MemberRemoveResponse>;
  memberPromote(req: etcdserverpb.MemberPromoteRequestInit): Promise<etcdserverpb.MemberPromoteResponse>;
  close(): void;
}

export function adminClient(endpoint: string, opts: { deadlineMs?: number } = {}): AdminClient {
  const call = unaryCaller(opts.deadlineMs ?? 10_000);
  const Maintenance = grpc.makeGenericClientConstructor(MaintenanceService as unknown as grpc.ServiceDefinition, 'Maintenance');
  const Cluster = grpc.makeGenericClientConstructor(ClusterService as unknown as grpc.ServiceDefinition, 'Cluster');
  const maintenance = new Maintenance(endpoint, grpc.credentials.createInsecure());
  const cluster = new Cluster(endpoint, grpc.credentials.createInsecure());
  const status = call<etcdserverpb.StatusRequestInit, etcdserverpb.StatusResponse>(maintenance, 'status', 'Status');
  const memberList = call<etcdserverpb.MemberListRequestInit, etcdserverpb.MemberListResponse>(cluster, 'memberList', 'MemberList');
  return {
    endpoint,
    status: () => status({}),
    hashKV: call(maintenance, 'hashKV', 'HashKV'),
    moveLeader: call(maintenance, 'moveLeader', 'MoveLeader'),
    memberList: () => memberList({}),
    memberAdd: call(cluster, 'memberAdd', 'MemberAdd'),
    memberRemove: call(cluster, 'memberRemove', 'MemberRemove'),
    memberPromote: call(cluster, 'memberPromote', 'MemberPromote'),
    close() {
      maintenance.close();
      cluster.close();
    },
  };
}
