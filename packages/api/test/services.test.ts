import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AuthService,
  ClusterService,
  ElectionService,
  KVService,
  LeaseService,
  LockService,
  MaintenanceService,
  PreEncoded,
  WatchService,
  mvccpb,
  type ElectionClientConstructor,
  type ElectionServer,
  type KVClientConstructor,
  type KVServer,
  type LeaseClientConstructor,
  type LeaseServer,
  type etcdserverpb,
} from '../src/index.js';

const ALL = { KVService, WatchService, LeaseService, ClusterService, MaintenanceService, AuthService, LockService, ElectionService };

test('paths, names and streaming flags', () => {
  assert.is(KVService.range.path, '/etcdserverpb.KV/Range');
  assert.is(KVService.range.originalName, 'Range');
  assert.is(KVService.deleteRange.path, '/etcdserverpb.KV/DeleteRange');
  assert.is(WatchService.watch.path, '/etcdserverpb.Watch/Watch');
  assert.ok(WatchService.watch.requestStream && WatchService.watch.responseStream);
  assert.ok(LeaseService.leaseKeepAlive.requestStream && LeaseService.leaseKeepAlive.responseStream);
  assert.ok(!LeaseService.leaseGrant.requestStream && !LeaseService.leaseGrant.responseStream);
  assert.ok(!MaintenanceService.snapshot.requestStream && MaintenanceService.snapshot.responseStream);
  assert.is(MaintenanceService.hashKV.path, '/etcdserverpb.Maintenance/HashKV');
  assert.is(AuthService.userGrantRole.path, '/etcdserverpb.Auth/UserGrantRole');
  assert.is(ClusterService.memberPromote.path, '/etcdserverpb.Cluster/MemberPromote');
  assert.is(LockService.unlock.path, '/v3lockpb.Lock/Unlock');
  assert.ok(!ElectionService.observe.requestStream && ElectionService.observe.responseStream);
  assert.is(ElectionService.observe.path, '/v3electionpb.Election/Observe');
  const counts = Object.fromEntries(Object.entries(ALL).map(([k, v]) => [k, Object.keys(v).length]));
  assert.equal(counts, {
    KVService: 5,
    WatchService: 1,
    LeaseService: 5,
    ClusterService: 5,
    MaintenanceService: 7,
    AuthService: 16,
    LockService: 2,
    ElectionService: 5,
  });
  for (const def of Object.values(ALL)) {
    for (const [key, m] of Object.entries(def)) {
      assert.is(key, m.originalName.charAt(0).toLowerCase() + m.originalName.slice(1));
      assert.ok(m.path.endsWith(`/${m.originalName}`));
    }
  }
});

function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

test('grpc-js server and generic client round trip (unary, bidi, server stream)', async () => {
  const stored = mvccpb.KeyValue.encode({ key: 'k', value: 'stored', createRevision: 2, modRevision: 3, version: 1, lease: 0x1234n });
  const kv: KVServer = {
    range: (call, cb) => {
      cb(null, {
        header: { clusterId: 0xfedcba9876543210n, memberId: 1n, revision: 3, raftTerm: 2 },
        kvs: [new PreEncoded(stored), { key: call.request.key, value: 'fresh' }],
        count: 2,
      });
    },
    put: (call, cb) => cb(null, { header: { revision: call.request.lease > 0n ? 10 : 11 } }),
    deleteRange: (_call, cb) => cb(null, {}),
    txn: (_call, cb) => cb(null, { succeeded: true, responses: [{ responsePut: {} }] }),
    compact: (_call, cb) => cb(null, {}),
  };
  const lease: LeaseServer = {
    leaseGrant: (call, cb) => cb(null, { ID: call.request.ID, TTL: call.request.TTL }),
    leaseRevoke: (_call, cb) => cb(null, {}),
    leaseKeepAlive: (call) => {
      call.on('data', (req: etcdserverpb.LeaseKeepAliveRequest) => call.write({ ID: req.ID, TTL: 5 }));
      call.on('end', () => call.end());
    },
    leaseTimeToLive: (_call, cb) => cb(null, { TTL: -1 }),
    leaseLeases: (_call, cb) => cb(null, {}),
  };
  const election: ElectionServer = {
    campaign: (_call, cb) => cb(null, {}),
    proclaim: (_call, cb) => cb(null, {}),
    leader: (_call, cb) => cb(null, {}),
    observe: (call) => {
      call.write({ kv: { key: call.request.name, value: 'a' } });
      call.write({ kv: { key: call.request.name, value: 'b' } });
      call.end();
    },
    resign: (_call, cb) => cb(null, {}),
  };
  const server = new grpc.Server();
  server.addService(KVService, kv);
  server.addService(LeaseService, lease);
  server.addService(ElectionService, election);
  const port = await listen(server);
  const addr = `127.0.0.1:${port}`;
  const creds = grpc.credentials.createInsecure();
  const KV = grpc.makeGenericClientConstructor(KVService, 'KV') as unknown as KVClientConstructor;
  const Lease = grpc.makeGenericClientConstructor(LeaseService, 'Lease') as unknown as LeaseClientConstructor;
  const Election = grpc.makeGenericClientConstructor(ElectionService, 'Election') as unknown as ElectionClientConstructor;
  const kvc = new KV(addr, creds);
  const lc = new Lease(addr, creds);
  const ec = new Election(addr, creds);
  try {
    const res = await new Promise<etcdserverpb.RangeResponse>((resolve, reject) =>
      kvc.range({ key: 'abc' }, (err, r) => (err || !r ? reject(err) : resolve(r))),
    );
    assert.is(res.header?.clusterId, 0xfedcba9876543210n);
    assert.is(res.count, 2);
    assert.is(res.kvs.length, 2);
    assert.is(res.kvs[0]?.value.toString(), 'stored');
    assert.is(res.kvs[0]?.lease, 0x1234n);
    assert.is(res.kvs[1]?.key.toString(), 'abc');

    const put = await new Promise<etcdserverpb.PutResponse>((resolve, reject) =>
      kvc.put({ key: 'a', lease: 7n }, (err, r) => (err || !r ? reject(err) : resolve(r))),
    );
    assert.is(put.header?.revision, 10);

    const ttl = await new Promise<etcdserverpb.LeaseTimeToLiveResponse>((resolve, reject) =>
      lc.leaseTimeToLive({ ID: 1n }, (err, r) => (err || !r ? reject(err) : resolve(r))),
    );
    assert.is(ttl.TTL, -1);

    const stream = lc.leaseKeepAlive();
    const got: bigint[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
        got.push(r.ID);
        if (got.length === 2) stream.end();
      });
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    stream.write({ ID: 0x7fffffffffffffffn });
    stream.write({ ID: 42n });
    await done;
    assert.equal(got, [0x7fffffffffffffffn, 42n]);

    const obs = ec.observe({ name: 'e' });
    const values: string[] = [];
    for await (const r of obs as AsyncIterable<{ kv: mvccpb.KeyValue | undefined }>) values.push(r.kv?.value.toString() ?? '');
    assert.equal(values, ['a', 'b']);
  } finally {
    kvc.close();
    lc.close();
    ec.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});

test.run();
