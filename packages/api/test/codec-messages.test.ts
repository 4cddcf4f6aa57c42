import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, PreEncoded, Writer, etcdserverpb, mvccpb, raftpb } from '../src/index.js';

// The package directory, whether this runs from test/ or from dist/test/.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const API_DIR = path.resolve(HERE, existsSync(path.join(HERE, '../proto')) ? '..' : '../..');

function throwsCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, CodecError);
    assert.is((e as CodecError).code, code);
    return;
  }
  assert.unreachable(`expected CodecError ${code}`);
}

test('decoded shape: every field present with its default', () => {
  const r = etcdserverpb.RangeRequest.decode(Buffer.alloc(0));
  assert.equal(Object.keys(r), [
    'key',
    'rangeEnd',
    'limit',
    'revision',
    'sortOrder',
    'sortTarget',
    'serializable',
    'keysOnly',
    'countOnly',
    'minModRevision',
    'maxModRevision',
    'minCreateRevision',
    'maxCreateRevision',
  ]);
  assert.is(r.key.length, 0);
  assert.ok(Buffer.isBuffer(r.key));
  assert.is(r.limit, 0);
  assert.is(r.serializable, false);
  const h = etcdserverpb.RangeResponse.decode(Buffer.alloc(0));
  assert.is(h.header, undefined);
  assert.ok('header' in h);
  assert.equal(h.kvs, []);
  const kv = mvccpb.KeyValue.decode(Buffer.alloc(0));
  assert.is(kv.lease, 0n);
  const m = etcdserverpb.Member.decode(Buffer.alloc(0));
  assert.is(m.ID, 0n);
  assert.equal(m.peerURLs, []);
  assert.is(m.name, '');
  const op = etcdserverpb.RequestOp.decode(Buffer.alloc(0));
  assert.equal(Object.keys(op), []);
  assert.equal(etcdserverpb.RangeRequest.create(), r);
  assert.equal(etcdserverpb.RangeResponse.create(), h);
});

test('field names follow protobufjs camelCase', () => {
  // Only `_` followed by a lowercase letter is folded, as protobufjs does.
  const c = etcdserverpb.LeaseCheckpoint.create({ ID: 1n, remaining_TTL: 2 });
  assert.equal(Object.keys(c), ['ID', 'remaining_TTL']);
  const s = etcdserverpb.StatusResponse.create();
  assert.ok('dbSizeInUse' in s && 'raftAppliedIndex' in s && 'isLearner' in s);
  const cs = raftpb.ConfState.create();
  assert.equal(Object.keys(cs), ['voters', 'learners', 'votersOutgoing', 'learnersNext', 'autoLeave']);
  const cc = raftpb.ConfChange.create();
  assert.ok('nodeId' in cc && 'id' in cc);
  assert.is(cc.nodeId, 0n);
  const e = raftpb.Entry.create();
  assert.equal(Object.keys(e), ['Type', 'Term', 'Index', 'Data']);
});

test('proto3 encoding omits defaults and orders by field number', () => {
  assert.is(etcdserverpb.PutRequest.encode({}).length, 0);
  assert.is(etcdserverpb.PutRequest.encode({ key: '', value: Buffer.alloc(0), lease: 0n, prevKv: false }).length, 0);
  assert.is(etcdserverpb.PutRequest.encode({ prevKv: true, key: 'k' }).toString('hex'), '0a016b2001');
  // Compare.range_end is field 64: a two-byte tag, written after the oneof.
  assert.is(etcdserverpb.Compare.encode({ rangeEnd: 'z', key: 'a' }).toString('hex'), '1a01618204017a');
});

test('round trip of a decoded message re-encodes to the same bytes', () => {
  const init: etcdserverpb.TxnRequestInit = {
    compare: [{ key: 'a', target: etcdserverpb.Compare_CompareTarget.MOD, modRevision: 5 }],
    success: [{ requestPut: { key: 'a', value: 'b', lease: 0x7fffffffffffffffn } }],
    failure: [{ requestRange: { key: 'a', rangeEnd: Buffer.from([0]) } }],
  };
  const b = etcdserverpb.TxnRequest.encode(init);
  const d = etcdserverpb.TxnRequest.decode(b);
  assert.is(etcdserverpb.TxnRequest.encode(d).toString('hex'), b.toString('hex'));
  assert.is(d.success[0]?.requestPut?.lease, 0x7fffffffffffffffn);
  assert.is(d.compare[0]?.modRevision, 5);
  assert.is(d.failure[0]?.requestRange?.rangeEnd[0], 0);
});

test('bigint fields accept numbers; numbers outside the safe range are rejected', () => {
  const b = etcdserverpb.LeaseGrantRequest.encode({ ID: 5, TTL: 10 });
  assert.equal(etcdserverpb.LeaseGrantRequest.decode(b), { TTL: 10, ID: 5n });
  throwsCode(() => etcdserverpb.RangeRequest.encode({ revision: 2 ** 60 }), 'INTEGER_RANGE');
  const w = new Writer();
  w.tag(4, 0);
  w.int64Big(2n ** 60n);
  throwsCode(() => etcdserverpb.RangeRequest.decode(w.finish()), 'INTEGER_RANGE');
  throwsCode(() => etcdserverpb.Member.encode({ ID: -1n }), 'INTEGER_RANGE');
  throwsCode(() => mvccpb.KeyValue.encode({ lease: 2n ** 63n }), 'INTEGER_RANGE');
});

test('negative int64 numbers and bigints', () => {
  const b = etcdserverpb.LeaseTimeToLiveResponse.encode({ TTL: -1, ID: -2n });
  assert.is(b.toString('hex'), '10feffffffffffffffff0118ffffffffffffffffff01');
  const d = etcdserverpb.LeaseTimeToLiveResponse.decode(b);
  assert.is(d.TTL, -1);
  assert.is(d.ID, -2n);
});

test('PreEncoded message bytes are spliced verbatim', () => {
  const kvInit = { key: 'k', value: 'v'.repeat(200), createRevision: 1, modRevision: 2, version: 1, lease: 3n };
  const stored = mvccpb.KeyValue.encode(kvInit);
  const spliced = etcdserverpb.RangeResponse.encode({ kvs: [new PreEncoded(stored), new PreEncoded(stored)], count: 2 });
  const plain = etcdserverpb.RangeResponse.encode({ kvs: [kvInit, kvInit], count: 2 });
  assert.is(spliced.toString('hex'), plain.toString('hex'));
  const ev = mvccpb.Event.encode({ kv: new PreEncoded(stored), prevKv: new PreEncoded(mvccpb.KeyValue.encode({ key: 'k' })) });
  assert.is(mvccpb.Event.decode(ev).prevKv?.key.toString(), 'k');
  const created = etcdserverpb.RangeResponse.create({ kvs: [new PreEncoded(stored)] });
  assert.is(created.kvs[0]?.value.length, 200);
  assert.is(created.kvs[0]?.lease, 3n);
});

test('unknown fields are skipped', () => {
  const w = new Writer();
  w.tag(99, 2);
  w.bytes('future');
  w.tag(1, 2);
  w.bytes('key');
  w.tag(100, 0);
  w.uint64Big(2n ** 64n - 1n);
  w.tag(101, 5);
  w.fixed32(1);
  w.tag(102, 1);
  w.fixed64(1);
  w.tag(103, 3);
  w.tag(1, 0);
  w.uint32(5);
  w.tag(103, 4);
  w.tag(5, 2);
  w.bytes('value');
  const kv = mvccpb.KeyValue.decode(w.finish());
  assert.is(kv.key.toString(), 'key');
  assert.is(kv.createRevision, 0);
  assert.is(kv.value.toString(), 'value');
});

test('known field with an unexpected wire type is skipped', () => {
  const w = new Writer();
  w.tag(2, 2); // create_revision is a varint
  w.bytes('xx');
  assert.is(mvccpb.KeyValue.decode(w.finish()).createRevision, 0);
});

test('repeated scalars: packed on encode, both forms accepted on decode', () => {
  const packed = etcdserverpb.WatchCreateRequest.encode({ filters: [0, 1, 1] });
  assert.is(packed.toString('hex'), '2a03000101');
  const w = new Writer();
  w.tag(5, 0);
  w.uint32(1);
  w.tag(5, 0);
  w.uint32(0);
  w.tag(5, 2);
  w.bytes(Buffer.from([1, 1]));
  assert.equal(etcdserverpb.WatchCreateRequest.decode(w.finish()).filters, [1, 0, 1, 1]);
  // proto2 raftpb.ConfState: unpacked on encode, both on decode.
  const cs = raftpb.ConfState.encode({ voters: [1n, 2n] });
  assert.is(cs.toString('hex'), '08010802');
  const w2 = new Writer();
  w2.tag(1, 2);
  const mark = w2.fork();
  w2.uint64Big(3n);
  w2.uint64Big(2n ** 64n - 1n);
  w2.join(mark);
  w2.tag(1, 0);
  w2.uint32(4);
  assert.equal(raftpb.ConfState.decode(w2.finish()).voters, [3n, 2n ** 64n - 1n, 4n]);
});

test('unknown enum numbers decode as the number', () => {
  const w = new Writer();
  w.tag(1, 0);
  w.uint32(42);
  const e = mvccpb.Event.decode(w.finish());
  assert.is(e.type as number, 42);
  assert.is(mvccpb.Event.encode(e).toString('hex'), '082a');
});

test('oneof: encoding more than one member is rejected; decoding keeps the last', () => {
  throwsCode(() => etcdserverpb.RequestOp.encode({ requestPut: {}, requestRange: {} }), 'ONEOF_CONFLICT');
  throwsCode(() => etcdserverpb.Compare.encode({ version: 1, modRevision: 2 }), 'ONEOF_CONFLICT');
  const a = etcdserverpb.RequestOp.encode({ requestPut: { key: 'p' } });
  const b = etcdserverpb.RequestOp.encode({ requestRange: { key: 'r' } });
  const d = etcdserverpb.RequestOp.decode(Buffer.concat([a, b]));
  assert.equal(Object.keys(d), ['requestRange']);
  assert.is(d.requestRange?.key.toString(), 'r');
});

test('sub-message overrunning its length is rejected', () => {
  // RangeResponse.header with length 2 whose field claims 3 bytes.
  const bad = Buffer.from('0a020a0301', 'hex');
  let threw = false;
  try {
    etcdserverpb.RangeResponse.decode(bad);
  } catch (e) {
    threw = e instanceof CodecError;
  }
  assert.ok(threw);
  throwsCode(() => etcdserverpb.RangeResponse.decode(Buffer.from('0a05', 'hex')), 'TRUNCATED');
  throwsCode(() => etcdserverpb.RangeResponse.decode(Buffer.from('0a0208', 'hex')), 'TRUNCATED');
  throwsCode(() => etcdserverpb.RangeResponse.decode(Buffer.from('0a01080a', 'hex')), 'LENGTH_MISMATCH');
});

test('encodeTo writes fields without a length prefix; nested encode calls are independent', () => {
  const w = new Writer();
  etcdserverpb.PutRequest.encodeTo({ key: 'k' }, w);
  assert.is(w.finish().toString('hex'), '0a016b');
  const a = etcdserverpb.PutRequest.encode({ key: 'a' });
  const b = etcdserverpb.PutRequest.encode({ key: 'b' });
  assert.is(a.toString('hex'), '0a0161');
  assert.is(b.toString('hex'), '0a0162');
});

test('large messages', () => {
  const value = Buffer.alloc(3 * 1024 * 1024, 1);
  const b = etcdserverpb.PutRequest.encode({ key: 'big', value });
  const d = etcdserverpb.PutRequest.decode(b);
  assert.is(d.value.length, value.length);
  assert.is(etcdserverpb.PutRequest.encode({ key: 'small' }).toString('hex'), '0a05736d616c6c');
});

test('strings of every length class round-trip through message codecs; encodedSize is exact', () => {
  const names = ['', 'a', 'é'.repeat(21), 'é'.repeat(63), '€'.repeat(64), '😀'.repeat(32), 'x\ud800y', '\udc00', 'n'.repeat(65), '€'.repeat(5000)];
  for (const name of names) {
    const m: etcdserverpb.MemberInit = { ID: 0xffffffffffffffffn, name, peerURLs: [name, 'http://a:2380'], clientURLs: [] };
    const b = etcdserverpb.Member.encode(m);
    assert.is(etcdserverpb.Member.encodedSize(m), b.length);
    const d = etcdserverpb.Member.decode(b);
    const expected = Buffer.from(name, 'utf8').toString('utf8');
    assert.is(d.name, expected);
    assert.is(d.peerURLs[0], expected);
    assert.is(d.ID, 0xffffffffffffffffn);
  }
  const big: etcdserverpb.RangeResponseInit = { kvs: [{ key: 'k', value: Buffer.alloc(20000) }, new PreEncoded(mvccpb.KeyValue.encode({ key: 'x' }))] };
  assert.is(etcdserverpb.RangeResponse.encodedSize(big), etcdserverpb.RangeResponse.encode(big).length);
});

test('generator output is deterministic and needs no .proto at run time', () => {
  const genDir = path.join(API_DIR, 'src/gen');
  const before = new Map(readdirSync(genDir).map((f) => [f, readFileSync(path.join(genDir, f), 'utf8')]));
  execFileSync(process.execPath, [path.join(API_DIR, 'scripts/gen-codecs.mjs')]);
  for (const [f, content] of before) {
    assert.is(readFileSync(path.join(genDir, f), 'utf8'), content, f);
    assert.not.match(content, /protobufjs|\.proto['"]/);
  }
});

test.run();
