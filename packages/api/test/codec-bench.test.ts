// Microbenchmark printout of the hot codec paths (no timing assertions).
// protobufjs's reflection codec over the same .proto files is shown for scale.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PreEncoded, etcdserverpb, mvccpb } from '../src/index.js';

// The package directory, whether this runs from test/ or from dist/test/.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIR = path.resolve(HERE, existsSync(path.join(HERE, '../proto')) ? '../proto' : '../../proto');
const BUDGET_MS = Number(process.env.CODEC_BENCH_MS ?? 270);

/**
 * ns/op of f: the fastest of ROUNDS timed rounds (the machine is shared, so
 * the minimum is the least noisy estimate), with the median for context.
 */
const ROUNDS = 9;
function bench(name: string, f: () => unknown): number {
  for (let i = 0; i < 2000; i++) f();
  const perRound: number[] = [];
  const roundNs = BigInt(Math.max(1, Math.round(BUDGET_MS / ROUNDS))) * 1_000_000n;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let now = start;
    while (now - start < roundNs) {
      for (let i = 0; i < 50; i++) f();
      n += 50;
      now = process.hrtime.bigint();
    }
    perRound.push(Number(now - start) / n);
  }
  perRound.sort((a, b) => a - b);
  const min = perRound[0]!;
  const median = perRound[Math.floor(ROUNDS / 2)]!;
  const fmt = (x: number): string => x.toFixed(0).padStart(8);
  console.log(
    `${name.padEnd(44)} min ${fmt(min)} ns/op (${Math.round(1e9 / min).toLocaleString('en-US').padStart(10)} op/s)  median ${fmt(median)} ns/op`,
  );
  return min;
}

const kvs: mvccpb.KeyValueInit[] = [];
for (let i = 0; i < 100; i++) {
  kvs.push({
    key: Buffer.from(`/registry/pods/default/web-${String(i).padStart(5, '0')}`),
    createRevision: 1_000_000 + i,
    modRevision: 2_000_000 + i,
    version: 1 + (i % 7),
    value: Buffer.alloc(128, i),
    lease: i % 2 === 0 ? 0n : 0x694d7a5c3e2f1a0bn,
  });
}
const header = { clusterId: 0xcdf818194e3a8c32n, memberId: 0x8e9e05c52164694dn, revision: 2_000_100, raftTerm: 5 };
const rangeInit: etcdserverpb.RangeResponseInit = { header, kvs, count: 100 };
const stored = kvs.map((kv) => new PreEncoded(mvccpb.KeyValue.encode(kv)));
const rangePre: etcdserverpb.RangeResponseInit = { header, kvs: stored, count: 100 };
const putInit: etcdserverpb.PutRequestInit = { key: Buffer.from('/registry/leases/kube-node-lease/node-1'), value: Buffer.alloc(256, 1), lease: 0x694d7a5c3e2f1a0bn };

test('codec microbenchmark', () => {
  const rangeBytes = etcdserverpb.RangeResponse.encode(rangeInit);
  const putBytes = etcdserverpb.PutRequest.encode(putInit);
  assert.is(etcdserverpb.RangeResponse.encode(rangePre).toString('hex'), rangeBytes.toString('hex'));
  assert.is(etcdserverpb.RangeResponse.decode(rangeBytes).kvs.length, 100);

  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => (path.isAbsolute(t) ? t : path.join(PROTO_DIR, t));
  root.loadSync(['etcdserverpb/rpc.proto'], { keepCase: false });
  root.resolveAll();
  const PbRange = root.lookupType('etcdserverpb.RangeResponse');
  const PbPut = root.lookupType('etcdserverpb.PutRequest');
  const pbRangeMsg = PbRange.decode(rangeBytes);
  const pbPutMsg = PbPut.decode(putBytes);
  assert.is(Buffer.from(PbRange.encode(pbRangeMsg).finish()).length, rangeBytes.length);

  console.log(`\nRangeResponse: 100 KeyValues, ${rangeBytes.length} bytes; PutRequest: ${putBytes.length} bytes`);
  bench('RangeResponse encode (objects)', () => etcdserverpb.RangeResponse.encode(rangeInit));
  bench('RangeResponse encode (PreEncoded kvs)', () => etcdserverpb.RangeResponse.encode(rangePre));
  bench('RangeResponse decode', () => etcdserverpb.RangeResponse.decode(rangeBytes));
  bench('RangeResponse encode+decode', () => etcdserverpb.RangeResponse.decode(etcdserverpb.RangeResponse.encode(rangeInit)));
  bench('PutRequest encode', () => etcdserverpb.PutRequest.encode(putInit));
  bench('PutRequest decode', () => etcdserverpb.PutRequest.decode(putBytes));
  bench('PutRequest encode+decode', () => etcdserverpb.PutRequest.decode(etcdserverpb.PutRequest.encode(putInit)));
  bench('protobufjs RangeResponse encode', () => PbRange.encode(pbRangeMsg).finish());
  bench('protobufjs RangeResponse decode', () => PbRange.decode(rangeBytes));
  bench('protobufjs PutRequest encode', () => PbPut.encode(pbPutMsg).finish());
  bench('protobufjs PutRequest decode', () => PbPut.decode(putBytes));
});

test.run();
