// Cross-checks the generated codecs against protobufjs's reflection codec
// over the same .proto files, in both directions and byte for byte.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { etcdserverpb, leasepb, mvccpb, raftpb, v3electionpb, type MessageType } from '../src/index.js';

// The package directory, whether this runs from test/ or from dist/test/.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIR = path.resolve(HERE, existsSync(path.join(HERE, '../proto')) ? '../proto' : '../../proto');

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
root.loadSync(
  [
    'etcdserverpb/rpc.proto',
    'etcdserverpb/raft_internal.proto',
    'mvccpb/kv.proto',
    'leasepb/lease.proto',
    'raftpb/raft.proto',
    'v3electionpb/v3election.proto',
  ],
  {},
);
root.resolveAll();

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface LongLike {
  low: number;
  high: number;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v;
}

/**
 * A canonical JSON form of a message given as our decoded shape, our Init
 * shape or a protobufjs message: default-valued fields dropped (except set
 * oneof members), 64-bit integers as decimal strings, bytes as hex.
 */
function canon(type: protobuf.Type, obj: Record<string, unknown>): Json {
  const out: Record<string, Json> = {};
  for (const f of type.fieldsArray) {
    const inOneof = f.partOf !== null && f.partOf !== undefined;
    // protobufjs messages expose unset oneof members through prototype defaults.
    if (inOneof && !Object.prototype.hasOwnProperty.call(obj, f.name)) continue;
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const arr = (v as unknown[]).map((x) => scalarOrMessage(f, x));
      if (arr.length > 0) out[f.name] = arr;
      continue;
    }
    const c = scalarOrMessage(f, v);
    if (!inOneof && isDefault(c)) continue;
    out[f.name] = c;
  }
  return out;
}

function isDefault(c: Json): boolean {
  return c === 0 || c === '0' || c === '' || c === false;
}

function scalarOrMessage(f: protobuf.Field, v: unknown): Json {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return canon(rt, v as Record<string, unknown>);
  if (rt instanceof protobuf.Enum) return Number(v);
  switch (f.type) {
    case 'bytes':
      return typeof v === 'string' ? Buffer.from(v).toString('hex') : Buffer.from(v as Uint8Array).toString('hex');
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      if (isLong(v)) {
        const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
        const unsigned = f.type === 'uint64' || f.type === 'fixed64';
        return (unsigned ? u : BigInt.asIntN(64, u)).toString();
      }
      return String(v);
    default:
      return v as Json;
  }
}

/** protobufjs input for one of our Init values: bigints as decimal strings, strings for bytes as Buffers. */
function toPbjs(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const v = obj[f.name];
    if (v === undefined) continue;
    // protobufjs writes every field present in its input; ours omits proto3
    // defaults, so leave defaults out to compare bytes.
    const inOneof = f.partOf !== null && f.partOf !== undefined;
    if (!f.repeated && !inOneof && !(f.resolvedType instanceof protobuf.Type) && isDefault(scalarOrMessage(f, v))) continue;
    const conv = (x: unknown): unknown => {
      const rt = f.resolvedType;
      if (rt instanceof protobuf.Type) return toPbjs(rt, x as Record<string, unknown>);
      if (typeof x === 'bigint') return x.toString();
      if (f.type === 'bytes' && typeof x === 'string') return Buffer.from(x);
      return x;
    };
    out[f.name] = f.repeated ? (v as unknown[]).map(conv) : conv(v);
  }
  return out;
}

interface Sample {
  name: string;
  codec: MessageType<unknown, unknown>;
  init: Record<string, unknown>;
}

function sample<T, I>(name: string, codec: MessageType<T, I>, init: I): Sample {
  return { name, codec: codec as unknown as MessageType<unknown, unknown>, init: init as Record<string, unknown> };
}

const kv = {
  key: 'foo/bar',
  createRevision: 12,
  modRevision: 9007199254740991,
  version: 3,
  value: Buffer.from([0, 1, 2, 255]),
  lease: 0x694d7a5c3e2f1a0bn,
};

const samples: Sample[] = [
  sample('empty RangeRequest', etcdserverpb.RangeRequest, {}),
  sample('RangeRequest all fields', etcdserverpb.RangeRequest, {
    key: 'a',
    rangeEnd: '\u0000',
    limit: 10,
    revision: 5,
    sortOrder: etcdserverpb.RangeRequest_SortOrder.DESCEND,
    sortTarget: etcdserverpb.RangeRequest_SortTarget.MOD,
    serializable: true,
    keysOnly: true,
    countOnly: true,
    minModRevision: 1,
    maxModRevision: 2,
    minCreateRevision: 3,
    maxCreateRevision: 4,
  }),
  sample('KeyValue', mvccpb.KeyValue, kv),
  sample('KeyValue negative lease', mvccpb.KeyValue, { key: 'k', lease: -1n }),
  sample('KeyValue int64 min lease', mvccpb.KeyValue, { key: 'k', lease: -0x8000000000000000n }),
  sample('RangeResponse', etcdserverpb.RangeResponse, {
    header: { clusterId: 0xfedcba9876543210n, memberId: 0x8000000000000001n, revision: 77, raftTerm: 4 },
    kvs: [kv, { key: 'x', value: 'y'.repeat(300) }, { key: 'z' }],
    more: true,
    count: 3,
  }),
  sample('ResponseHeader uint64 max', etcdserverpb.ResponseHeader, {
    clusterId: 0xffffffffffffffffn,
    memberId: 0x8000000000000000n,
    revision: 1,
  }),
  sample('PutRequest', etcdserverpb.PutRequest, { key: 'k', value: 'v', lease: 0x3039n, prevKv: true, ignoreLease: true }),
  sample('LeaseTimeToLiveResponse negative TTL', etcdserverpb.LeaseTimeToLiveResponse, {
    header: { revision: 1 },
    ID: 123n,
    TTL: -1,
    grantedTTL: 60,
    keys: [Buffer.from('a'), Buffer.from(''), Buffer.from('ccc')],
  }),
  sample('LeaseCheckpointRequest', etcdserverpb.LeaseCheckpointRequest, {
    checkpoints: [
      { ID: 1n, remaining_TTL: 10 },
      { ID: 0x7fffffffffffffffn, remaining_TTL: -5 },
    ],
  }),
  sample('nested TxnRequest with oneofs', etcdserverpb.TxnRequest, {
    compare: [
      { result: etcdserverpb.Compare_CompareResult.EQUAL, target: etcdserverpb.Compare_CompareTarget.VERSION, key: 'a', version: 0 },
      { result: etcdserverpb.Compare_CompareResult.GREATER, target: etcdserverpb.Compare_CompareTarget.CREATE, key: 'b', createRevision: 5 },
      { result: etcdserverpb.Compare_CompareResult.LESS, target: etcdserverpb.Compare_CompareTarget.MOD, key: 'c', modRevision: -3 },
      { result: etcdserverpb.Compare_CompareResult.NOT_EQUAL, target: etcdserverpb.Compare_CompareTarget.VALUE, key: 'd', value: '' },
      { target: etcdserverpb.Compare_CompareTarget.LEASE, key: 'e', lease: 99n, rangeEnd: 'f' },
    ],
    success: [
      { requestPut: { key: 'k', value: 'v' } },
      { requestRange: {} },
      { requestDeleteRange: { key: 'k', rangeEnd: 'l', prevKv: true } },
      {
        requestTxn: {
          compare: [{ key: 'inner', value: 'x' }],
          success: [{ requestPut: { key: 'deep', lease: 1n } }],
          failure: [{ requestTxn: {} }],
        },
      },
    ],
    failure: [{ requestRange: { key: 'k', countOnly: true } }],
  }),
  sample('TxnResponse', etcdserverpb.TxnResponse, {
    header: { revision: 4 },
    succeeded: true,
    responses: [
      { responseRange: { kvs: [kv], count: 1 } },
      { responsePut: { prevKv: kv } },
      { responseDeleteRange: { deleted: 2, prevKvs: [kv, kv] } },
      { responseTxn: { responses: [{ responsePut: {} }] } },
    ],
  }),
  sample('WatchRequest create with packed enum filters', etcdserverpb.WatchRequest, {
    createRequest: {
      key: 'a',
      rangeEnd: 'b',
      startRevision: 100,
      progressNotify: true,
      filters: [etcdserverpb.WatchCreateRequest_FilterType.NOPUT, etcdserverpb.WatchCreateRequest_FilterType.NODELETE],
      prevKv: true,
      watchId: 7,
      fragment: true,
    },
  }),
  sample('WatchRequest cancel', etcdserverpb.WatchRequest, { cancelRequest: { watchId: 0 } }),
  sample('WatchRequest progress (empty member)', etcdserverpb.WatchRequest, { progressRequest: {} }),
  sample('WatchResponse', etcdserverpb.WatchResponse, {
    header: { revision: 10 },
    watchId: 3,
    canceled: true,
    compactRevision: 5,
    cancelReason: 'mvcc: required revision has been compacted ☃ 😀',
    events: [
      { type: mvccpb.Event_EventType.PUT, kv, prevKv: kv },
      { type: mvccpb.Event_EventType.DELETE, kv: { key: 'gone', modRevision: 10 } },
    ],
  }),
  sample('MemberListResponse', etcdserverpb.MemberListResponse, {
    members: [
      { ID: 0x8e9e05c52164694dn, name: 'infra1', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379', 'http://[::1]:2379'] },
      { ID: 1n, isLearner: true, peerURLs: [] },
    ],
  }),
  sample('StatusResponse', etcdserverpb.StatusResponse, {
    version: '3.4.0',
    dbSize: 24576,
    leader: 0xffffffffffffffffn,
    raftIndex: 9,
    raftTerm: 2,
    raftAppliedIndex: 9,
    errors: ['a', ''],
    dbSizeInUse: 1,
    isLearner: true,
  }),
  sample('AlarmRequest', etcdserverpb.AlarmRequest, {
    action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE,
    memberID: 0xabcdef0123456789n,
    alarm: etcdserverpb.AlarmType.NOSPACE,
  }),
  sample('HashKVResponse uint32 max', etcdserverpb.HashKVResponse, { hash: 0xffffffff, compactRevision: 1 }),
  sample('InternalRaftRequest', etcdserverpb.InternalRaftRequest, {
    header: { ID: 0xdeadbeefcafef00dn, username: 'root', authRevision: 3 },
    ID: 5n,
    put: { key: 'k', value: 'v' },
    authRoleGrantPermission: { name: 'r', perm: { permType: 2, key: 'a', rangeEnd: 'b' } },
    v2: { ID: 1n, Method: 'SYNC', Time: 1700000000123456789n, Expiration: -1n, PrevExist: true },
  }),
  sample('leasepb.Lease', leasepb.Lease, { ID: 0x7fffffffffffffffn, TTL: 60, RemainingTTL: 30 }),
  sample('raftpb.Message (proto2, unpacked repeated)', raftpb.Message, {
    type: raftpb.MessageType.MsgApp,
    to: 0xffffffffffffffffn,
    from: 2n,
    term: 3,
    logTerm: 2,
    index: 10,
    entries: [
      { Type: raftpb.EntryType.EntryNormal, Term: 3, Index: 11, Data: Buffer.from('abc') },
      { Type: raftpb.EntryType.EntryConfChange, Term: 3, Index: 12 },
    ],
    commit: 10,
    snapshot: {
      data: 'snap',
      metadata: {
        confState: { voters: [1n, 0xffffffffffffffffn], learners: [3n], votersOutgoing: [4n], learnersNext: [5n], autoLeave: true },
        index: 100,
        term: 3,
      },
    },
    reject: true,
    rejectHint: 4,
    context: 'ctx',
  }),
  sample('raftpb.ConfChangeV2', raftpb.ConfChangeV2, {
    transition: raftpb.ConfChangeTransition.ConfChangeTransitionJointExplicit,
    changes: [
      { type: raftpb.ConfChangeType.ConfChangeAddLearnerNode, nodeId: 7n },
      { type: raftpb.ConfChangeType.ConfChangeRemoveNode, nodeId: 0x8000000000000000n },
    ],
    context: 'x',
  }),
  sample('v3election CampaignResponse', v3electionpb.CampaignResponse, {
    header: { revision: 1 },
    leader: { name: 'e', key: 'e/694d', rev: 5, lease: 0x694dn },
  }),
];

for (const s of samples) {
  test(`cross-check: ${s.name}`, () => {
    const type = root.lookupType(s.codec.fullName);
    const ours = s.codec.encode(s.init);
    const theirs = Buffer.from(type.encode(type.fromObject(toPbjs(type, s.init))).finish());
    assert.is(ours.toString('hex'), theirs.toString('hex'), 'identical bytes');

    const expected = canon(type, s.init);
    const decodedByThem = type.decode(ours) as unknown as Record<string, unknown>;
    assert.equal(canon(type, decodedByThem), expected, 'protobufjs decodes our bytes');
    const decodedByUs = s.codec.decode(theirs) as Record<string, unknown>;
    assert.equal(canon(type, decodedByUs), expected, 'we decode protobufjs bytes');
    assert.equal(canon(type, s.codec.create(s.init) as Record<string, unknown>), expected, 'create() keeps the values');
  });
}

test('oneof members are written even when they hold the default value', () => {
  const b = etcdserverpb.Compare.encode({ key: 'a', version: 0 });
  assert.is(b.toString('hex'), '1a01612000');
  const d = etcdserverpb.Compare.decode(b);
  assert.is(d.version, 0);
  assert.not.ok('createRevision' in d);
  const w = etcdserverpb.WatchRequest.decode(etcdserverpb.WatchRequest.encode({ progressRequest: {} }));
  assert.equal(w.progressRequest, {});
  assert.is(w.createRequest, undefined);
});

test.run();
