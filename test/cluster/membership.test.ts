/**
 * Membership changes on a running 3-member cluster: a 4th member is added as a
 * learner (MemberAdd), started with --initial-cluster-state existing, catches up
 * through a snapshot of the leader's database (the leader's in-memory log was
 * compacted long before), is promoted, and then another member is removed. The
 * cluster keeps serving throughout and every key is on the new member.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  adminClient,
  freePorts,
  GrpcCallError,
  kvClient,
  spawnCluster,
  spawnServer,
  waitFor,
  type AdminClient,
} from '../harness/index.js';

/** More than the 5,000 catch-up entries plus one compaction step the leader keeps in memory. */
const ENTRIES = 7000;

test('add a learner that catches up by snapshot, promote it, remove a member', async () => {
  const cluster = await spawnCluster('etcd-ts', 3, { extraArgs: process.env['CLUSTER_TEST_LOG'] ? ['--log-level', 'info'] : [] });
  const admins: AdminClient[] = cluster.members.map((m) => adminClient(m.endpoint));
  const writer = kvClient(cluster.endpoints[0] as string);
  let joined: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    // Fill the log: ENTRIES writes, 32 in flight.
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < ENTRIES; i = next++) {
          await writer.put({ key: Buffer.from(`mb/${String(i).padStart(5, '0')}`), value: Buffer.from(`v${i}`) });
        }
      }),
    );

    const [client, peer] = (await freePorts(2)) as [number, number];
    const peerUrl = `http://127.0.0.1:${peer}`;
    const added = await (admins[0] as AdminClient).memberAdd({ peerURLs: [peerUrl], isLearner: true });
    const newId = added.member?.ID ?? 0n;
    assert.ok(added.member?.isLearner, 'added as a learner');
    assert.is(added.members.length, 4);

    joined = await spawnServer('etcd-ts', {
      name: 'm4',
      ports: { client, peer },
      initialCluster: `${cluster.initialCluster},m4=${peerUrl}`,
      initialClusterState: 'existing',
      logLevel: 'info',
      // A learner serves only serializable reads.
      readyProbe: async () => {
        const probe = kvClient(`127.0.0.1:${client}`, { deadlineMs: 1000 });
        try {
          await probe.range({ key: Buffer.from('mb/'), serializable: true });
        } finally {
          probe.close();
        }
      },
    });
    const j = joined;
    const leaderStatus = await (admins[0] as AdminClient).status();
    const learner = adminClient(joined.endpoint);
    admins.push(learner);
    await waitFor(async () => (await learner.status()).raftAppliedIndex >= leaderStatus.raftIndex, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'the learner to catch up',
    });
    assert.match(j.output(), /installing snapshot from the leader/, 'the learner caught up through a snapshot');
    const onLearner = kvClient(joined.endpoint);
    try {
      const r = await onLearner.range({ key: Buffer.from('mb/'), rangeEnd: Buffer.from('mb0'), serializable: true, countOnly: true });
      assert.is(r.count, ENTRIES);
    } finally {
      onLearner.close();
    }

    const refused = kvClient(joined.endpoint);
    try {
      await refused.range({ key: Buffer.from('mb/00000') });
      assert.unreachable('a learner must refuse a linearizable read');
    } catch (err) {
      assert.instance(err, GrpcCallError);
      assert.is((err as GrpcCallError).details, 'etcdserver: rpc not supported for learner');
    } finally {
      refused.close();
    }

    // Promote on the leader, retrying while it still considers the learner behind.
    const leaderId = leaderStatus.leader;
    const ids = await Promise.all(admins.map(async (a) => (await a.status()).header?.memberId));
    const leaderAdmin = admins[ids.indexOf(leaderId)] as AdminClient;
    await waitFor(
      async () => {
        try {
          await leaderAdmin.memberPromote({ ID: newId });
          return true;
        } catch (err) {
          if (err instanceof GrpcCallError && /not in sync|promote/.test(err.details)) return false;
          throw err;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the learner to be promoted' },
    );
    const afterPromote = await leaderAdmin.memberList();
    assert.is(afterPromote.members.find((m) => m.ID === newId)?.isLearner, false);

    // Remove a follower that is not the leader.
    const victimIdx = ids.findIndex((id, i) => i < 3 && id !== leaderId);
    const victimId = ids[victimIdx] as bigint;
    const afterRemove = await leaderAdmin.memberRemove({ ID: victimId });
    assert.is(afterRemove.members.length, 3);
    assert.not.ok(afterRemove.members.some((m) => m.ID === victimId));

    // The promoted member now serves everything.
    const c = kvClient(joined.endpoint);
    try {
      const put = await c.put({ key: Buffer.from('mb/after'), value: Buffer.from('x') });
      const got = await c.range({ key: Buffer.from('mb/after') });
      assert.is(got.kvs[0]?.modRevision, put.header?.revision);
    } finally {
      c.close();
    }
  } catch (err) {
    for (const m of [...cluster.members, ...(joined ? [joined] : [])]) {
      console.error(`--- ${m.endpoint} exited=${m.exited}\n${m.output().slice(-3000)}`);
    }
    throw err;
  } finally {
    writer.close();
    for (const a of admins) a.close();
    await joined?.dispose();
    await cluster.dispose();
  }
});

test.run();
