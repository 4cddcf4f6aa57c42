/**
 * Maps anything a handler throws to the gRPC status a client of etcd would see:
 * errors of the shared table keep their code and exact `etcdserver: ...` message;
 * anything else is Unknown with its message, as etcd's togRPCError does.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { EtcdError, toGrpcStatus } from '@etcd-ts/api';

export function toGrpcError(err: unknown): Partial<ServiceError> {
  if (err instanceof EtcdError) {
    const s = toGrpcStatus(err);
    return { code: s.code, details: s.details, message: s.details };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.UNKNOWN, details: message, message };
}
