/** The KV service: validation, then the member, then the response header. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { withHeader } from './response-header.js';
import { unary } from './unary.js';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxn } from './validate-kv.js';

export function kvService(s: EtcdServer, limits: { maxTxnOps: number }): UntypedServiceImplementation {
  return {
    range: unary(async (r: etcdserverpb.RangeRequest) => {
      checkRangeRequest(r);
      return withHeader(s, await s.range(r));
    }),
    put: unary(async (r: etcdserverpb.PutRequest) => {
      checkPutRequest(r);
      return withHeader(s, await s.put(r));
    }),
    deleteRange: unary(async (r: etcdserverpb.DeleteRangeRequest) => {
      checkDeleteRequest(r);
      return withHeader(s, await s.deleteRange(r));
    }),
    txn: unary(async (r: etcdserverpb.TxnRequest) => {
      checkTxn(r, limits.maxTxnOps);
      return withHeader(s, await s.txn(r));
    }),
    compact: unary(async (r: etcdserverpb.CompactionRequest) => withHeader(s, await s.compact(r))),
  };
}
