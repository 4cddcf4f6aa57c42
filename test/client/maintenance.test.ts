// MaintenanceClient on a 3-member cluster: status of each member, hashes,
// alarms, defragmentation, snapshots and leader transfer.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdError } from '@etcd-ts/client';
import { MaintenanceClient } from '@etcd-ts/client';
import type { Rpc } from '@etcd-ts/client';
import { waitFor } from '../harness/index.js';
import { useTargetCluster, type TargetCluster } from '../harness/target.js';
import { connectRpc, putRaw, rejection } from './fixtures.js';

let cluster: TargetCluster;
const closers: (() => void)[] = [];

function connect(endpoints: readonly string[]): { rpc: Rpc; maintenance: MaintenanceClient } {
  const { rpc, close } = connectRpc(endpoints);
  closers.push(close);
  return { rpc, maintenance: new MaintenanceClient(rpc) };
}

let rpc: Rpc;
let m: MaintenanceClient;

test.before(async () => {
  cluster = await useTargetCluster(3);
  ({ rpc, maintenance: m } = connect(cluster.endpoints));
});

test.after(async () => {
  for (const close of closers) close();
  await cluster?.dispose();
});


const put = async (key: string, value: string): Promise<number> => (await putRaw(rpc, key, value)).header?.revision ?? 0;

test('status of each member: one leader every member agrees on', async () => {
  const all = await Promise.all(cluster.endpoints.map((e) => m.status(e)));
  assert.equal(
    all.map((s) => s.endpoint),
    cluster.endpoints,
  );
  const leader = all[0]?.leader ?? 0n;
  assert.ok(leader !== 0n);
  for (const s of all) {
    assert.is(s.leader, leader);
    assert.is(s.clusterId, all[0]?.clusterId);
    assert.ok(s.memberId !== 0n);
    assert.ok(s.version.length > 0);
    assert.ok(s.raftIndex > 0);
    assert.ok(s.raftTerm > 0);
    assert.ok(s.dbSize > 0);
    assert.is(s.isLearner, false);
    assert.is(s.isLeader, s.memberId === leader);
  }
  assert.is(all.filter((s) => s.isLeader).length, 1);
  assert.is(new Set(all.map((s) => s.memberId)).size, 3);

  const any = await m.status();
  assert.ok(cluster.endpoints.includes(any.endpoint));
  const byUrl = await m.status(`http://${cluster.endpoints[1]}`);
  assert.is(byUrl.endpoint, cluster.endpoints[1]);
  const notOurs = await rejection(m.status('127.0.0.1:1'));
  assert.instance(notOurs, TypeError);
});

test('hashKV: the same history hashes the same on every member, and a past revision keeps its hash', async () => {
  const rev = await put('maintenance/hash', 'one');
  const hashes = await waitFor(
    async () => {
      const hs = await Promise.all(cluster.endpoints.map((e) => m.hashKV(rev, e)));
      return hs.every((h) => h.revision >= rev) ? hs : undefined;
    },
    { timeoutMs: 10_000, what: `every member to apply revision ${rev}` },
  );
  assert.is(new Set(hashes.map((h) => h.hash)).size, 1, 'equal hashes');
  assert.is(new Set(hashes.map((h) => h.memberId)).size, 3);
  for (const h of hashes) assert.is(h.compactRevision, 0);
  await put('maintenance/hash', 'two');
  const again = await m.hashKV(rev, cluster.endpoints[0]);
  assert.is(again.hash, hashes[0]?.hash);
  const future = await rejection(m.hashKV(rev + 1000));
  assert.instance(future, EtcdError);
  assert.is(future.code, 'FUTURE_REV');
});

test('hash of the backend: every member that applied the same log reports the same hash', async () => {
  const rev = await put('maintenance/backend-hash', 'x');
  const hashes = await waitFor(
    async () => {
      const hs = await Promise.all(cluster.endpoints.map((e) => m.hash(e)));
      // a hash is taken at the member's current revision: compare them once all are at rev
      return hs.every((h) => h.revision === rev) ? hs : undefined;
    },
    { timeoutMs: 10_000, what: `every member to report the backend hash at revision ${rev}` },
  );
  for (const [i, h] of hashes.entries()) {
    assert.type(h.hash, 'number');
    assert.is(h.endpoint, cluster.endpoints[i]);
    assert.ok(h.memberId !== 0n);
  }
  assert.is(new Set(hashes.map((h) => h.hash)).size, 1, 'equal hashes');
  const rev2 = await put('maintenance/backend-hash', 'y');
  // the write may reach this member's backend a little after the put was answered by the leader
  const after = await waitFor(
    async () => {
      const h = await m.hash(cluster.endpoints[0]);
      return h.revision >= rev2 ? h : undefined;
    },
    { timeoutMs: 10_000, what: `${cluster.endpoints[0]} to report the backend hash at revision ${rev2}` },
  );
  assert.is.not(after.hash, hashes[0]?.hash, 'a write changes the hash');
});

test('alarms: none raised, disarming all is a no-op', async () => {
  assert.equal(await m.alarmList(), []);
  assert.equal(await m.alarmDisarm(), []);
});

test('defragment each member', async () => {
  for (const e of cluster.endpoints) {
    await m.defragment(e);
    const s = await m.status(e);
    assert.ok(s.dbSizeInUse <= s.dbSize, `in use ${s.dbSizeInUse} <= ${s.dbSize}`);
  }
});

test('snapshot: a stream of chunks ending with the SHA-256 of the database', async () => {
  await put('maintenance/snapshot', 'x'.repeat(100_000));
  const chunks: Buffer[] = [];
  for await (const chunk of m.snapshot(cluster.endpoints[0])) chunks.push(chunk);
  const all = Buffer.concat(chunks);
  assert.ok(chunks.length > 1, `${chunks.length} chunks`);
  assert.ok(all.length > 100_000 + 32);
  const db = all.subarray(0, all.length - 32);
  assert.equal(createHash('sha256').update(db).digest(), all.subarray(all.length - 32), 'sha256 trailer');
  assert.ok(db.includes(Buffer.from('maintenance/snapshot')), 'the key is in the database');

  // Stopping early cancels the transfer.
  let n = 0;
  for await (const chunk of m.snapshot()) {
    assert.ok(chunk.length > 0);
    if (++n === 1) break;
  }
  assert.is(n, 1);

  // An aborted transfer rejects with AbortedError.
  const ac = new AbortController();
  const aborted = await rejection(
    (async () => {
      for await (const _ of m.snapshot(undefined, { signal: ac.signal })) ac.abort(new Error('enough'));
    })(),
  );
  assert.is(aborted.code, 'ABORTED');
});

test('moveLeader hands leadership to a follower, whichever endpoint is asked', async () => {
  const before = await Promise.all(cluster.endpoints.map((e) => m.status(e)));
  const leader = before.find((s) => s.isLeader);
  const follower = before.find((s) => !s.isLeader);
  assert.ok(leader && follower);
  await m.moveLeader(follower.memberId);
  await waitFor(
    async () => {
      const now = await Promise.all(cluster.endpoints.map((e) => m.status(e)));
      return now.every((s) => s.leader === follower.memberId);
    },
    { timeoutMs: 10_000, what: 'every member to follow the new leader' },
  );

  // A client that knows only followers cannot reach the leader.
  const followersOnly = connect(before.filter((s) => s.memberId !== follower.memberId).map((s) => s.endpoint));
  const err = await rejection(followersOnly.maintenance.moveLeader(leader.memberId, { timeoutMs: 3_000 }));
  assert.instance(err, EtcdError);
  assert.is(err.code, 'NOT_LEADER');
});

test.run();
