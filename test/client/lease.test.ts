// Lease: grant / revoke / time-to-live / list / keep-alive-once, and leases
// kept alive on the client's single shared keep-alive stream.
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientClosedError, isEtcdError, LeaseLostError } from '@etcd-ts/client';
import type { Lease } from '@etcd-ts/client';
import { waitFor, withTimeout } from '../harness/index.js';
import { useTarget, type Target } from '../harness/target.js';
import { connectLeases, type LeaseConnection } from './fixtures.js';

async function rejectsWith(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${what}: got ${String(e)}`);
    return;
  }
  assert.unreachable(`${what}: resolved`);
}

/** Counts the acknowledged keep-alives of each lease. */
function countAcks(leases: readonly Lease[]): Map<bigint, number> {
  const acks = new Map<bigint, number>();
  for (const l of leases) l.on('keepalive', () => acks.set(l.id, (acks.get(l.id) ?? 0) + 1));
  return acks;
}

const prefix = `lease-test/${process.pid}-${Date.now()}/`;
let target: Target;
const conns: LeaseConnection[] = [];
const open = (): LeaseConnection => {
  const c = connectLeases(target.endpoints);
  conns.push(c);
  return c;
};

test.before(async () => {
  target = await useTarget();
});
test.after.each(() => {
  for (const c of conns.splice(0)) c.close();
});
test.after(async () => {
  await target.dispose();
});

test('grant, timeToLive with keys, leases, keepAliveOnce, revoke', async () => {
  const c = open();
  const lease = await c.leases.grant(10, { keepAlive: false });
  assert.is(typeof lease.id, 'bigint');
  assert.ok(lease.id > 0n);
  assert.is(lease.ttl, 10);
  assert.is(lease.keepingAlive, false);
  const k1 = `${prefix}basic/a`;
  const k2 = `${prefix}basic/b`;
  await c.put(k1, 'a', lease.id);
  await c.put(k2, 'b', lease.id);

  const ttl = await c.leases.timeToLive(lease.id, { keys: true });
  assert.is(ttl.id, lease.id);
  assert.is(ttl.grantedTtl, 10);
  assert.ok(ttl.ttl > 0 && ttl.ttl <= 10, `ttl ${ttl.ttl}`);
  assert.equal(ttl.keys.map(String).sort(), [k1, k2]);
  assert.is((await c.leases.timeToLive(lease.id)).keys.length, 0, 'keys only when asked for');
  assert.ok((await lease.timeToLive()).ttl > 0);

  assert.ok((await c.leases.leases()).includes(lease.id));
  assert.equal(await c.leases.keepAliveOnce(lease.id), { id: lease.id, ttl: 10 });
  const left = lease.remainingMs();
  assert.ok(left > 5_000 && left <= 10_000, `remainingMs ${left}`);

  await lease.revoke();
  assert.ok(lease.isLost);
  assert.ok(lease.signal.aborted);
  const lost = await lease.lost;
  assert.instance(lost, LeaseLostError);
  assert.is(lost.reason, 'revoked');
  assert.is(lost.leaseId, lease.id);
  assert.is(lease.signal.reason, lost);
  assert.is(lease.remainingMs(), 0);
  await lease.revoke(); // Once revoked, revoking again is a no-op.

  assert.is(await c.get(k1), undefined, 'revoke deletes attached keys');
  assert.is(await c.get(k2), undefined);
  const gone = await c.leases.timeToLive(lease.id, { keys: true });
  assert.is(gone.ttl, -1);
  assert.is(gone.keys.length, 0);
  assert.not.ok((await c.leases.leases()).includes(lease.id));
  await rejectsWith(c.leases.keepAliveOnce(lease.id), (e) => isEtcdError(e, 'LEASE_NOT_FOUND'), 'keepAliveOnce');
  await rejectsWith(c.leases.revoke(lease.id), (e) => isEtcdError(e, 'LEASE_NOT_FOUND'), 'revoke');
});

test('grant with a chosen id; the same id again is refused', async () => {
  const c = open();
  const id = (BigInt(Date.now()) << 16n) | BigInt(process.pid & 0xffff);
  const lease = await c.leases.grant(5, { id, keepAlive: false });
  assert.is(lease.id, id);
  await rejectsWith(c.leases.grant(5, { id, keepAlive: false }), (e) => isEtcdError(e, 'LEASE_EXISTS'), 'grant twice');
  await c.leases.revoke(id);
  assert.is((await lease.lost).reason, 'revoked', 'revoking by id through the client loses its handle');
});

test('attach() keeps alive a lease granted elsewhere', async () => {
  const c1 = open();
  const c2 = open();
  const granted = await c1.leases.grant(5, { keepAlive: false });
  const before = performance.now();
  const lease = await c2.leases.attach(granted.id);
  assert.is(lease.id, granted.id);
  assert.is(lease.ttl, 5);
  assert.ok(lease.keepingAlive);
  assert.ok(lease.remainingMs() <= 5_000 && lease.remainingMs() > 5_000 - (performance.now() - before) - 50);
  await withTimeout(new Promise((r) => lease.once('keepalive', r)), 5_000, 'a keep-alive');
  assert.is(await c2.leases.attach(granted.id), lease, 'one handle per lease and client');
  const missing = granted.id ^ 0x5a5an;
  await rejectsWith(
    c2.leases.attach(missing),
    (e) => e instanceof LeaseLostError && e.reason === 'expired' && e.leaseId === missing,
    'attach to an unknown lease',
  );
  await lease.revoke();
  assert.is((await c1.leases.timeToLive(granted.id)).ttl, -1);
});

test('grant refuses a TTL that is not a positive integer', async () => {
  const c = open();
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await rejectsWith(c.leases.grant(bad), (e) => e instanceof RangeError, `grant(${bad})`);
  }
});

test('many leases share one keep-alive stream', async () => {
  const c = open();
  const n = 25;
  const leases = await Promise.all(Array.from({ length: n }, () => c.leases.grant(3)));
  const acks = countAcks(leases);
  await waitFor(() => leases.every((l) => (acks.get(l.id) ?? 0) >= 2), { timeoutMs: 15_000, what: 'two keep-alives each' });
  assert.is(c.leases.streamsOpened, 1);
  assert.is(c.leases.keptAlive, n);
  assert.ok(c.leases.keepAliveEndpoint !== undefined);
  assert.ok(leases.every((l) => !l.isLost && l.keepingAlive));
  await Promise.all(leases.map((l) => l.revoke()));
  assert.is(c.leases.keptAlive, 0);
  assert.is(c.leases.keepAliveEndpoint, undefined, 'the stream closes with the last lease');
});

test('a lease kept alive for longer than 3 × TTL stays alive', async () => {
  const c = open();
  const lease = await c.leases.grant(2);
  const key = `${prefix}kept`;
  await c.put(key, 'v', lease.id);
  const acks = countAcks([lease]);
  const start = performance.now();
  const span = 3 * lease.ttl * 1000 + 1_000;
  // Waiting is the point here: time passes while only the keep-alives hold the lease.
  while (performance.now() - start < span) {
    assert.not.ok(lease.isLost, `lost after ${Math.round(performance.now() - start)} ms`);
    await delay(250);
  }
  assert.ok((acks.get(lease.id) ?? 0) >= 3 * 3, `keep-alives every TTL/3 (${acks.get(lease.id)})`);
  assert.ok(lease.remainingMs() > 0);
  assert.is(await c.get(key), 'v');
  assert.ok((await c.leases.timeToLive(lease.id)).ttl > 0);
  assert.is(c.leases.streamsOpened, 1);
  await lease.revoke();
});

test('release() stops keeping alive: lost at its deadline, then expired on the server', async () => {
  const c = open();
  const lease = await c.leases.grant(2);
  const key = `${prefix}released`;
  await c.put(key, 'v', lease.id);
  await withTimeout(new Promise((r) => lease.once('keepalive', r)), 5_000, 'a keep-alive');
  lease.release();
  assert.is(lease.keepingAlive, false);
  assert.is(c.leases.keptAlive, 0);
  const deadline = performance.now() + lease.remainingMs();
  const lost = await withTimeout(lease.lost, 5_000, 'loss after release');
  assert.is(lost.reason, 'deadline');
  assert.ok(performance.now() >= deadline - 5, 'not lost before its deadline');
  await waitFor(async () => (await c.get(key)) === undefined, { timeoutMs: 10_000, what: 'key to expire' });
  assert.is((await c.leases.timeToLive(lease.id)).ttl, -1);
  lease.keepAlive();
  assert.is(lease.keepingAlive, false, 'a lost lease is not kept alive again');
});

test('a kept-alive lease revoked elsewhere is lost as expired', async () => {
  const c1 = open();
  const c2 = open();
  const lease = await c1.leases.grant(3);
  await withTimeout(new Promise((r) => lease.once('keepalive', r)), 5_000, 'a keep-alive');
  await c2.leases.revoke(lease.id);
  const lost = await withTimeout(lease.lost, 5_000, 'loss after revoke elsewhere');
  assert.is(lost.reason, 'expired');
  assert.is(lease.remainingMs(), 0);
  assert.is(c1.leases.keptAlive, 0);
});

test('close() stops the keep-alive without revoking; leases are lost as closed', async () => {
  const c1 = open();
  const c2 = open();
  const lease = await c1.leases.grant(10);
  const events: string[] = [];
  lease.on('lost', (e) => events.push(e.reason));
  c1.leases.close();
  assert.is((await lease.lost).reason, 'closed');
  assert.equal(events, ['closed']);
  assert.ok(lease.remainingMs() > 0, 'closing the client changes nothing on the server');
  assert.ok((await c2.leases.timeToLive(lease.id)).ttl > 0, 'not revoked');
  await rejectsWith(c1.leases.grant(5), (e) => e instanceof ClientClosedError, 'grant after close');
  await c2.leases.revoke(lease.id);
});

test('await using revokes the lease', async () => {
  const c = open();
  let id = 0n;
  {
    await using lease = await c.leases.grant(10);
    id = lease.id;
    assert.ok((await c.leases.timeToLive(id)).ttl > 0);
  }
  assert.is((await c.leases.timeToLive(id)).ttl, -1);
});

test.run();
