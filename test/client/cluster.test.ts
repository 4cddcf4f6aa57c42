// ClusterClient: membership of a 3-member cluster, and adding, updating and
// removing a learner that never starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClusterClient, isStarted, type Member } from '@etcd-ts/client';
import { EtcdError, type EtcdClientError } from '@etcd-ts/client';
import { MaintenanceClient } from '@etcd-ts/client';
import type { Rpc } from '@etcd-ts/client';
import { freePorts, waitFor } from '../harness/index.js';
import { useTargetCluster, type TargetCluster } from '../harness/target.js';
import { connectRpc, newRpc, rejection, type RpcConnection } from './fixtures.js';

let cluster: TargetCluster;
let conn: RpcConnection;
let onceRpc: Rpc;
let client: ClusterClient;
/** The same calls without retries: the first error as the server sent it. */
let once: ClusterClient;

test.before(async () => {
  cluster = await useTargetCluster(3);
  conn = connectRpc(cluster.endpoints);
  client = new ClusterClient(conn.rpc);
  onceRpc = newRpc(conn.pool, { retry: { retries: 0 } });
  once = new ClusterClient(onceRpc);
});

test.after(async () => {
  onceRpc?.close();
  conn?.close();
  await cluster?.dispose();
});

/**
 * The outcome of `call` once the cluster accepts reconfiguration: etcd refuses
 * it with UNHEALTHY until every member has been connected to the others for
 * 5 s (--strict-reconfig-check), which the client's own retries may outlast.
 */
async function whenReconfigurable<T>(call: () => Promise<T>): Promise<T | EtcdClientError> {
  return await waitFor(
    async () => {
      const outcome = await call().catch((e: unknown) => e as EtcdClientError);
      const refused = outcome instanceof EtcdError && (outcome.code === 'UNHEALTHY' || outcome.code === 'MEMBER_NOT_ENOUGH_STARTED');
      return refused ? undefined : outcome;
    },
    { timeoutMs: 20_000, intervalMs: 250, what: 'the cluster to accept a membership change' },
  );
}

const byId = (members: readonly Member[], id: bigint): Member | undefined => members.find((m) => m.id === id);

/**
 * The member `id` as MemberList shows it once `holds` is true of it on every
 * member of the cluster. MemberList answers from the member's own applied
 * state, so a member that applies a committed change a little later than the
 * others still shows the state before it.
 */
async function listedAs(id: bigint, holds: (m: Member | undefined) => boolean): Promise<Member | undefined> {
  let seen: Member | undefined;
  await waitFor(
    async () => {
      for (let i = 0; i < cluster.endpoints.length; i++) {
        seen = byId(await client.memberList(), id);
        if (!holds(seen)) return undefined;
      }
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `member ${id.toString(16)} listed as expected by every member` },
  );
  return seen;
}

test('memberList: three started voting members with the client URLs of the cluster', async () => {
  const members = await client.memberList();
  assert.is(members.length, 3);
  assert.is(new Set(members.map((m) => m.id)).size, 3, 'distinct ids');
  for (const m of members) {
    assert.is(typeof m.id, 'bigint');
    assert.ok(m.id !== 0n);
    assert.ok(isStarted(m), `member ${m.id.toString(16)} started`);
    assert.is(m.isLearner, false);
    assert.is(m.peerUrls.length, 1);
    assert.is(m.clientUrls.length, 1);
  }
  const clientAddrs = members.flatMap((m) => m.clientUrls.map((u) => u.replace(/^https?:\/\//, ''))).sort();
  assert.equal(clientAddrs, [...cluster.endpoints].sort());
});

test('a learner is added, listed, updated and removed; promoting it before it caught up is refused', async () => {
  const voters = await client.memberList();
  const [p1, p2] = (await freePorts(2)) as [number, number];
  const added = await whenReconfigurable(() => once.memberAdd([`http://127.0.0.1:${p1}`], { isLearner: true }));
  if (added instanceof Error) throw added;
  const id = added.member.id;
  try {
    assert.is(added.member.isLearner, true);
    assert.is(added.member.name, '', 'not started');
    assert.equal(added.member.clientUrls, []);
    assert.equal(added.member.peerUrls, [`http://127.0.0.1:${p1}`]);
    assert.is(added.members.length, 4);
    assert.ok(byId(added.members, id));

    const listed = await listedAs(id, (m) => m !== undefined);
    assert.ok(listed?.isLearner);
    assert.is(isStarted(listed), false);

    // The learner never started: its log is not caught up.
    const notReady = await rejection(once.memberPromote(id));
    assert.instance(notReady, EtcdError);
    assert.is(notReady.code, 'LEARNER_NOT_READY');
    assert.is(notReady.retrySafe, true);
    // Retried (it may clear by itself) until the deadline.
    const started = Date.now();
    const late = await rejection(client.memberPromote(id, { timeoutMs: 800 }));
    assert.ok(['LEARNER_NOT_READY', 'DEADLINE_EXCEEDED'].includes(late.code), late.code);
    assert.ok(Date.now() - started < 5_000);

    // A voter is refused once the change is applied (the leader's own log is always caught up).
    const leader = await new MaintenanceClient(conn.rpc).status();
    assert.ok(byId(voters, leader.leader));
    const notLearner = await rejection(client.memberPromote(leader.leader));
    assert.is(notLearner.code, 'MEMBER_NOT_LEARNER');

    // etcd 3.4 forgets the learner flag on MemberUpdate (etcd-io/etcd#21694): check the URLs only.
    const updated = await client.memberUpdate(id, [`http://127.0.0.1:${p2}`]);
    assert.equal(byId(updated, id)?.peerUrls, [`http://127.0.0.1:${p2}`]);
  } finally {
    const remaining = await client.memberRemove(id);
    assert.is(remaining.length, 3);
    assert.is(byId(remaining, id), undefined);
  }
  await listedAs(id, (m) => m === undefined);

  const gone = await rejection(client.memberRemove(id));
  assert.instance(gone, EtcdError);
  assert.is(gone.code, 'MEMBER_NOT_FOUND');
});

test('adding a member with an existing peer URL is refused', async () => {
  const peer = (await client.memberList())[0]?.peerUrls[0];
  assert.ok(peer);
  const err = await whenReconfigurable(() => once.memberAdd([peer]));
  if (!(err instanceof EtcdError)) throw new Error(`expected PEER_URL_EXISTS, got ${String(err)}`);
  assert.is(err.code, 'PEER_URL_EXISTS');
});

test.run();
