/**
 * An isolated old leader serves no stale linearizable read.
 *
 * Three members, each in a network namespace of its own, joined by a bridge in
 * a hub namespace (test/harness/netns.ts). k=v1 is written and applied
 * everywhere; then the leader's link is cut, which drops every packet between
 * it and the others in both directions. The majority elects a new leader and
 * acknowledges k=v2. On the isolated old leader, asked by a client inside its
 * own namespace:
 * - a linearizable Range must not answer v1: it fails with an etcd error
 *   within etcd's request timeout (5 s + 2 election timeouts);
 * - a serializable Range may answer v1 (local state, allowed);
 * - a linearizable Range pending while the partition heals answers v2 or fails.
 * After healing, the old leader converges to v2, the majority's leader keeps
 * leading (pre-vote and check-quorum: the rejoining member does not disrupt),
 * and HashKV is equal on all members.
 *
 * Needs root and iproute2 (network namespaces); without them the test is
 * skipped with the reason printed. PARTITION_KINDS=etcd-ts,etcd also runs the
 * scenario against real etcd.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../harness/wait-for.js';
import type { ServerKind } from '../harness/server.js';
import {
  AgentCallError,
  NetLab,
  netnsUnavailableReason,
  runEtcdctlIn,
  spawnNetnsCluster,
  type AgentStatus,
  type NetnsAgent,
  type NetnsCluster,
} from '../harness/netns.js';

const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
/** etcd's ReqTimeout: 5 s + 2 election timeouts; a linearizable read fails by then. */
const REQUEST_TIMEOUT_MS = 5000 + 2 * ELECTION_MS;
/** Scheduling slack on a loaded machine on top of REQUEST_TIMEOUT_MS. */
const SLACK_MS = 4000;
const KEY = 'partition/k';

const kinds = (process.env['PARTITION_KINDS'] ?? 'etcd-ts').split(',').filter((k): k is ServerKind => k === 'etcd' || k === 'etcd-ts');
const unavailable = await netnsUnavailableReason();

/** The statuses of the given members, once all of them agree on one leader that satisfies `accept`. */
async function agreedLeader(agent: NetnsAgent, endpoints: readonly string[], accept: (leader: string) => boolean, what: string): Promise<AgentStatus[]> {
  return waitFor(
    async () => {
      const st = await Promise.all(endpoints.map((e) => agent.status(e, { deadlineMs: 1000 })));
      const leader = st[0]?.leader ?? '0';
      return leader !== '0' && accept(leader) && st.every((s) => s.leader === leader) ? st : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50, what },
  );
}

async function etcdctlPut(cluster: NetnsCluster, endpoints: readonly string[], value: string): Promise<number> {
  const r = await runEtcdctlIn(cluster.lab.hub, endpoints.join(','), ['put', KEY, value, '-w', 'json', '--command-timeout=10s']);
  assert.is(r.code, 0, `etcdctl put ${KEY} ${value} from the hub: ${r.stderr}`);
  const m = /"revision":(\d+)/.exec(r.stdout);
  assert.ok(m?.[1] !== undefined, `revision in ${r.stdout}`);
  return Number(m[1]);
}

function describeRead(r: PromiseSettledResult<{ kvs: readonly { value: string }[] }>): string {
  if (r.status === 'fulfilled') return `answered ${JSON.stringify(r.value.kvs.map((kv) => kv.value))}`;
  return r.reason instanceof AgentCallError ? `failed: ${r.reason.message}` : `failed: ${String(r.reason)}`;
}

function scenario(kind: ServerKind): () => Promise<void> {
  return async () => {
    const lab = await NetLab.create(3);
    let cluster: NetnsCluster | undefined;
    let failed = false;
    try {
      cluster = await spawnNetnsCluster(kind, lab, {
        extraArgs: ['--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS), '--pre-vote=true'],
      });
      const c = cluster;
      const hub = c.hubAgent;
      const eps = c.endpoints;

      const before = await agreedLeader(hub, eps, () => true, 'the three members to agree on a leader');
      const oldLeader = before[0]?.leader as string;
      const L = before.findIndex((s) => s.memberId === oldLeader);
      assert.ok(L >= 0, `the leader ${oldLeader} is one of ${before.map((s) => s.memberId).join(', ')}`);
      const leaderEp = eps[L] as string;
      const majority = eps.filter((_, i) => i !== L);

      const rev1 = await etcdctlPut(c, eps, 'v1');
      await waitFor(
        async () => {
          const rs = await Promise.all(eps.map((e) => hub.range(e, KEY, { serializable: true })));
          return rs.every((r) => r.kvs[0]?.value === 'v1' && r.kvs[0].modRevision === rev1);
        },
        { timeoutMs: 10_000, what: 'v1 applied on every member' },
      );

      // Cut the leader off; from here the hub reaches only the majority.
      await c.lab.isolate(L + 1);
      const cutAt = Date.now();
      const after = await agreedLeader(hub, majority, (l) => l !== oldLeader, 'a new leader on the majority side');
      const newLeader = after[0]?.leader as string;
      const newTerm = after[0]?.raftTerm as number;
      console.log(`  ${kind}: leader ${oldLeader} isolated; ${newLeader} leads the majority after ${Date.now() - cutAt} ms (term ${newTerm})`);
      const rev2 = await etcdctlPut(c, majority, 'v2');
      assert.ok(rev2 > rev1);

      // A client next to the isolated old leader.
      const local = await c.agentIn(L + 1);
      const started = Date.now();
      const [lin] = await Promise.allSettled([local.range(leaderEp, KEY, { deadlineMs: REQUEST_TIMEOUT_MS + 3 * SLACK_MS })]);
      const tookMs = Date.now() - started;
      console.log(`  ${kind}: linearizable Range on the isolated old leader ${describeRead(lin)}`);
      if (lin.status === 'fulfilled') {
        assert.unreachable(`stale linearizable read: the isolated old leader answered ${JSON.stringify(lin.value.kvs)} while the majority had acknowledged v2 at revision ${rev2}`);
      } else {
        const err = lin.reason;
        assert.instance(err, AgentCallError, String(err));
        const e = err as AgentCallError;
        // The server itself ends the read (a gRPC status with etcd's message), not the client's deadline.
        assert.match(e.details, /^etcdserver: /, `an etcd error, not ${e.message}`);
        assert.ok(tookMs <= REQUEST_TIMEOUT_MS + SLACK_MS, `failed after ${tookMs} ms, more than ${REQUEST_TIMEOUT_MS} + ${SLACK_MS} ms`);
      }

      const ser = await local.range(leaderEp, KEY, { serializable: true });
      const serValue = ser.kvs[0]?.value;
      assert.ok(serValue === 'v1' || serValue === 'v2', `serializable Range on the isolated member: ${JSON.stringify(ser.kvs)}`);
      console.log(`  ${kind}: serializable Range on the isolated old leader answered ${serValue} (allowed)`);

      // check-quorum: the isolated leader has stepped down and knows no leader.
      const lone = await waitFor(
        async () => {
          const s = await local.status(leaderEp);
          return s.leader !== oldLeader ? s : undefined;
        },
        { timeoutMs: 3 * ELECTION_MS + SLACK_MS, what: 'the isolated old leader to step down' },
      );
      assert.is(lone.leader, '0', 'the isolated member knows no leader');

      // A linearizable read pending while the partition heals: v2 or an error, never v1.
      const pending = local.range(leaderEp, KEY, { deadlineMs: REQUEST_TIMEOUT_MS + 3 * SLACK_MS });
      await c.lab.heal(L + 1);
      const [acrossHeal] = await Promise.allSettled([pending]);
      console.log(`  ${kind}: linearizable Range pending across the heal ${describeRead(acrossHeal)}`);
      if (acrossHeal.status === 'fulfilled') {
        assert.equal(
          acrossHeal.value.kvs.map((kv) => [kv.value, kv.modRevision]),
          [['v2', rev2]],
          'a read answered after the heal sees v2',
        );
      } else {
        assert.instance(acrossHeal.reason, AgentCallError, String(acrossHeal.reason));
        assert.match((acrossHeal.reason as AgentCallError).details, /^etcdserver: /);
      }

      // Convergence.
      await waitFor(
        async () => {
          const r = await hub.range(leaderEp, KEY, { serializable: true, deadlineMs: 1000 });
          return r.kvs[0]?.value === 'v2' && r.kvs[0].modRevision === rev2;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the old leader to apply v2' },
      );
      const lin2 = await waitFor(
        async () => {
          const r = await hub.range(leaderEp, KEY, { deadlineMs: REQUEST_TIMEOUT_MS + SLACK_MS });
          return r.kvs[0]?.value === 'v2' ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'a linearizable Range of v2 on the old leader' },
      );
      assert.is(lin2.kvs[0]?.modRevision, rev2);

      const healed = await agreedLeader(hub, eps, () => true, 'all three members to agree on a leader after the heal');
      assert.is(healed[0]?.leader, newLeader, 'the rejoining member did not disrupt the leader');
      assert.ok(healed.every((s) => s.raftTerm === newTerm), `terms after the heal: ${healed.map((s) => s.raftTerm).join(', ')} (expected ${newTerm})`);

      const hashes = await waitFor(
        async () => {
          const st = await Promise.all(eps.map((e) => hub.status(e)));
          const applied = st.map((s) => s.raftAppliedIndex);
          if (new Set(applied).size !== 1) return undefined;
          return Promise.all(eps.map((e) => hub.hashKV(e, rev2)));
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'every member to apply the same index' },
      );
      assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, `HashKV at ${rev2}: ${hashes.map((h) => h.hash).join(', ')}`);
      const viaEtcdctl = await runEtcdctlIn(c.lab.hub, eps.join(','), ['endpoint', 'hashkv']);
      assert.is(viaEtcdctl.code, 0, viaEtcdctl.stderr);
      const etcdctlHashes = viaEtcdctl.stdout.trim().split('\n').map((l) => l.split(', ')[1]);
      assert.is(etcdctlHashes.length, 3, viaEtcdctl.stdout);
      assert.is(new Set(etcdctlHashes).size, 1, `etcdctl endpoint hashkv:\n${viaEtcdctl.stdout}`);
    } catch (err) {
      failed = true;
      for (const m of cluster?.members ?? []) console.error(`--- ${m.endpoint} exited=${m.exited}\n${m.output().slice(-3000)}`);
      throw err;
    } finally {
      await cluster?.dispose();
      await lab.dispose();
      const left = await lab.leftovers();
      if (left.length > 0) {
        console.error(`namespaces left behind: ${left.join(', ')}`);
        if (!failed) assert.unreachable(`namespaces left behind: ${left.join(', ')}`);
      }
    }
  };
}

for (const kind of kinds) {
  const name = `${kind}: an isolated old leader serves no stale linearizable read; it converges after the heal`;
  if (unavailable !== undefined) {
    console.log(`  skipping "${name}": ${unavailable}`);
    test.skip(name, scenario(kind));
  } else {
    test(name, scenario(kind));
  }
}

test.run();
