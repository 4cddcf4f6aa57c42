/**
 * Loss-free watch resumption: connections cut in the middle of a history
 * replay, a restarted server, a killed member. Every event must arrive
 * exactly once and in revision order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as delay } from 'node:timers/promises';
import { etcdserverpb, type mvccpb } from '@etcd-ts/api';
import { EndpointPool } from '@etcd-ts/client';
import { EtcdError, WatchCompactedError } from '@etcd-ts/client';
import { Rpc } from '@etcd-ts/client';
import { Watch, type Watcher } from '@etcd-ts/client';
import { adminClient, kvClient, waitFor, withTimeout, type AdminClient, type KvClient } from '../harness/index.js';
import { useTarget, useTargetCluster, type Target } from '../harness/target.js';
import { startTcpProxy } from '../harness/tcp-proxy.js';

let target: Target;
const run = Date.now();

test.before(async () => {
  target = await useTarget();
});
test.after(async () => {
  await target.dispose();
});

/** A Watch over its own pool of `endpoints`; close() releases everything. */
function watchOver(endpoints: string[]): { watch: Watch; close(): Promise<void> } {
  const pool = new EndpointPool(endpoints, { maxMessageBytes: 64 << 20 });
  const rpc = new Rpc(pool, { callTimeoutMs: 10_000, dialTimeoutMs: 2_000, retry: {}, requireLeader: true }, undefined);
  const watch = new Watch(rpc);
  return {
    watch,
    close: async () => {
      await watch.close();
      rpc.close();
      pool.close();
    },
  };
}

/** Collects the events of `w` in the background; `until(n)` waits for n of them. */
function collect(w: Watcher): { events: mvccpb.Event[]; until(n: number, ms: number): Promise<void> } {
  const events: mvccpb.Event[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const e of w.events()) events.push(e);
  })().catch((err: unknown) => {
    failure = err;
  });
  return {
    events,
    async until(n, ms) {
      const deadline = Date.now() + ms;
      while (events.length < n) {
        if (failure !== undefined) throw failure;
        if (Date.now() > deadline) throw new Error(`timed out with ${events.length} of ${n} events`);
        await Promise.race([done, delay(20)]);
      }
    },
  };
}

/** Asserts `events` are exactly the writes `expected` (key → revision), once each, in revision order. */
function assertExactlyOnce(events: mvccpb.Event[], expected: { key: string; revision: number }[]): void {
  const got = events.map((e) => `${e.kv?.modRevision} ${e.kv?.key.toString()}`);
  const want = [...expected].sort((a, b) => a.revision - b.revision).map((x) => `${x.revision} ${x.key}`);
  if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
    const i = got.findIndex((g, j) => g !== want[j]);
    assert.unreachable(`${got.length} events for ${want.length} writes; first difference at ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

/** Puts key=value once, retrying through failures: only the first attempt that lands writes (version 0 compare). */
async function putOnce(kv: KvClient, key: string, value: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await kv.txn({
        compare: [
          {
            key,
            target: etcdserverpb.Compare_CompareTarget.VERSION,
            result: etcdserverpb.Compare_CompareResult.EQUAL,
            version: 0,
          },
        ],
        success: [{ requestPut: { key, value } }],
      });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await delay(100);
    }
  }
}

test('2,500 events replayed through connections cut mid-replay: each exactly once, in order', async () => {
  const ep = target.endpoints[0] ?? '';
  const kv = kvClient(ep);
  const prefix = `resume/${run}/cut/`;
  const value = 'x'.repeat(100);
  const written: { key: string; revision: number }[] = [];
  const n = 2_500;
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: 25 }, async (_, j) => {
        const key = `${prefix}${String(i + j).padStart(5, '0')}`;
        const res = await kv.put({ key, value });
        written.push({ key, revision: res.header?.revision ?? 0 });
      }),
    );
  }
  kv.close();
  const first = Math.min(...written.map((w) => w.revision));

  await using proxy = await startTcpProxy({ target: ep });
  const { watch, close } = watchOver([proxy.endpoint]);
  try {
    // ~140 bytes an event and 1,000 revisions a replay batch (etcd's watchBatchMaxRevs): the first cut
    // lands before anything is delivered, the next ones in the middle of later batches.
    const cuts = [30_000, 200_000, 200_000, 200_000];
    const deliveredAtCut: number[] = [];
    proxy.cutAfterDownstreamBytes(cuts.shift() ?? 0);
    const w = watch.watch(prefix, { prefix: true, startRevision: first });
    const got = collect(w);
    w.on('disconnected', () => {
      deliveredAtCut.push(got.events.length);
      const next = cuts.shift();
      if (next !== undefined) proxy.cutAfterDownstreamBytes(next);
    });
    await got.until(n, 60_000);
    // Nothing more arrives: a live put after the replay is the next event.
    const kv2 = kvClient(ep);
    const live = await kv2.put({ key: `${prefix}live`, value: 'live' });
    kv2.close();
    await got.until(n + 1, 10_000);
    assertExactlyOnce(got.events, [...written, { key: `${prefix}live`, revision: live.header?.revision ?? 0 }]);
    assert.ok(deliveredAtCut.length >= 3, `connections cut: ${deliveredAtCut.length}`);
    assert.ok(
      deliveredAtCut.some((d) => d > 0 && d < n),
      `a cut in the middle of the replay (delivered at each cut: ${deliveredAtCut.join(', ')})`,
    );
    assert.is(w.resumeRevision, (live.header?.revision ?? 0) + 1);
    await w.close();
  } finally {
    await close();
  }
});

test('history compacted while disconnected ends the watch with the revision it needed', async () => {
  const ep = target.endpoints[0] ?? '';
  const kv = kvClient(ep);
  const prefix = `resume/${run}/compacted/`;
  await using proxy = await startTcpProxy({ target: ep });
  const { watch, close } = watchOver([proxy.endpoint]);
  try {
    const w = watch.watch(prefix, { prefix: true });
    const got = collect(w);
    await withTimeout(w.created, 10_000, 'created');
    const delivered = (await kv.put({ key: `${prefix}a`, value: '1' })).header?.revision ?? 0;
    await got.until(1, 10_000);
    proxy.refuse(true);
    proxy.breakAll();
    await kv.put({ key: `${prefix}a`, value: '2' });
    const compactAt = (await kv.put({ key: `${prefix}a`, value: '3' })).header?.revision ?? 0;
    await kv.compact({ revision: compactAt, physical: true });
    proxy.refuse(false);
    const err = await withTimeout(w.closed, 20_000, 'the watch to end');
    assert.instance(err, WatchCompactedError);
    assert.is((err as WatchCompactedError).compactRevision, compactAt);
    assert.is((err as WatchCompactedError).requestedRevision, delivered + 1);
    assert.equal(got.events.map((e) => e.kv?.value.toString()), ['1']);
  } finally {
    kv.close();
    await close();
  }
});

test('a watch from "now" survives a server restart without loss', async () => {
  if (target.external || target.server === undefined) return;
  const server = target.server;
  const prefix = `resume/${run}/restart/`;
  const { watch, close } = watchOver(target.endpoints);
  try {
    const w = watch.watch(prefix, { prefix: true });
    const endpoints: string[] = [];
    w.on('connected', (e) => endpoints.push(e));
    await withTimeout(w.created, 10_000, 'created');
    const got = collect(w);
    const written: { key: string; revision: number }[] = [];
    const write = async (i: number): Promise<void> => {
      const kv = kvClient(server.endpoint);
      try {
        const key = `${prefix}${String(i).padStart(3, '0')}`;
        written.push({ key, revision: (await kv.put({ key, value: String(i) })).header?.revision ?? 0 });
      } finally {
        kv.close();
      }
    };
    for (let i = 0; i < 50; i++) await write(i);
    await got.until(50, 10_000);
    await server.restart();
    for (let i = 50; i < 100; i++) await write(i);
    await got.until(100, 30_000);
    assertExactlyOnce(got.events, written);
    assert.ok(endpoints.length >= 2, `re-created after the restart (${endpoints.length} creates)`);
    await w.close();
  } finally {
    await close();
  }
});

test('the watch resumes on another member when its member is killed, while writes go on', async () => {
  const cluster = await useTargetCluster(3);
  const { watch, close } = watchOver(cluster.endpoints);
  let writer: KvClient | undefined;
  try {
    const prefix = `resume/${run}/kill/`;
    const w = watch.watch(prefix, { prefix: true });
    const endpoints: string[] = [];
    w.on('connected', (e) => endpoints.push(e));
    await withTimeout(w.created, 15_000, 'created');
    const on = endpoints[0] ?? '';
    const victim = cluster.members.find((m) => m.endpoint === on);
    assert.ok(victim, `the watch is on a member (${on})`);
    writer = kvClient(cluster.endpoints.find((e) => e !== on) ?? '', { deadlineMs: 5_000 });
    const got = collect(w);
    const n = 300;
    let killing: Promise<unknown> | undefined;
    for (let i = 0; i < n; i++) {
      if (i === 100) killing = victim?.kill9();
      await putOnce(writer, `${prefix}${String(i).padStart(3, '0')}`, String(i));
    }
    await killing;
    await got.until(n, 30_000);
    // Revision order is write order (one sequential writer); each key written once.
    const keys = got.events.map((e) => e.kv?.key.toString());
    assert.equal(keys, Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`));
    const revs = got.events.map((e) => e.kv?.modRevision ?? 0);
    assert.ok(revs.every((r, i) => i === 0 || r > (revs[i - 1] ?? 0)), 'revisions strictly increase');
    assert.ok(endpoints.length >= 2 && endpoints[endpoints.length - 1] !== on, `resumed elsewhere: ${endpoints.join(' → ')}`);
    await w.close();
  } finally {
    writer?.close();
    await close();
    await cluster.dispose();
  }
});

test('without a leader, open streams end and new ones are refused (requireLeader); watches resume once a quorum is back', async () => {
  const cluster = await useTargetCluster(3);
  const first = watchOver(cluster.endpoints);
  const second = watchOver(cluster.endpoints);
  let kv: KvClient | undefined;
  const admin: AdminClient[] = [];
  try {
    const prefix = `resume/${run}/leaderless/`;
    const w1 = first.watch.watch(prefix, { prefix: true });
    const endpoints: string[] = [];
    w1.on('connected', (e) => endpoints.push(e));
    await withTimeout(w1.created, 15_000, 'created');
    const on = endpoints[0] ?? '';
    const others = cluster.members.filter((m) => m.endpoint !== on);
    kv = kvClient(on, { deadlineMs: 3_000 });
    const got1 = collect(w1);
    await putOnce(kv, `${prefix}0`, '0');
    await got1.until(1, 10_000);
    const lost1: Error[] = [];
    w1.on('disconnected', (e) => lost1.push(e));
    await Promise.all(others.map((m) => m.kill9()));
    const status = adminClient(on, { deadlineMs: 2_000 });
    admin.push(status);
    await waitFor(async () => (await status.status()).leader === 0n, { timeoutMs: 20_000, what: 'the member to lose its leader' });
    // The open stream is ended once the member has had no leader for 3 election timeouts (1 s each here).
    await waitFor(() => lost1.some((e) => e instanceof EtcdError && e.code === 'NO_LEADER'), {
      timeoutMs: 15_000,
      what: 'the open stream ended with "etcdserver: no leader"',
    });
    // A new stream to the leaderless member is refused; the watch keeps trying.
    const w2 = second.watch.watch(prefix, { prefix: true });
    const refusals: Error[] = [];
    w2.on('disconnected', (e) => refusals.push(e));
    await waitFor(() => refusals.some((e) => e instanceof EtcdError && e.code === 'NO_LEADER'), {
      timeoutMs: 20_000,
      what: 'a stream refused with "etcdserver: no leader"',
    });
    await others[0]?.restart();
    await withTimeout(w2.created, 30_000, 'created once a leader is back');
    const got2 = collect(w2);
    await putOnce(kv, `${prefix}1`, '1');
    await got1.until(2, 30_000);
    await got2.until(1, 30_000);
    assert.equal(got1.events.map((e) => e.kv?.value.toString()), ['0', '1']);
    assert.equal(got2.events.map((e) => e.kv?.value.toString()), ['1']);
    await Promise.all([w1.close(), w2.close()]);
  } finally {
    for (const a of admin) a.close();
    kv?.close();
    await first.close();
    await second.close();
    await cluster.dispose();
  }
});

test.run();
