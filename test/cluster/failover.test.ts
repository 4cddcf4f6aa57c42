/**
 * Three members as separate processes with etcd's flags. Several clients write
 * while the leader is killed with SIGKILL: a new leader is elected within
 * 2 x election timeout + 1 s, writes succeed again, and after the killed member
 * restarts and catches up, every acknowledged write is on every member and
 * HashKV is equal everywhere.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adminClient, kvClient, spawnCluster, waitFor, type AdminClient, type KvClient } from '../harness/index.js';

const ELECTION_TIMEOUT_MS = 1000;
const WRITERS = 6;

interface Ack {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

async function leaderOf(admins: readonly AdminClient[]): Promise<bigint> {
  for (const a of admins) {
    try {
      const s = await a.status();
      if (s.leader !== 0n) return s.leader;
    } catch {
      // a member that is down has no opinion
    }
  }
  return 0n;
}

test('kill -9 of the leader under load: re-election, no lost acknowledged write, equal HashKV', async () => {
  const cluster = await spawnCluster('etcd-ts', 3, {
    extraArgs: ['--heartbeat-interval', '100', '--election-timeout', String(ELECTION_TIMEOUT_MS), ...(process.env['CLUSTER_TEST_LOG'] ? ['--log-level', 'info'] : [])],
  });
  const admins = cluster.members.map((m) => adminClient(m.endpoint, { deadlineMs: 2000 }));
  const clients: KvClient[] = [];
  try {
    const ids = await Promise.all(admins.map(async (a) => (await a.status()).header?.memberId ?? 0n));
    const oldLeader = await leaderOf(admins);
    const leaderIdx = ids.indexOf(oldLeader);
    assert.ok(leaderIdx >= 0, 'a leader is elected');

    const acks: Ack[] = [];
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      const client = kvClient(cluster.endpoints[w % 3] as string, { deadlineMs: 3000 });
      clients.push(client);
      for (let seq = 0; seq < 50_000 && !stop; seq++) {
        const key = `fo/w${w}/${String(seq).padStart(6, '0')}`;
        const value = `${key}@${seq}`;
        try {
          const r = await client.put({ key: Buffer.from(key), value: Buffer.from(value) });
          acks.push({ key, value, revision: r.header?.revision ?? 0 });
        } catch {
          // Not acknowledged (the member died, or no leader yet): this writer moves on to a new key.
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await waitFor(() => acks.length >= 300, { timeoutMs: 30_000, what: '300 acknowledged writes before the kill' });

    const killedAt = Date.now();
    await cluster.members[leaderIdx]?.kill9();
    const survivors = admins.filter((_, i) => i !== leaderIdx);
    const newLeader = await waitFor(
      async () => {
        const l = await leaderOf(survivors);
        return l !== 0n && l !== oldLeader ? l : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'a new leader among the survivors' },
    );
    const electedMs = Date.now() - killedAt;
    assert.ok(electedMs <= 2 * ELECTION_TIMEOUT_MS + 1000, `new leader after ${electedMs} ms`);
    assert.is.not(newLeader, oldLeader);

    const acksAtElection = acks.length;
    await waitFor(() => acks.length >= acksAtElection + 200, { timeoutMs: 30_000, what: 'writes to succeed again' });
    stop = true;
    await Promise.all(writers);

    await cluster.members[leaderIdx]?.restart();
    const target = (await admins[(leaderIdx + 1) % 3]?.status())?.raftIndex ?? 0;
    await waitFor(
      async () => {
        const st = await Promise.all(admins.map((a) => a.status()));
        return st.every((s) => s.raftAppliedIndex >= target);
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'the restarted member to catch up' },
    );

    for (const endpoint of cluster.endpoints) {
      const c = kvClient(endpoint);
      try {
        for (const a of acks) {
          const r = await c.range({ key: Buffer.from(a.key), serializable: true }).catch((err: unknown) => {
            throw new Error(`range of ${a.key} on ${endpoint} (member ${cluster.endpoints.indexOf(endpoint)}, killed ${leaderIdx}): ${String(err)}`);
          });
          const kv = r.kvs[0];
          assert.ok(kv !== undefined, `${a.key} (rev ${a.revision}) missing on ${endpoint}`);
          assert.is(kv.value.toString(), a.value);
          assert.is(kv.modRevision, a.revision);
        }
      } finally {
        c.close();
      }
    }
    const rev = Math.max(...acks.map((a) => a.revision));
    const hashes = await Promise.all(admins.map(async (a) => (await a.hashKV({ revision: rev })).hash));
    assert.equal(new Set(hashes).size, 1, `HashKV at ${rev}: ${hashes.join(', ')}`);
    console.log(`  new leader after ${electedMs} ms; ${acks.length} acknowledged writes checked on 3 members`);
  } catch (err) {
    for (const m of cluster.members) {
      console.error(`--- ${m.endpoint} exited=${m.exited}\n${m.output().slice(-3000)}`);
    }
    throw err;
  } finally {
    for (const c of clients) c.close();
    for (const a of admins) a.close();
    await cluster.dispose();
  }
});

test.run();
