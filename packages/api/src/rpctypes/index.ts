export { GrpcCode } from './grpc-code.js';
export {
  EtcdErrors,
  ETCD_ERROR_CODES,
  type AppliedState,
  type EtcdErrorCode,
  type EtcdErrorDescriptor,
} from './etcd-errors.js';
export {
  EtcdError,
  etcdError,
  etcdErrorCodeOf,
  fromGrpcStatus,
  isEtcdError,
  toGrpcStatus,
  type GrpcStatusLike,
} from './etcd-error.js';
