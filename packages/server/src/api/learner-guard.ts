/**
 * A learner serves only what cannot observe or change state it may lag on:
 * Status and serializable Range, as etcd 3.4's interceptor allows. Every other
 * call to a learner fails with `etcdserver: rpc not supported for learner`.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { etcdError } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { failStream, toGrpcError, type ErrorEmitter } from './to-grpc-error.js';

type Allowed = (method: string, request: unknown) => boolean;

const NOTHING: Allowed = () => false;

export const learnerAllowsKV: Allowed = (method, req) =>
  method === 'range' && (req as { serializable?: boolean } | undefined)?.serializable === true;
export const learnerAllowsMaintenance: Allowed = (method) => method === 'status';

export function learnerGuard(
  s: EtcdServer,
  impl: UntypedServiceImplementation,
  allowed: Allowed = NOTHING,
): UntypedServiceImplementation {
  const guarded: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(impl)) {
    const h = handler as (call: { request?: unknown } & ErrorEmitter, cb?: (err: unknown, res: null) => void) => void;
    guarded[method] = ((call: { request?: unknown } & ErrorEmitter, cb?: (err: unknown, res: null) => void) => {
      if (!s.isLearner || allowed(method, call.request)) return h(call, cb);
      const err = etcdError('NOT_SUPPORTED_FOR_LEARNER');
      if (cb !== undefined) cb(toGrpcError(err), null);
      else failStream(call, err);
    }) as UntypedServiceImplementation[string];
  }
  return guarded;
}
