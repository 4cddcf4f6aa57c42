/**
 * Session: one lease shared by recipes; states alive / suspended / lost;
 * loss as an AbortSignal; close (revoke), orphan, and resuming a lease.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@etcd-ts/client';
import { Election } from '@etcd-ts/recipes';
import { Mutex } from '@etcd-ts/recipes';
import { Session, type SessionState } from '@etcd-ts/recipes';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let seq = 0;
const unique = (what: string): string => `session-test/${process.pid}/${what}-${++seq}`;

test.before(async () => {
  await suite.start();
  client = suite.client();
});

test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test.after(suite.stop);

async function proxied(): Promise<{ proxy: TcpProxy; client: Client }> {
  const proxy = await startTcpProxy({ target: suite.target.endpoints[0]! });
  const c = new Client({ endpoints: [proxy.endpoint], callTimeoutMs: 3000, dialTimeoutMs: 1000 });
  cleanups.push(() => proxy.close(), () => c.close());
  return { proxy, client: c };
}

test('create: alive, keys of every recipe on the one lease; close() revokes and signals loss', async () => {
  const s = await Session.create(client, { ttl: 10 });
  assert.is(s.state, 'alive');
  assert.ok(s.leaseId > 0n);
  assert.ok(s.ttl >= 10);
  assert.is(s.lease.id, s.leaseId);
  assert.not.ok(s.signal.aborted);
  const name = unique('shared');
  const m = new Mutex(s, `${name}/lock`);
  const e = new Election(s, `${name}/election`);
  await m.lock();
  await e.campaign('me');
  const kvs = await client.getAll(`${name}/`).all();
  assert.is(kvs.length, 2);
  for (const kv of kvs) assert.is(kv.lease, s.leaseId);
  const states: SessionState[] = [];
  s.on('state', (st) => states.push(st));
  await s.close();
  assert.is(s.state, 'lost');
  assert.equal(states, ['lost']);
  assert.ok(s.signal.aborted);
  assert.is(errName(s.signal.reason), 'LeaseLostError');
  assert.is((await s.lost).reason, 'revoked');
  assert.is(await client.getAll(`${name}/`).count(), 0, 'revoke deleted every key');
  assert.is((await client.lease.timeToLive(s.leaseId)).ttl, -1);
  await s.close(); // idempotent
});

test('orphan(): lost at once locally, the lease lives on; another client resumes it and keeps it alive', async () => {
  const name = unique('resume');
  const a = await Session.create(client, { ttl: 3 });
  const lockA = new Mutex(a, name);
  const tokenA = await lockA.lock();
  a.orphan();
  assert.is(a.state, 'lost');
  assert.is((await a.lost).reason, 'closed');
  assert.ok((await client.lease.timeToLive(a.leaseId)).ttl > 0, 'still alive on the server');

  await using other = new Client({ endpoints: suite.target.endpoints, callTimeoutMs: 5000 });
  const b = await Session.create(other, { lease: a.leaseId });
  cleanups.push(() => b.close());
  assert.is(b.leaseId, a.leaseId);
  assert.is(b.state, 'alive');
  assert.is(b.ttl, 3);
  // Kept alive past its TTL by the resumed session.
  const until = Date.now() + 4500;
  await waitFor(() => Date.now() >= until, { timeoutMs: 6000, what: 'more than one TTL', intervalMs: 200 });
  assert.is(b.state, 'alive');
  assert.ok((await other.lease.timeToLive(b.leaseId)).ttl > 0);
  // The same lease means the same lock key: the resumed session still holds the lock.
  const lockB = new Mutex(b, name);
  assert.is(await lockB.tryLock(), true);
  assert.is(lockB.fencingToken, tokenA);
  await lockB.unlock();
});

test('resuming a lease that does not exist rejects with LeaseLostError', async () => {
  const s = await Session.create(client, { ttl: 5 });
  await s.close();
  const err = await Session.create(client, { lease: s.leaseId }).catch((e: unknown) => e);
  assert.is(errName(err), 'LeaseLostError');
  const err2 = await Session.create(client, { lease: 0x7abcdef01234n }).catch((e: unknown) => e);
  assert.is(errName(err2), 'LeaseLostError');
});

test('suspended while keep-alives fail, alive again when they get through', async () => {
  const { proxy, client: c } = await proxied();
  const s = await Session.create(c, { ttl: 6 });
  cleanups.push(() => s.close());
  const states: SessionState[] = [];
  s.on('state', (st) => states.push(st));
  // Wait for one keep-alive round trip, then cut the traffic.
  await new Promise<void>((resolve) => s.lease.once('keepalive', () => resolve()));
  proxy.pause();
  await waitFor(() => s.state === 'suspended', { timeoutMs: 5000, what: 'suspended' });
  assert.ok(s.remainingMs() > 0, 'the lease may still be alive');
  assert.not.ok(s.signal.aborted);
  proxy.resume();
  await waitFor(() => s.state === 'alive', { timeoutMs: 5000, what: 'alive again' });
  assert.equal(states, ['suspended', 'alive']);
  assert.not.ok(s.signal.aborted);
});

test('lost when keep-alives fail past the TTL: signal aborts with LeaseLostError, and stays lost', async () => {
  const { proxy, client: c } = await proxied();
  const s = await Session.create(c, { ttl: 3 });
  const states: SessionState[] = [];
  s.on('state', (st) => states.push(st));
  await new Promise<void>((resolve) => s.lease.once('keepalive', () => resolve()));
  const onAbort = new Promise<unknown>((resolve) => s.signal.addEventListener('abort', () => resolve(s.signal.reason), { once: true }));
  const t0 = Date.now();
  proxy.pause();
  const reason = await onAbort;
  assert.ok(Date.now() - t0 <= (s.ttl + 1) * 1000, 'lost within the TTL');
  assert.is(errName(reason), 'LeaseLostError');
  assert.is(s.state, 'lost');
  assert.is(states[states.length - 1], 'lost');
  assert.is(await s.lost, reason);
  proxy.resume();
  await s.close();
  assert.is(s.state, 'lost');
});

test('revoked by someone else: lost, with the server-side reason', async () => {
  const s = await Session.create(client, { ttl: 10 });
  cleanups.push(() => s.close());
  await client.lease.revoke(s.leaseId);
  const err = await s.lost;
  assert.is(errName(err), 'LeaseLostError');
  assert.ok(['expired', 'revoked'].includes(err.reason), err.reason);
  assert.is(s.state, 'lost');
});

test('the signal option: aborting it before creation rejects; after creation it orphans the session', async () => {
  const early = new AbortController();
  early.abort(new Error('no'));
  const err = await Session.create(client, { signal: early.signal }).catch((e: unknown) => e);
  assert.is((err as Error).message, 'no');
  const ac = new AbortController();
  const s = await Session.create(client, { ttl: 5, signal: ac.signal });
  cleanups.push(() => client.lease.revoke(s.leaseId).catch(() => undefined));
  ac.abort();
  assert.is(s.state, 'lost');
  assert.ok((await client.lease.timeToLive(s.leaseId)).ttl > 0, 'orphaned, not revoked');
});

test('await using closes (revokes) the session', async () => {
  let id = 0n;
  {
    await using s = await Session.create(client, { ttl: 5 });
    id = s.leaseId;
  }
  assert.is((await client.lease.timeToLive(id)).ttl, -1);
});

test.run();
