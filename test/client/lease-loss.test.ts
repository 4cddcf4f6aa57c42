// Lease loss detection and keep-alive stream recovery.
//
// The client can only be sure a lease lives until (send time of the last
// acknowledged keep-alive request) + (TTL in its answer): these tests black-hole
// the connection and check that the loss is reported in that window, not at
// some multiple of the TTL; and that the keep-alive stream moves to another
// member (or comes back after a restart) without losing the lease.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KeepAliveAck, Lease } from '@etcd-ts/client';
import { waitFor, withTimeout } from '../harness/index.js';
import { useTarget, useTargetCluster, type Target, type TargetCluster } from '../harness/target.js';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { connectLeases, type LeaseConnection } from './fixtures.js';

/** A lease connection that moves on to the next endpoint after 1 s without a connection. */
const connect = (endpoints: readonly string[]): LeaseConnection => connectLeases(endpoints, { dialTimeoutMs: 1_000 });

/** Records the acknowledgments of a lease. */
function recordAcks(lease: Lease): KeepAliveAck[] {
  const acks: KeepAliveAck[] = [];
  lease.on('keepalive', (a) => acks.push(a));
  return acks;
}

const prefix = `lease-loss-test/${process.pid}-${Date.now()}/`;
/** How late the loss may be reported after the deadline (timer and event-loop latency). */
const SLACK_MS = 500;

let target: Target;
const cleanups: (() => Promise<void> | void)[] = [];

test.before(async () => {
  target = await useTarget();
});
test.after.each(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});
test.after(async () => {
  await target.dispose();
});

async function proxied(): Promise<{ proxy: TcpProxy; viaProxy: LeaseConnection; direct: LeaseConnection }> {
  const first = target.endpoints[0];
  assert.ok(first);
  const proxy = await startTcpProxy({ target: first });
  cleanups.push(() => proxy.close());
  const viaProxy = connect([proxy.endpoint]);
  const direct = connect(target.endpoints);
  cleanups.push(() => viaProxy.close(), () => direct.close());
  return { proxy, viaProxy, direct };
}

test('black-holed connection: lost at last acknowledged send + TTL, well before 2 × TTL', async () => {
  const { proxy, viaProxy, direct } = await proxied();
  const lease = await viaProxy.leases.grant(2);
  const ttlMs = lease.ttl * 1000;
  const key = `${prefix}blackhole`;
  await direct.put(key, 'v', lease.id);
  const acks = recordAcks(lease);
  await waitFor(() => acks.length >= 3, { timeoutMs: 10_000, what: 'three keep-alives' });

  proxy.pause();
  const pausedAt = performance.now();
  const lost = await withTimeout(lease.lost, 2 * ttlMs, 'loss within 2 × TTL of the black hole');
  const lostAt = performance.now();
  assert.is(lost.reason, 'deadline');
  assert.ok(lease.signal.aborted);
  assert.is(lease.signal.reason, lost);
  assert.is(lease.remainingMs(), 0);

  const last = acks.at(-1);
  assert.ok(last);
  assert.is(last.deadline, last.sentAt + last.ttl * 1000, 'deadline = send time + TTL of the newest acknowledgment');
  assert.ok(last.sentAt <= pausedAt, 'the acknowledged request went out before the black hole');
  const late = lostAt - last.deadline;
  assert.ok(late >= 0, `lost ${(-late).toFixed(1)} ms before the deadline`);
  assert.ok(late <= SLACK_MS, `lost ${late.toFixed(1)} ms after the deadline`);
  // Independent of what the client reports: requests go out every TTL/3, so the
  // last acknowledged one left at most TTL/3 (+ a round trip) before the pause.
  const afterPause = lostAt - pausedAt;
  assert.ok(afterPause >= ttlMs - ttlMs / 3 - 100, `lost ${afterPause.toFixed(0)} ms after the pause`);
  assert.ok(afterPause <= ttlMs + SLACK_MS, `lost ${afterPause.toFixed(0)} ms after the pause`);

  // The server saw no renewal since the pause either: the lease expires and its key goes.
  await waitFor(async () => (await direct.get(key)) === undefined, { timeoutMs: 3 * ttlMs + 5_000, what: 'key to expire' });
  assert.is((await direct.leases.timeToLive(lease.id)).ttl, -1);
  proxy.resume();
});

test('a lease not kept alive is lost at grant send time + TTL', async () => {
  const { direct } = await proxied();
  const before = performance.now();
  const lease = await direct.leases.grant(2, { keepAlive: false });
  const after = performance.now();
  const ttlMs = lease.ttl * 1000;
  assert.ok(lease.remainingMs() <= ttlMs && lease.remainingMs() > ttlMs - (after - before) - 50);
  const lost = await withTimeout(lease.lost, 2 * ttlMs, 'loss of a lease not kept alive');
  const lostAt = performance.now();
  assert.is(lost.reason, 'deadline');
  assert.ok(lostAt >= before + ttlMs, `lost ${(before + ttlMs - lostAt).toFixed(1)} ms before grant + TTL`);
  assert.ok(lostAt <= after + ttlMs + SLACK_MS, `lost ${(lostAt - after - ttlMs).toFixed(0)} ms late`);
});

test('keep-alives resume after the connection is broken, without losing the lease', async () => {
  const { proxy, viaProxy } = await proxied();
  const lease = await viaProxy.leases.grant(3);
  const acks = recordAcks(lease);
  await waitFor(() => acks.length >= 1, { timeoutMs: 5_000, what: 'a keep-alive' });
  for (let i = 0; i < 3; i++) {
    const opened = viaProxy.leases.streamsOpened;
    const seen = acks.length;
    proxy.breakAll();
    await waitFor(() => viaProxy.leases.streamsOpened > opened && acks.length > seen, {
      timeoutMs: 5_000,
      what: `keep-alive on a new stream (${i + 1})`,
    });
  }
  assert.not.ok(lease.isLost);
  assert.ok((await viaProxy.leases.timeToLive(lease.id)).ttl > 0);
  await lease.revoke();
});

test('the keep-alive stream survives a restart of its member', async () => {
  if (target.external || target.server === undefined) return;
  const server = target.server;
  const c = connect(target.endpoints);
  cleanups.push(() => c.close());
  const lease = await c.leases.grant(10);
  const key = `${prefix}restart`;
  await c.put(key, 'v', lease.id);
  const acks = recordAcks(lease);
  await waitFor(() => acks.length >= 1, { timeoutMs: 5_000, what: 'a keep-alive' });
  const opened = c.leases.streamsOpened;
  await server.restart();
  const seen = acks.length;
  await waitFor(() => c.leases.streamsOpened > opened && acks.length > seen, {
    timeoutMs: 15_000,
    what: 'keep-alive after the restart',
  });
  assert.not.ok(lease.isLost, 'the lease survives the restart');
  assert.is(await c.get(key), 'v');
  await lease.revoke();
});

let cluster: TargetCluster | undefined;
const useCluster = async (): Promise<TargetCluster> => (cluster ??= await useTargetCluster(3));
test.after(async () => {
  await cluster?.dispose();
});

test('the keep-alive stream moves to another member when its member is killed', async () => {
  const cl = await useCluster();
  const c = connect(cl.endpoints);
  cleanups.push(() => c.close());
  const lease = await c.leases.grant(5);
  const key = `${prefix}killed`;
  await c.put(key, 'v', lease.id);
  const acks = recordAcks(lease);
  await waitFor(() => acks.length >= 1 && c.leases.keepAliveEndpoint, { timeoutMs: 5_000, what: 'a keep-alive' });
  const from = c.leases.keepAliveEndpoint;
  const victim = cl.members.find((m) => m.endpoint === from);
  assert.ok(victim, `member at ${from}`);
  const opened = c.leases.streamsOpened;
  await victim.kill9();
  const seen = acks.length;
  await waitFor(
    () => c.leases.streamsOpened > opened && c.leases.keepAliveEndpoint !== from && acks.length > seen + 1,
    { timeoutMs: 15_000, what: 'keep-alives from another member' },
  );
  assert.not.ok(lease.isLost);
  assert.is(await c.get(key), 'v');
  await victim.restart();
  assert.not.ok(lease.isLost);
  assert.ok((await c.leases.timeToLive(lease.id)).ttl > 0);
  await lease.revoke();
});

test('a black-holed member: the stream moves elsewhere before the lease is lost', async () => {
  const cl = await useCluster();
  const proxies = await Promise.all(cl.endpoints.map((e) => startTcpProxy({ target: e })));
  cleanups.push(async () => {
    for (const p of proxies) await p.close();
  });
  const c = connect(proxies.map((p) => p.endpoint));
  cleanups.push(() => c.close());
  const lease = await c.leases.grant(3);
  const acks = recordAcks(lease);
  await waitFor(() => acks.length >= 2 && c.leases.keepAliveEndpoint, { timeoutMs: 10_000, what: 'keep-alives' });
  const from = c.leases.keepAliveEndpoint;
  const hole = proxies.find((p) => p.endpoint === from);
  assert.ok(hole);
  hole.pause();
  const seen = acks.length;
  await waitFor(() => c.leases.keepAliveEndpoint !== from && acks.length > seen + 1, {
    timeoutMs: 3 * lease.ttl * 1000,
    what: 'keep-alives through another member',
  });
  assert.not.ok(lease.isLost, 'renewed elsewhere before its deadline');
  hole.resume();
  await lease.revoke();
});

test.run();
