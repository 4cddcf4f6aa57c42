import { R, RelRev, type Scenario, type ServerProfile, type Step } from '../harness/kv-differential.js';
import type { Message } from '../harness/kv-client.js';

/*
 * The differential KV table: each entry is a small scenario (a list of
 * requests) that runs unchanged on real etcd and on every candidate server.
 * Shared scenarios write only under their own prefix (`k(...)`) and refer to
 * revisions relative to their start (`R(n)` is the revision created by the
 * n-th write of the scenario). Fresh scenarios get servers of their own and
 * see absolute revisions (R(1) is then revision 2, the first write).
 */

// Enum values of etcdserverpb (numbers, as on the wire).
const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
const CmpResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
const CmpTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

// etcd's error details, verbatim.
export const ERR = {
  emptyKey: 'etcdserver: key is not provided',
  keyNotFound: 'etcdserver: key not found',
  valueProvided: 'etcdserver: value is provided',
  leaseProvided: 'etcdserver: lease is provided',
  tooManyOps: 'etcdserver: too many operations in txn request',
  duplicateKey: 'etcdserver: duplicate key given in txn request',
  compacted: 'etcdserver: mvcc: required revision has been compacted',
  futureRev: 'etcdserver: mvcc: required revision is a future revision',
  leaseNotFound: 'etcdserver: requested lease not found',
  tooLarge: 'etcdserver: request is too large',
} as const;

type Bytes = string | Buffer;
type Rev = number | RelRev;

const b = (x: Bytes): Buffer => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x);

/** The smallest key greater than every key starting with `p` ("\0" when there is none). */
export function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

// ---- steps -------------------------------------------------------------

const get = (key: Buffer, extra: Message = {}): Step => ({ op: 'range', req: { key, ...extra } });
const getPrefix = (key: Buffer, extra: Message = {}): Step => get(key, { rangeEnd: prefixEnd(key), ...extra });
const put = (key: Buffer, value: Bytes, extra: Message = {}): Step => ({ op: 'put', req: { key, value: b(value), ...extra } });
const del = (key: Buffer, extra: Message = {}): Step => ({ op: 'deleteRange', req: { key, ...extra } });
const delPrefix = (key: Buffer, extra: Message = {}): Step => del(key, { rangeEnd: prefixEnd(key), ...extra });
const compact = (revision: Rev, physical = false): Step => ({ op: 'compact', req: { revision, physical } });
const grant = (id: bigint, ttl = 3600): Step => ({ op: 'leaseGrant', req: { ID: id, TTL: ttl } });
const revoke = (id: bigint): Step => ({ op: 'leaseRevoke', req: { ID: id } });
const hashKV = (revision: Rev = 0): Step => ({ op: 'hashKV', req: { revision } });

interface TxnSpec {
  compare?: Message[];
  success?: Message[];
  failure?: Message[];
}
const txnReq = (t: TxnSpec): Message => ({ compare: t.compare ?? [], success: t.success ?? [], failure: t.failure ?? [] });
const txn = (t: TxnSpec): Step => ({ op: 'txn', req: txnReq(t) });

/** Marks a step as expected to fail on real etcd with exactly `details`. */
const fails = (details: string, step: Step): Step => ({ ...step, expectError: details });

// ---- txn ops and compares ------------------------------------------------

const oGet = (key: Buffer, extra: Message = {}): Message => ({ requestRange: { key, ...extra } });
const oPut = (key: Buffer, value: Bytes, extra: Message = {}): Message => ({ requestPut: { key, value: b(value), ...extra } });
const oDel = (key: Buffer, extra: Message = {}): Message => ({ requestDeleteRange: { key, ...extra } });
const oTxn = (t: TxnSpec): Message => ({ requestTxn: txnReq(t) });

type TargetName = keyof typeof CmpTarget;
type ResultName = keyof typeof CmpResult;
const TARGET_FIELD: Record<TargetName, string> = {
  VERSION: 'version',
  CREATE: 'createRevision',
  MOD: 'modRevision',
  VALUE: 'value',
  LEASE: 'lease',
};

function cmp(key: Buffer, target: TargetName, result: ResultName, value: Rev | Bytes | bigint, extra: Message = {}): Message {
  const v = typeof value === 'string' || Buffer.isBuffer(value) ? b(value) : value;
  return { key, target: CmpTarget[target], result: CmpResult[result], [TARGET_FIELD[target]]: v, ...extra };
}

// ---- the table -------------------------------------------------------------

interface Ctx {
  /** A key of this scenario: the scenario prefix followed by `s`. */
  k(s?: Bytes): Buffer;
  /** A lease id unique to this scenario. */
  lease(n: number): bigint;
}

interface DefOptions {
  fresh?: boolean;
  profile?: ServerProfile;
}

export const KV_SCENARIOS: Scenario[] = [];

function def(name: string, opts: DefOptions, build: (c: Ctx) => Step[]): void {
  const index = KV_SCENARIOS.length;
  const fresh = opts.fresh === true;
  const prefix = fresh ? Buffer.alloc(0) : Buffer.from(`kv${String(index).padStart(3, '0')}/`);
  const ctx: Ctx = {
    k: (s = '') => Buffer.concat([prefix, b(s)]),
    lease: (n) => BigInt(1_000_000 + index * 100 + n),
  };
  KV_SCENARIOS.push({ name, profile: opts.profile ?? 'default', fresh, prefix, steps: build(ctx) });
}

// -- range -------------------------------------------------------------------

def('range: a single key and a missing key', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('ab'), '2'),
  get(k('a')),
  get(k('missing')),
]);

def('range: prefix', {}, ({ k }) => [
  put(k('p/a'), '1'),
  put(k('p/b'), '2'),
  put(k('p/c'), '3'),
  put(k('p'), '4'),
  put(k('q'), '5'),
  getPrefix(k('p/')),
  getPrefix(k('p/b')),
  getPrefix(k('')),
]);

def('range: [key, range_end) and an end not after the key', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  put(k('c'), '3'),
  put(k('d'), '4'),
  get(k('a'), { rangeEnd: k('c') }),
  get(k('b'), { rangeEnd: k('b') }),
  get(k('c'), { rangeEnd: k('a') }),
  get(k('b'), { rangeEnd: k('bb') }),
]);

def('range: from key (range_end "\\0")', { fresh: true }, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  put(k('c'), '3'),
  put(k('c\0'), '4'),
  get(k('b'), { rangeEnd: Buffer.from([0]) }),
  get(k('c\0'), { rangeEnd: Buffer.from([0]) }),
  get(k('d'), { rangeEnd: Buffer.from([0]) }),
]);

def('range: all keys (key "\\0", range_end "\\0")', { fresh: true }, () => [
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]) }),
  put(Buffer.from('x'), '1'),
  put(Buffer.from([0]), 'nul'),
  put(Buffer.from([0xff, 0xff]), 'high'),
  put(Buffer.from('a'), '2'),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]) }),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]), limit: 2 }),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]), countOnly: true }),
  get(Buffer.from([0])),
  get(Buffer.from([0xff]), { rangeEnd: Buffer.from([0]) }),
]);

def('revisions: an empty server is at revision 1 and the first write is at 2', { fresh: true }, () => [
  get(Buffer.from('x')),
  put(Buffer.from('x'), 'first'),
  put(Buffer.from('y'), 'second'),
  put(Buffer.from('x'), 'third'),
  get(Buffer.from('x')),
  get(Buffer.from('x'), { revision: 1 }),
  get(Buffer.from('x'), { revision: 2 }),
  get(Buffer.from('a'), { rangeEnd: Buffer.from('z') }),
]);

def('range: limit with more and count', {}, ({ k }) => [
  put(k('1'), 'a'),
  put(k('2'), 'b'),
  put(k('3'), 'c'),
  put(k('4'), 'd'),
  put(k('5'), 'e'),
  getPrefix(k(''), { limit: 1 }),
  getPrefix(k(''), { limit: 2 }),
  getPrefix(k(''), { limit: 4 }),
  getPrefix(k(''), { limit: 5 }),
  getPrefix(k(''), { limit: 6 }),
  getPrefix(k(''), { limit: -1 }),
  getPrefix(k('3'), { limit: 1 }),
]);

def('range: count_only and keys_only', {}, ({ k }) => [
  put(k('a'), 'va'),
  put(k('b'), 'vb'),
  put(k('c'), ''),
  getPrefix(k(''), { countOnly: true }),
  getPrefix(k(''), { keysOnly: true }),
  getPrefix(k(''), { countOnly: true, limit: 1 }),
  getPrefix(k(''), { keysOnly: true, limit: 2 }),
  getPrefix(k(''), { countOnly: true, keysOnly: true }),
  get(k('zzz'), { countOnly: true }),
]);

def('range: serializable', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  get(k('a'), { serializable: true }),
  getPrefix(k(''), { serializable: true, limit: 1 }),
  get(k('a'), { serializable: true, revision: R(1) }),
]);

def('range: history reads of one key', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  put(k('a'), '3'),
  get(k('a'), { revision: R(0) }),
  get(k('a'), { revision: R(1) }),
  get(k('a'), { revision: R(2) }),
  get(k('a'), { revision: R(3) }),
  get(k('a'), { revision: 0 }),
]);

def('range: history across delete and recreate', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  del(k('a')),
  put(k('a'), '3'),
  get(k('a'), { revision: R(1) }),
  get(k('a'), { revision: R(2) }),
  get(k('a'), { revision: R(3) }),
  get(k('a'), { revision: R(4) }),
  get(k('a')),
]);

def('range: history of a prefix', {}, ({ k }) => [
  put(k('p/a'), '1'),
  put(k('p/b'), '2'),
  del(k('p/a')),
  put(k('p/c'), '3'),
  put(k('p/b'), '4'),
  getPrefix(k('p/'), { revision: R(1) }),
  getPrefix(k('p/'), { revision: R(2) }),
  getPrefix(k('p/'), { revision: R(3) }),
  getPrefix(k('p/'), { revision: R(4) }),
  getPrefix(k('p/'), { revision: R(5), limit: 1 }),
  getPrefix(k('p/'), { revision: R(3), countOnly: true }),
]);

def('range: future revision', {}, ({ k }) => [
  fails(ERR.futureRev, get(k('a'), { revision: R(1) })),
  put(k('a'), '1'),
  get(k('a'), { revision: R(1) }),
  fails(ERR.futureRev, get(k('a'), { revision: R(2) })),
  fails(ERR.futureRev, getPrefix(k(''), { revision: R(100), countOnly: true })),
]);

def('range: negative revision and negative limit', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  get(k('a'), { revision: -1 }),
  getPrefix(k(''), { limit: -5 }),
]);

def('range: binary keys order by bytes', {}, ({ k }) => [
  put(k(Buffer.from([0xff])), 'ff'),
  put(k(Buffer.from([0x00])), '00'),
  put(k(Buffer.from([0xc3, 0xa9])), 'e-acute'),
  put(k(Buffer.from([0x7f])), '7f'),
  put(k('A'), 'A'),
  put(k('a'), 'a'),
  put(k(Buffer.from([0x80, 0x00])), Buffer.from([0x00, 0xff, 0x10])),
  getPrefix(k('')),
  getPrefix(k(''), { sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.KEY }),
  get(k(Buffer.from([0x80])), { rangeEnd: prefixEnd(k('')) }),
  getPrefix(k(Buffer.from([0xff]))),
  getPrefix(k(''), { sortOrder: SortOrder.ASCEND, sortTarget: SortTarget.VALUE }),
]);

def('range: min/max mod revision filters', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '1'),
  put(k('c'), '1'),
  put(k('a'), '2'),
  put(k('d'), '1'),
  getPrefix(k(''), { minModRevision: R(3) }),
  getPrefix(k(''), { maxModRevision: R(2) }),
  getPrefix(k(''), { minModRevision: R(2), maxModRevision: R(4) }),
  getPrefix(k(''), { minModRevision: R(2), limit: 1 }),
  getPrefix(k(''), { minModRevision: R(9) }),
  getPrefix(k(''), { maxModRevision: R(3), countOnly: true }),
  getPrefix(k(''), { minModRevision: R(3), revision: R(4) }),
]);

def('range: min/max create revision filters', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '1'),
  put(k('a'), '2'),
  put(k('c'), '1'),
  del(k('b')),
  put(k('b'), '2'),
  getPrefix(k(''), { minCreateRevision: R(2) }),
  getPrefix(k(''), { maxCreateRevision: R(4) }),
  getPrefix(k(''), { minCreateRevision: R(2), maxCreateRevision: R(5) }),
  getPrefix(k(''), { maxCreateRevision: R(1), keysOnly: true }),
  getPrefix(k(''), { minCreateRevision: R(4), limit: 1 }),
  getPrefix(k(''), { minCreateRevision: R(1), minModRevision: R(3), sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.CREATE }),
]);

def('txn: a read at the revision the txn itself creates', {}, ({ k }) => [
  put(k('a'), '1'),
  fails(ERR.futureRev, txn({ success: [oPut(k('a'), '2'), oGet(k('a'), { revision: R(2) })] })),
  txn({ success: [oPut(k('b'), '1'), oGet(k('a'), { revision: R(1) })] }),
  getPrefix(k('')),
]);

// -- sort ----------------------------------------------------------------------

/**
 * Four keys whose orders by key, version, create, mod and value all differ:
 * a(version 2, create R2, mod R5, "v0"), b(1, R4, R4, "v4"), c(1, R1, R1, "v2"),
 * d(3, R3, R7, "v6"). b and c tie on version.
 */
const sortSetup = (k: Ctx['k']): Step[] => [
  put(k('c'), 'v2'),
  put(k('a'), 'v3'),
  put(k('d'), 'v1'),
  put(k('b'), 'v4'),
  put(k('a'), 'v0'),
  put(k('d'), 'v5'),
  put(k('d'), 'v6'),
];

for (const target of ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const) {
  def(`range: sort by ${target} (NONE, ASCEND, DESCEND)`, {}, ({ k }) => [
    ...sortSetup(k),
    getPrefix(k(''), { sortTarget: SortTarget[target], sortOrder: SortOrder.NONE }),
    getPrefix(k(''), { sortTarget: SortTarget[target], sortOrder: SortOrder.ASCEND }),
    getPrefix(k(''), { sortTarget: SortTarget[target], sortOrder: SortOrder.DESCEND }),
    getPrefix(k(''), { sortTarget: SortTarget[target], sortOrder: SortOrder.DESCEND, keysOnly: true }),
  ]);
}

def('range: sort with limit, count and filters', {}, ({ k }) => [
  ...sortSetup(k),
  getPrefix(k(''), { sortTarget: SortTarget.MOD, sortOrder: SortOrder.ASCEND, limit: 2 }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 3 }),
  getPrefix(k(''), { sortTarget: SortTarget.VERSION, sortOrder: SortOrder.DESCEND, limit: 1 }),
  getPrefix(k(''), { sortTarget: SortTarget.KEY, sortOrder: SortOrder.DESCEND, limit: 4 }),
  getPrefix(k(''), { sortTarget: SortTarget.CREATE, sortOrder: SortOrder.NONE, limit: 2 }),
  getPrefix(k(''), { sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, limit: 2, minModRevision: R(4) }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: SortOrder.ASCEND, countOnly: true }),
  getPrefix(k(''), { sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, revision: R(4) }),
]);

def('range: sort ties keep key order (ascending and descending)', {}, ({ k }) => [
  txn({ success: [oPut(k('c'), 'same'), oPut(k('a'), 'same'), oPut(k('d'), 'same'), oPut(k('b'), 'same')] }),
  put(k('e'), 'same'),
  getPrefix(k(''), { sortTarget: SortTarget.CREATE, sortOrder: SortOrder.DESCEND }),
  getPrefix(k(''), { sortTarget: SortTarget.MOD, sortOrder: SortOrder.ASCEND }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 3 }),
  getPrefix(k(''), { sortTarget: SortTarget.VERSION, sortOrder: SortOrder.DESCEND }),
]);

/** 100 keys written in one txn, with values in a scrambled order: sorting by value has no ties. */
const scrambled = (k: Ctx['k']): Message[] =>
  Array.from({ length: 100 }, (_, i) => oPut(k(`k${String(i).padStart(3, '0')}`), `v${String((i * 37) % 100).padStart(3, '0')}`));

def('range: sorting and limiting many keys', {}, ({ k }) => [
  txn({ success: scrambled(k) }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: SortOrder.ASCEND, limit: 10 }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 5, keysOnly: true }),
  getPrefix(k(''), { sortTarget: SortTarget.KEY, sortOrder: SortOrder.DESCEND, limit: 3 }),
  getPrefix(k(''), { limit: 7, keysOnly: true }),
  get(k('k050'), { rangeEnd: prefixEnd(k('')), countOnly: true }),
  delPrefix(k('k0'), { prevKv: true }),
  getPrefix(k(''), { countOnly: true }),
]);

def('range: sort order values outside the enum are not validated', {}, ({ k }) => [
  ...sortSetup(k),
  getPrefix(k(''), { sortTarget: SortTarget.KEY, sortOrder: 7 }),
  getPrefix(k(''), { sortTarget: SortTarget.VALUE, sortOrder: 3 }),
  getPrefix(k(''), { sortTarget: SortTarget.MOD, sortOrder: 9, limit: 2 }),
]);

// -- put -------------------------------------------------------------------------

def('put: prev_kv on a new key and an existing key', {}, ({ k }) => [
  put(k('a'), '1', { prevKv: true }),
  put(k('a'), '2', { prevKv: true }),
  put(k('a'), '3'),
  put(k('a'), '', { prevKv: true }),
  get(k('a')),
]);

def('put: ignore_value keeps the value and bumps version', {}, ({ k }) => [
  put(k('a'), 'keep'),
  { op: 'put', req: { key: k('a'), ignoreValue: true, prevKv: true } },
  { op: 'put', req: { key: k('a'), ignoreValue: true } },
  get(k('a')),
]);

def('put: ignore_value or ignore_lease on a missing key fails', {}, ({ k }) => [
  fails(ERR.keyNotFound, { op: 'put', req: { key: k('nope'), ignoreValue: true } }),
  fails(ERR.keyNotFound, put(k('nope'), 'v', { ignoreLease: true })),
  get(k('nope')),
  put(k('x'), '1'),
  del(k('x')),
  fails(ERR.keyNotFound, { op: 'put', req: { key: k('x'), ignoreValue: true } }),
]);

def('put: value together with ignore_value, lease together with ignore_lease', {}, ({ k, lease }) => [
  put(k('a'), 'orig'),
  fails(ERR.valueProvided, put(k('a'), 'new', { ignoreValue: true })),
  grant(lease(1)),
  fails(ERR.leaseProvided, put(k('a'), 'new', { ignoreLease: true, lease: lease(1) })),
  get(k('a')),
]);

def('put: ignore_lease keeps the attached lease', {}, ({ k, lease }) => [
  grant(lease(1)),
  put(k('a'), '1', { lease: lease(1) }),
  put(k('a'), '2', { ignoreLease: true, prevKv: true }),
  get(k('a')),
  put(k('a'), '3'),
  get(k('a')),
  { op: 'put', req: { key: k('a'), ignoreValue: true, ignoreLease: true } },
  get(k('a')),
  revoke(lease(1)),
]);

def('put: a nonexistent lease fails and writes nothing', {}, ({ k, lease }) => [
  fails(ERR.leaseNotFound, put(k('a'), '1', { lease: lease(9) })),
  get(k('a')),
  put(k('b'), '1'),
  fails(ERR.leaseNotFound, put(k('b'), '2', { lease: lease(9), prevKv: true })),
  get(k('b')),
]);

def('put: lease revoke deletes the attached keys in one revision', {}, ({ k, lease }) => [
  grant(lease(1)),
  grant(lease(2)),
  put(k('a'), '1', { lease: lease(1) }),
  put(k('b'), '2', { lease: lease(1) }),
  put(k('c'), '3', { lease: lease(2) }),
  put(k('d'), '4'),
  revoke(lease(1)),
  getPrefix(k('')),
  getPrefix(k(''), { revision: R(4) }),
  put(k('a'), '5', { lease: lease(2) }),
  get(k('a')),
  revoke(lease(2)),
  getPrefix(k('')),
]);

def('put: versions, create and mod revisions progress', {}, ({ k }) => [
  put(k('a'), ''),
  put(k('b'), 'x'),
  put(k('a'), 'x'),
  put(k('a'), 'x', { prevKv: true }),
  put(k('b'), 'y', { lease: 0n }),
  getPrefix(k('')),
]);

def('put: large value (1 MiB) under the default request limit', {}, ({ k }) => [
  put(k('big'), Buffer.alloc(1024 * 1024, 0x61)),
  get(k('big'), { keysOnly: true }),
  get(k('big')),
]);

// -- delete ------------------------------------------------------------------------

def('delete: single key with prev_kv, then again', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  del(k('a'), { prevKv: true }),
  del(k('a'), { prevKv: true }),
  get(k('a')),
  get(k('a'), { revision: R(2) }),
]);

def('delete: [key, range_end) with prev_kv', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  put(k('c'), '3'),
  put(k('d'), '4'),
  put(k('e'), '5'),
  del(k('b'), { rangeEnd: k('d'), prevKv: true }),
  getPrefix(k('')),
  del(k('d'), { rangeEnd: k('a') }),
  getPrefix(k(''), { countOnly: true }),
]);

def('delete: prefix, deleted counts', {}, ({ k }) => [
  put(k('p/1'), '1'),
  put(k('p/2'), '2'),
  put(k('p/3'), '3'),
  put(k('q'), '4'),
  delPrefix(k('p/')),
  getPrefix(k('')),
  put(k('p/4'), '5'),
  delPrefix(k('p/'), { prevKv: true }),
  delPrefix(k('p/'), { prevKv: true }),
]);

def('delete: from key and all keys', { fresh: true }, () => [
  put(Buffer.from('a'), '1'),
  put(Buffer.from('b'), '2'),
  put(Buffer.from('c'), '3'),
  put(Buffer.from('d'), '4'),
  del(Buffer.from('c'), { rangeEnd: Buffer.from([0]), prevKv: true }),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]) }),
  del(Buffer.from([0]), { rangeEnd: Buffer.from([0]) }),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]) }),
  get(Buffer.from([0]), { rangeEnd: Buffer.from([0]), revision: 5 }),
]);

def('delete: version restarts at 1 after delete and recreate', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  put(k('a'), '3'),
  del(k('a')),
  put(k('a'), '4', { prevKv: true }),
  get(k('a')),
  put(k('a'), '5', { prevKv: true }),
  get(k('a')),
]);

def('delete: deleting nothing creates no revision', {}, ({ k }) => [
  del(k('missing')),
  delPrefix(k('none/'), { prevKv: true }),
  put(k('a'), '1'),
  get(k('a')),
  del(k('b'), { rangeEnd: k('c') }),
  get(k('a'), { revision: R(1) }),
]);

// -- txn compares ------------------------------------------------------------------

/** x: version 2, create R2, mod R3, value "c"; attached to lease `l` when given (granting creates no revision). */
const cmpSetup = (k: Ctx['k'], l?: bigint): Step[] =>
  l === undefined
    ? [put(k('other'), '0'), put(k('x'), 'b'), put(k('x'), 'c')]
    : [grant(l), put(k('other'), '0'), put(k('x'), 'b'), put(k('x'), 'c', { lease: l })];

/** A txn whose branches are told apart by what they write and read. */
const branchTxn = (k: Ctx['k'], compare: Message[]): Step =>
  txn({
    compare,
    success: [oPut(k('out'), 'then', { prevKv: true }), oGet(k('x'))],
    failure: [oPut(k('out'), 'else', { prevKv: true }), oGet(k('x'), { keysOnly: true })],
  });

def('txn: compare VALUE x EQUAL/GREATER/LESS/NOT_EQUAL', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'EQUAL', 'c')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'EQUAL', 'b')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'GREATER', 'b')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'GREATER', 'cc')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'LESS', 'cc')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'LESS', 'c')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'NOT_EQUAL', 'd')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'NOT_EQUAL', 'c')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'GREATER', '')]),
]);

def('txn: compare VERSION x EQUAL/GREATER/LESS/NOT_EQUAL', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'EQUAL', 2)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'EQUAL', 3)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'GREATER', 1)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'GREATER', 2)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'LESS', 3)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'LESS', 2)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'NOT_EQUAL', 0)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'NOT_EQUAL', 2)]),
]);

def('txn: compare CREATE x EQUAL/GREATER/LESS/NOT_EQUAL', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'EQUAL', R(2))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'EQUAL', R(3))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'GREATER', R(1))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'GREATER', R(2))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'LESS', R(3))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'LESS', R(2))]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'NOT_EQUAL', 0)]),
  branchTxn(k, [cmp(k('x'), 'CREATE', 'NOT_EQUAL', R(2))]),
]);

def('txn: compare MOD x EQUAL/GREATER/LESS/NOT_EQUAL', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [cmp(k('x'), 'MOD', 'EQUAL', R(3))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'EQUAL', R(2))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'GREATER', R(2))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'GREATER', R(3))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'LESS', R(4))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'LESS', R(3))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'NOT_EQUAL', R(1))]),
  branchTxn(k, [cmp(k('x'), 'MOD', 'NOT_EQUAL', R(3))]),
]);

def('txn: compare LEASE x EQUAL/GREATER/LESS/NOT_EQUAL', {}, ({ k, lease }) => [
  ...cmpSetup(k, lease(1)),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'EQUAL', lease(1))]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'EQUAL', 0n)]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'GREATER', 0n)]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'GREATER', lease(1))]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'LESS', lease(2))]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'LESS', lease(1))]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'NOT_EQUAL', 0n)]),
  branchTxn(k, [cmp(k('x'), 'LEASE', 'NOT_EQUAL', lease(1))]),
  branchTxn(k, [cmp(k('other'), 'LEASE', 'EQUAL', 0n)]),
]);

def('txn: compares on a missing key (a VALUE compare always fails)', {}, ({ k }) => [
  branchTxn(k, [cmp(k('missing'), 'VERSION', 'EQUAL', 0)]),
  branchTxn(k, [cmp(k('missing'), 'CREATE', 'EQUAL', 0)]),
  branchTxn(k, [cmp(k('missing'), 'MOD', 'LESS', 1)]),
  branchTxn(k, [cmp(k('missing'), 'LEASE', 'EQUAL', 0n)]),
  branchTxn(k, [cmp(k('missing'), 'VALUE', 'EQUAL', '')]),
  branchTxn(k, [cmp(k('missing'), 'VALUE', 'NOT_EQUAL', 'x')]),
  branchTxn(k, [cmp(k('missing'), 'VERSION', 'GREATER', 0)]),
]);

def('txn: compares over a key range (range_end)', {}, ({ k }) => [
  put(k('p/a'), '1'),
  put(k('p/b'), '1'),
  put(k('p/c'), '2'),
  branchTxn(k, [cmp(k('p/a'), 'VALUE', 'EQUAL', '1', { rangeEnd: k('p/c') })]),
  branchTxn(k, [cmp(k('p/'), 'VALUE', 'EQUAL', '1', { rangeEnd: prefixEnd(k('p/')) })]),
  branchTxn(k, [cmp(k('p/'), 'VERSION', 'GREATER', 0, { rangeEnd: prefixEnd(k('p/')) })]),
  branchTxn(k, [cmp(k('p/'), 'MOD', 'LESS', R(3), { rangeEnd: prefixEnd(k('p/')) })]),
  branchTxn(k, [cmp(k('q/'), 'VERSION', 'EQUAL', 0, { rangeEnd: prefixEnd(k('q/')) })]),
  branchTxn(k, [cmp(k('q/'), 'VALUE', 'EQUAL', '', { rangeEnd: prefixEnd(k('q/')) })]),
  branchTxn(k, [cmp(k('p/c'), 'CREATE', 'GREATER', R(0), { rangeEnd: k('p/a') })]),
]);

def('txn: several compares are ANDed', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'EQUAL', 'c'), cmp(k('x'), 'VERSION', 'EQUAL', 2), cmp(k('x'), 'MOD', 'EQUAL', R(3))]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'EQUAL', 'c'), cmp(k('x'), 'VERSION', 'EQUAL', 3)]),
  branchTxn(k, [cmp(k('x'), 'VERSION', 'EQUAL', 9), cmp(k('missing'), 'VALUE', 'EQUAL', 'c')]),
]);

def('txn: lenient compares (mismatched union member, unknown result or target)', {}, ({ k }) => [
  ...cmpSetup(k),
  branchTxn(k, [{ key: k('x'), target: CmpTarget.VERSION, result: CmpResult.EQUAL, modRevision: R(3) }]),
  branchTxn(k, [{ key: k('x'), target: CmpTarget.VERSION, result: CmpResult.GREATER, value: b('zz') }]),
  branchTxn(k, [{ key: k('x'), target: CmpTarget.VALUE, result: CmpResult.GREATER, version: 5 }]),
  branchTxn(k, [{ key: k('x'), target: CmpTarget.MOD, result: 9, modRevision: R(100) }]),
  branchTxn(k, [{ key: k('x'), target: 9, result: CmpResult.EQUAL, version: 5 }]),
  branchTxn(k, [{ key: k('x'), target: 9, result: CmpResult.GREATER, version: 5 }]),
]);

def('txn: VALUE compares are bytewise', {}, ({ k }) => [
  put(k('x'), Buffer.from([0xc3, 0xa9])),
  put(k('y'), Buffer.from([0x00, 0x01])),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'GREATER', 'z')]),
  branchTxn(k, [cmp(k('x'), 'VALUE', 'LESS', Buffer.from([0xff]))]),
  branchTxn(k, [cmp(k('y'), 'VALUE', 'GREATER', '')]),
  branchTxn(k, [cmp(k('y'), 'VALUE', 'LESS', Buffer.from([0x00, 0x01, 0x00]))]),
  branchTxn(k, [cmp(k('y'), 'VALUE', 'EQUAL', Buffer.from([0x00, 0x01]))]),
]);

// -- txn operations -------------------------------------------------------------------

def('txn: range options inside a txn (limit, sort, count_only, keys_only, filters, revision)', {}, ({ k }) => [
  ...sortSetup(k),
  txn({
    success: [
      oGet(k(''), { rangeEnd: prefixEnd(k('')), limit: 2 }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND, limit: 3 }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), countOnly: true }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), keysOnly: true, sortTarget: SortTarget.VERSION }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), minModRevision: R(4), maxCreateRevision: R(3) }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), revision: R(3) }),
      oGet(k('a'), { serializable: true }),
    ],
  }),
]);

def('txn: success branch responses (range, put, delete_range)', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '2'),
  txn({
    compare: [cmp(k('a'), 'VERSION', 'EQUAL', 1)],
    success: [
      oGet(k(''), { rangeEnd: prefixEnd(k('')) }),
      oPut(k('c'), '3', { prevKv: true }),
      oPut(k('a'), '11', { prevKv: true }),
      oDel(k('b'), { prevKv: true }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')) }),
      oDel(k('zz'), { prevKv: true }),
    ],
    failure: [oPut(k('never'), 'x')],
  }),
  getPrefix(k('')),
]);

def('txn: failure branch responses', {}, ({ k }) => [
  put(k('a'), '1'),
  txn({
    compare: [cmp(k('a'), 'VALUE', 'EQUAL', 'nope')],
    success: [oPut(k('never'), 'x')],
    failure: [oGet(k('a')), oPut(k('b'), '2'), oDel(k('a'), { prevKv: true }), oGet(k(''), { rangeEnd: prefixEnd(k('')), countOnly: true })],
  }),
  getPrefix(k('')),
  txn({ compare: [cmp(k('a'), 'VERSION', 'GREATER', 0)], failure: [] }),
]);

def('txn: writes share one revision; later ops see earlier ones', {}, ({ k }) => [
  put(k('c'), 'old'),
  txn({
    success: [
      oPut(k('a'), '1'),
      oPut(k('b'), '1', { prevKv: true }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')) }),
      oDel(k('c'), { prevKv: true }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')) }),
      oGet(k('c'), { revision: R(1) }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')), sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND }),
    ],
  }),
  getPrefix(k('')),
  get(k('c'), { revision: R(2) }),
  get(k('c'), { revision: R(1) }),
  put(k('d'), 'next'),
  get(k('d')),
]);

def('txn: nested txns', {}, ({ k }) => [
  put(k('a'), '1'),
  txn({
    compare: [cmp(k('a'), 'VALUE', 'EQUAL', '1')],
    success: [
      oTxn({
        compare: [cmp(k('a'), 'VERSION', 'EQUAL', 1)],
        success: [oPut(k('n1'), 'then'), oGet(k('a'))],
        failure: [oPut(k('n1'), 'else')],
      }),
      oTxn({
        compare: [cmp(k('a'), 'VERSION', 'EQUAL', 5)],
        success: [oPut(k('n2'), 'then')],
        failure: [
          oPut(k('n2'), 'else'),
          oTxn({ compare: [cmp(k('n1'), 'VALUE', 'EQUAL', 'then')], success: [oGet(k('n1')), oDel(k('a'), { prevKv: true })] }),
        ],
      }),
      oGet(k(''), { rangeEnd: prefixEnd(k('')) }),
    ],
    failure: [oPut(k('outer-else'), 'x')],
  }),
  getPrefix(k('')),
]);

def('txn: read-only and empty txns create no revision', {}, ({ k }) => [
  put(k('a'), '1'),
  txn({ success: [oGet(k('a')), oGet(k('b'))] }),
  txn({}),
  txn({ compare: [cmp(k('a'), 'VERSION', 'EQUAL', 1)] }),
  txn({ success: [oDel(k('zzz'))] }),
  put(k('b'), '2'),
  getPrefix(k('')),
]);

def('txn: ops that fail inside a txn', {}, ({ k, lease }) => [
  put(k('a'), '1'),
  fails(ERR.leaseNotFound, txn({ success: [oPut(k('b'), '2'), oPut(k('c'), '3', { lease: lease(7) })] })),
  getPrefix(k('')),
  fails(ERR.keyNotFound, txn({ success: [{ requestPut: { key: k('missing'), ignoreValue: true } }] })),
  fails(ERR.futureRev, txn({ success: [oPut(k('b'), '2'), oGet(k('a'), { revision: R(50) })] })),
  getPrefix(k('')),
  txn({ compare: [cmp(k('a'), 'VERSION', 'EQUAL', 99)], success: [oPut(k('c'), '3', { lease: lease(7) })], failure: [oGet(k('a'))] }),
]);

// -- compaction -------------------------------------------------------------------------

def('compact: reads below fail, at and above succeed', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  put(k('a'), '3'),
  compact(R(2)),
  fails(ERR.compacted, get(k('a'), { revision: R(1) })),
  get(k('a'), { revision: R(2) }),
  get(k('a'), { revision: R(3) }),
  get(k('a')),
  fails(ERR.compacted, txn({ success: [oGet(k('a'), { revision: R(1) })] })),
  txn({ success: [oGet(k('a'), { revision: R(2) })] }),
]);

def('hash: HashKV of a new store, at past revisions, and after a compaction', { fresh: true }, () => [
  hashKV(),
  put(Buffer.from('x'), '1'),
  put(Buffer.from('y'), '2'),
  put(Buffer.from('x'), '3'),
  del(Buffer.from('y')),
  hashKV(),
  hashKV(R(2)),
  fails(ERR.futureRev, hashKV(R(100))),
  compact(R(3)),
  hashKV(),
  hashKV(R(4)),
  // at the compacted revision itself too, unlike Range
  fails(ERR.compacted, hashKV(R(3))),
  fails(ERR.compacted, hashKV(R(2))),
]);

def('compact: a future revision fails, the current one succeeds', {}, ({ k }) => [
  put(k('a'), '1'),
  fails(ERR.futureRev, compact(R(2))),
  fails(ERR.futureRev, compact(R(1000))),
  compact(R(1)),
  get(k('a'), { revision: R(1) }),
]);

def('compact: twice at the same revision, and below it', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('a'), '2'),
  put(k('a'), '3'),
  compact(R(2)),
  fails(ERR.compacted, compact(R(2))),
  fails(ERR.compacted, compact(R(1))),
  compact(R(3)),
  fails(ERR.compacted, get(k('a'), { revision: R(2) })),
  get(k('a'), { revision: R(3) }),
]);

def('compact: physical, then history and tombstones', {}, ({ k }) => [
  put(k('a'), '1'),
  put(k('b'), '1'),
  del(k('a')),
  put(k('b'), '2'),
  compact(R(3), true),
  getPrefix(k(''), { revision: R(3) }),
  getPrefix(k(''), { revision: R(4) }),
  fails(ERR.compacted, getPrefix(k(''), { revision: R(2), countOnly: true })),
  put(k('a'), 'again'),
  get(k('a')),
  getPrefix(k(''), { minCreateRevision: R(1), maxModRevision: R(5) }),
]);

def('compact: revisions 0 and 1 on a fresh server', { fresh: true }, () => [
  compact(0),
  compact(1),
  fails(ERR.compacted, compact(1)),
  put(Buffer.from('a'), '1'),
  get(Buffer.from('a'), { revision: 1 }),
  compact(2),
  fails(ERR.compacted, get(Buffer.from('a'), { revision: 1 })),
]);

// -- request validation ----------------------------------------------------------------

def('errors: empty key in range, put and delete', {}, ({ k }) => [
  fails(ERR.emptyKey, get(Buffer.alloc(0))),
  fails(ERR.emptyKey, get(Buffer.alloc(0), { rangeEnd: k('z') })),
  fails(ERR.emptyKey, put(Buffer.alloc(0), 'v')),
  fails(ERR.emptyKey, del(Buffer.alloc(0))),
  fails(ERR.emptyKey, del(Buffer.alloc(0), { rangeEnd: Buffer.from([0]) })),
  put(k('a'), '1'),
  get(k('a')),
]);

def('errors: empty key in txn ops and compares', {}, ({ k }) => [
  fails(ERR.emptyKey, txn({ compare: [cmp(Buffer.alloc(0), 'VERSION', 'EQUAL', 0)] })),
  fails(ERR.emptyKey, txn({ success: [oGet(Buffer.alloc(0))] })),
  fails(ERR.emptyKey, txn({ success: [oPut(k('a'), '1'), oPut(Buffer.alloc(0), 'v')] })),
  fails(ERR.emptyKey, txn({ failure: [oDel(Buffer.alloc(0))] })),
  fails(ERR.emptyKey, txn({ success: [oTxn({ failure: [oGet(Buffer.alloc(0))] })] })),
  get(k('a')),
]);

def('errors: an empty RequestOp in a txn', {}, ({ k }) => [
  fails(ERR.keyNotFound, txn({ success: [{}] })),
  fails(ERR.keyNotFound, txn({ success: [oPut(k('a'), '1')], failure: [{}] })),
  fails(ERR.keyNotFound, txn({ success: [oTxn({ success: [{}] })] })),
  get(k('a')),
]);

const manyPuts = (k: Ctx['k'], n: number, tag: string): Message[] => Array.from({ length: n }, (_, i) => oPut(k(`${tag}${String(i).padStart(3, '0')}`), 'v'));

def('errors: more than --max-txn-ops (default 128) operations', {}, ({ k }) => [
  fails(ERR.tooManyOps, txn({ success: manyPuts(k, 129, 's') })),
  fails(ERR.tooManyOps, txn({ failure: manyPuts(k, 129, 'f') })),
  fails(ERR.tooManyOps, txn({ compare: Array.from({ length: 129 }, (_, i) => cmp(k(`c${i}`), 'VERSION', 'EQUAL', 0)) })),
  getPrefix(k(''), { countOnly: true }),
  txn({ success: manyPuts(k, 128, 'ok') }),
  getPrefix(k(''), { limit: 3 }),
  txn({ compare: Array.from({ length: 128 }, (_, i) => cmp(k(`ok${String(i).padStart(3, '0')}`), 'VERSION', 'EQUAL', 1)), success: [oGet(k('ok127'))] }),
]);

def('errors: --max-txn-ops 4', { profile: 'maxTxnOps4' }, ({ k }) => [
  fails(ERR.tooManyOps, txn({ success: manyPuts(k, 5, 'a') })),
  txn({ success: manyPuts(k, 4, 'b') }),
  fails(ERR.tooManyOps, txn({ compare: Array.from({ length: 5 }, (_, i) => cmp(k(`b00${i}`), 'VERSION', 'GREATER', 0)) })),
  txn({ compare: Array.from({ length: 4 }, (_, i) => cmp(k(`b00${i}`), 'VERSION', 'GREATER', 0)), success: [oGet(k('b000'))] }),
  fails(ERR.tooManyOps, txn({ success: [oPut(k('n1'), 'v'), oTxn({ success: manyPuts(k, 3, 'n') })] })),
  txn({ success: [oPut(k('m1'), 'v'), oTxn({ success: manyPuts(k, 2, 'm') })] }),
  getPrefix(k(''), { keysOnly: true }),
]);

def('errors: duplicate keys in one txn', {}, ({ k }) => [
  put(k('a'), '0'),
  fails(ERR.duplicateKey, txn({ success: [oPut(k('a'), '1'), oPut(k('a'), '2')] })),
  fails(ERR.duplicateKey, txn({ success: [oPut(k('b'), '1'), oDel(k('a'), { rangeEnd: k('c') })] })),
  fails(ERR.duplicateKey, txn({ success: [oDel(k('a')), oPut(k('a'), '1')] })),
  fails(ERR.duplicateKey, txn({ failure: [oPut(k('x'), '1'), oTxn({ success: [oPut(k('x'), '2')] })] })),
  fails(ERR.duplicateKey, txn({ success: [oDel(k(''), { rangeEnd: prefixEnd(k('')) }), oTxn({ failure: [oPut(k('y'), '2')] })] })),
  txn({ success: [oTxn({ success: [oPut(k('t'), 'then')], failure: [oPut(k('t'), 'else')] })] }),
  txn({ success: [oDel(k('a')), oDel(k('a'), { rangeEnd: k('b') }), oPut(k('b'), '1'), oGet(k('a'))] }),
  getPrefix(k('')),
]);

def('errors: a request over the default --max-request-bytes (1.5 MiB)', {}, ({ k }) => [
  fails(ERR.tooLarge, put(k('huge'), Buffer.alloc(1_677_722, 0x62))),
  get(k('huge')),
  fails(ERR.tooLarge, txn({ success: [oPut(k('h1'), Buffer.alloc(900_000, 1)), oPut(k('h2'), Buffer.alloc(900_000, 2))] })),
  put(k('small'), 'ok'),
]);

def('errors: --max-request-bytes 1024', { profile: 'maxRequestBytes1024' }, ({ k }) => [
  fails(ERR.tooLarge, put(k('a'), Buffer.alloc(2048, 0x61))),
  put(k('a'), Buffer.alloc(800, 0x61)),
  get(k('a'), { keysOnly: true }),
  fails(ERR.tooLarge, txn({ success: [oPut(k('b'), Buffer.alloc(400, 1)), oPut(k('c'), Buffer.alloc(400, 2)), oPut(k('d'), Buffer.alloc(400, 3))] })),
  get(k(Buffer.alloc(2048, 0x6b))),
  fails(ERR.tooLarge, del(k(Buffer.alloc(2048, 0x6b)))),
  getPrefix(k(''), { countOnly: true }),
]);

def('errors: a message over the gRPC receive limit is refused by gRPC', { profile: 'maxRequestBytes1024' }, ({ k }) => [
  { ...put(k('a'), Buffer.alloc(600 * 1024, 0x61)), expectError: 'grpc', codeOnly: true },
  get(k('a')),
]);
