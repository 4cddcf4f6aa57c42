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

/** Every grpc-js server call is an EventEmitter. */
export interface ErrorEmitter {
  emit(event: 'error', err: Error): boolean;
}

/**
 * Ends a server stream with err's status: grpc-js sends the status of an
 * 'error' emitted on the call (destroy() sends none, and the client would
 * only see the connection's fate).
 */
export function failStream(call: ErrorEmitter, err: unknown): void {
  const g = toGrpcError(err);
  call.emit('error', Object.assign(new Error(String(g.details)), g));
}
