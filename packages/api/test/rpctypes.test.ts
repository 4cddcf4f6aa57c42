import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ETCD_ERROR_CODES,
  EtcdError,
  EtcdErrors,
  GrpcCode,
  etcdError,
  etcdErrorCodeOf,
  fromGrpcStatus,
  isEtcdError,
  toGrpcStatus,
  type EtcdErrorCode,
} from '../src/index.js';

test('rows named in the wire contract', () => {
  const expect: [EtcdErrorCode, number, string][] = [
    ['COMPACTED', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
    ['FUTURE_REV', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
    ['EMPTY_KEY', GrpcCode.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
    ['REQUEST_TOO_LARGE', GrpcCode.INVALID_ARGUMENT, 'etcdserver: request is too large'],
    ['TOO_MANY_TXN_OPS', GrpcCode.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
    ['DUPLICATE_KEY', GrpcCode.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
    ['LEASE_NOT_FOUND', GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found'],
    ['LEASE_EXISTS', GrpcCode.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
    ['NO_LEADER', GrpcCode.UNAVAILABLE, 'etcdserver: no leader'],
    ['TIMEOUT', GrpcCode.UNAVAILABLE, 'etcdserver: request timed out'],
    ['NO_SPACE', GrpcCode.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
    ['PERMISSION_DENIED', GrpcCode.PERMISSION_DENIED, 'etcdserver: permission denied'],
    ['INVALID_AUTH_TOKEN', GrpcCode.UNAUTHENTICATED, 'etcdserver: invalid auth token'],
    ['CORRUPT', GrpcCode.DATA_LOSS, 'etcdserver: corrupt cluster'],
    ['WATCH_CANCELED', GrpcCode.CANCELLED, 'etcdserver: watch canceled'],
  ];
  for (const [code, grpcCode, message] of expect) {
    const d = EtcdErrors[code];
    assert.is(d.code, code);
    assert.is(d.grpcCode, grpcCode, code);
    assert.is(d.message, message, code);
  }
});

test('table invariants', () => {
  const messages = new Set<string>();
  for (const code of ETCD_ERROR_CODES) {
    const d = EtcdErrors[code];
    assert.is(d.code, code);
    assert.ok(!messages.has(d.message), `duplicate message ${d.message}`);
    messages.add(d.message);
    assert.is(d.retrySafe, d.transient && d.applied === 'never', code);
    if (d.reauth) assert.is(d.applied, 'never');
    assert.ok(Object.isFrozen(d));
  }
  assert.is(ETCD_ERROR_CODES.length, Object.keys(EtcdErrors).length);
  assert.is(EtcdErrors.NO_LEADER.applied, 'unknown');
  assert.is(EtcdErrors.TIMEOUT.applied, 'unknown');
  assert.is(EtcdErrors.NO_LEADER.retrySafe, false);
  assert.ok(EtcdErrors.NO_LEADER.transient);
  assert.is(EtcdErrors.EMPTY_KEY.applied, 'never');
  assert.is(EtcdErrors.EMPTY_KEY.transient, false);
  assert.ok(EtcdErrors.TOO_MANY_REQUESTS.retrySafe);
  assert.ok(EtcdErrors.INVALID_AUTH_TOKEN.reauth);
  assert.ok(EtcdErrors.AUTH_OLD_REVISION.reauth);
});

test('EtcdError carries the row', () => {
  const e = etcdError('COMPACTED');
  assert.instance(e, EtcdError);
  assert.instance(e, Error);
  assert.is(e.name, 'EtcdError');
  assert.is(e.code, 'COMPACTED');
  assert.is(e.grpcCode, 11);
  assert.is(e.message, 'etcdserver: mvcc: required revision has been compacted');
  assert.is(e.applied, 'never');
  assert.is(e.descriptor, EtcdErrors.COMPACTED);
  assert.ok(isEtcdError(e));
  assert.ok(isEtcdError(e, 'FUTURE_REV', 'COMPACTED'));
  assert.not.ok(isEtcdError(e, 'EMPTY_KEY'));
  assert.not.ok(isEtcdError(new Error(e.message)));
  const cause = new Error('disk');
  assert.is(new EtcdError('CORRUPT', { cause }).cause, cause);
});

test('gRPC status mapping both ways', () => {
  for (const code of ETCD_ERROR_CODES) {
    const st = toGrpcStatus(etcdError(code));
    assert.equal(st, { code: EtcdErrors[code].grpcCode, details: EtcdErrors[code].message });
    const back = fromGrpcStatus(st.code, st.details);
    assert.ok(back);
    assert.is(back.code, code);
  }
  // Recognised by message alone, as etcd 3.4 sends some with UNKNOWN.
  assert.is(fromGrpcStatus(GrpcCode.UNKNOWN, 'etcdserver: too many requests')?.code, 'TOO_MANY_REQUESTS');
  assert.is(fromGrpcStatus(GrpcCode.UNAVAILABLE, 'connection refused'), undefined);
  assert.is(fromGrpcStatus(GrpcCode.UNAVAILABLE, undefined), undefined);
  assert.is(fromGrpcStatus(GrpcCode.OK, 'etcdserver: no leader'), undefined);
  assert.equal(toGrpcStatus(new Error('boom')), { code: GrpcCode.UNKNOWN, details: 'boom' });
  assert.equal(toGrpcStatus('x'), { code: GrpcCode.UNKNOWN, details: 'x' });
  assert.is(etcdErrorCodeOf('etcdserver: no leader'), 'NO_LEADER');
});

// When etcd's own sources are installed, every status it declares must be a row.
const ETCD_ERRORS_GO = '/usr/share/gocode/src/go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes/error.go';
test('covers every status declared by etcd 3.4 (when its sources are present)', () => {
  if (!existsSync(ETCD_ERRORS_GO)) return;
  const src = readFileSync(ETCD_ERRORS_GO, 'utf8');
  const grpcNames: Record<string, number> = {
    Canceled: GrpcCode.CANCELLED,
    InvalidArgument: GrpcCode.INVALID_ARGUMENT,
    NotFound: GrpcCode.NOT_FOUND,
    PermissionDenied: GrpcCode.PERMISSION_DENIED,
    ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
    FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
    OutOfRange: GrpcCode.OUT_OF_RANGE,
    Unavailable: GrpcCode.UNAVAILABLE,
    DataLoss: GrpcCode.DATA_LOSS,
    Unauthenticated: GrpcCode.UNAUTHENTICATED,
  };
  const re = /(\w+)\s*=\s*status\.New\(codes\.(\w+), "([^"]+)"\)/g;
  let n = 0;
  for (const m of src.matchAll(re)) {
    n++;
    const [, goName, codeName, message] = m as unknown as [string, string, string, string];
    const code = etcdErrorCodeOf(message);
    assert.ok(code, `missing ${goName}: ${message}`);
    assert.is(EtcdErrors[code].grpcCode, grpcNames[codeName], goName);
    assert.is(EtcdErrors[code].etcdName, goName);
  }
  assert.ok(n >= 50);
});

test.run();
