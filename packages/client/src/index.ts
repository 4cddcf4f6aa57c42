export { Client, type ClientOptions } from './client.js';
export type { CallOptions } from './call-options.js';
export { bufferCodec, jsonCodec, stringCodec, toBuffer, type Bytes, type Codec } from './codec.js';
export {
  AbortedError,
  ClientClosedError,
  ClientError,
  DeadlineExceededError,
  EtcdError,
  hasRetryFacts,
  isEtcdError,
  LeaseLostError,
  NoEndpointError,
  TransportError,
  WatchCanceledError,
  WatchCompactedError,
  type AppliedState,
  type EtcdClientError,
  type EtcdErrorCode,
  type RetryFacts,
} from './errors.js';
export { KV, TypedKV } from './kv.js';
export type { KVTransport } from './kv-transport.js';
export { RangeQuery, type RangeResult } from './range-query.js';
export { TxnBuilder, rangeKvs, type TxnResult } from './txn.js';
export { compare, type Cmp, type CompareOp } from './compare.js';
export {
  op,
  type DeleteOptions,
  type KeyRangeOptions,
  type LeaseRef,
  type Op,
  type PutOptions,
  type RangeOptions,
  type SortOrder,
  type SortTarget,
} from './ops.js';
export { Namespace } from './namespace.js';
export { KVView } from './kv-view.js';
export type { RetryKind, RetryPolicy } from './retry.js';
export type { Credentials } from './token-source.js';
export type { KeepaliveOptions, TlsOptions } from './balancer/endpoint.js';
export * from './watch/index.js';
export * from './lease/index.js';
export * from './cluster.js';
export * from './maintenance.js';
export * from './auth.js';
export * from './endpoint-sync.js';
export type { mvccpb, etcdserverpb } from '@etcd-ts/api';
// Building blocks, for layering other services on the client's connections.
export { EndpointPool, type EndpointPoolOptions } from './balancer/endpoint-pool.js';
export { Endpoint, parseEndpoint } from './balancer/endpoint.js';
export { Rpc, type RpcOptions, type UnaryHow, type UnaryIssuer } from './rpc.js';
export { TokenSource } from './token-source.js';
