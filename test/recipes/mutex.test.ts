/**
 * Mutex: FIFO by create revision, predecessor-only waiting, fencing, loss,
 * and mutual exclusion across processes (contention, SIGKILL, SIGSTOP).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { op, type Client } from '@etcd-ts/client';
import { Mutex } from '@etcd-ts/recipes';
import type { Session } from '@etcd-ts/recipes';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';
import { spawnWorker, type Proc } from './workers/procs.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
const procs: Proc[] = [];
let seq = 0;
const unique = (what: string): string => `mutex-test/${process.pid}/${what}-${++seq}`;

const session = (ttl?: number): Promise<Session> => suite.session(client, ttl);

test.before(async () => {
  await suite.start();
  client = suite.client();
});

test.after.each(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  await suite.closeSessions();
});

test.after(suite.stop);

test('lock: Go key layout, fencing token = create revision, unlock deletes the key', async () => {
  const s = await session();
  const name = unique('layout');
  const m = new Mutex(s, name);
  assert.is(m.key, `${name}/${s.leaseId.toString(16)}`);
  const token = await m.lock();
  assert.ok(m.isLocked);
  assert.is(m.fencingToken, token);
  const kv = await client.get(m.key).first();
  assert.ok(kv, 'key exists');
  assert.is(kv!.createRevision, token);
  assert.is(kv!.lease, s.leaseId);
  assert.is(kv!.value.length, 0);
  await m.unlock();
  assert.not.ok(m.isLocked);
  assert.is(await client.get(`${name}/`).prefix().count(), 0);
  assert.throws(() => m.fencingToken, /not the owner/);
  // A second acquisition gets a larger token.
  const again = await m.lock();
  assert.ok(again > token);
  await m.unlock();
});

test('tryLock fails while another session holds the lock and leaves no key behind', async () => {
  const name = unique('try');
  const a = new Mutex(await session(), name);
  const b = new Mutex(await session(), name);
  assert.ok(await a.tryLock());
  assert.not.ok(await b.tryLock());
  assert.is(await client.get(`${name}/`).prefix().count(), 1);
  await a.unlock();
  assert.ok(await b.tryLock());
  await b.unlock();
});

test('waiters acquire in create-revision order, one at a time', async () => {
  const name = unique('fifo');
  const holders = await Promise.all([0, 1, 2, 3].map(async () => new Mutex(await session(), name)));
  await holders[0]!.lock();
  const order: number[] = [];
  const waits: Promise<void>[] = [];
  for (let i = 1; i < holders.length; i++) {
    waits.push(holders[i]!.lock().then(() => void order.push(i)));
    // Each waiter's key exists before the next one starts: creation order is known.
    await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === i + 1, { timeoutMs: 5000, what: `waiter ${i} key` });
  }
  for (let i = 0; i < holders.length - 1; i++) {
    assert.equal(order, order.slice(0, i));
    await holders[i]!.unlock();
    await waitFor(() => order.length === i + 1, { timeoutMs: 5000, what: `holder ${i + 1} acquires` });
    assert.is(order[i], i + 1);
    // Nobody else got it meanwhile.
    assert.is(order.length, i + 1);
  }
  await Promise.all(waits);
  await holders[holders.length - 1]!.unlock();
});

test('lock with timeoutMs rejects with LockTimeoutError and deletes its key; abort rejects with the reason', async () => {
  const name = unique('timeout');
  const a = new Mutex(await session(), name);
  const b = new Mutex(await session(), name);
  await a.lock();
  const t0 = Date.now();
  const err = await b.lock({ timeoutMs: 300 }).catch((e: unknown) => e);
  assert.is(errName(err), 'LockTimeoutError');
  assert.ok(Date.now() - t0 < 3000);
  assert.is(await client.get(`${name}/`).prefix().count(), 1, 'waiter key deleted');
  const ac = new AbortController();
  const pending = b.lock({ signal: ac.signal });
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'waiter key' });
  const reason = new Error('changed my mind');
  ac.abort(reason);
  assert.is(await pending.catch((e: unknown) => e), reason);
  assert.is(await client.get(`${name}/`).prefix().count(), 1, 'waiter key deleted');
  await a.unlock();
});

test('guard: fenced writes succeed while held, fail with NotLockOwnerError after unlock', async () => {
  const name = unique('guard');
  const m = new Mutex(await session(), name);
  await m.lock();
  const res = await m.guard(op.put(`${name}-data`, 'v1'));
  assert.ok(res.succeeded);
  assert.is(await client.get(`${name}-data`).string(), 'v1');
  // isOwner() composes with other compares.
  const txn = await client.txn().if(m.isOwner()).then(op.put(`${name}-data`, 'v2')).commit();
  assert.ok(txn.succeeded);
  const isOwner = m.isOwner();
  await m.unlock();
  const after = await client.txn().if(isOwner).then(op.put(`${name}-data`, 'v3')).commit();
  assert.not.ok(after.succeeded);
  const err = await m.guard(op.put(`${name}-data`, 'v4')).catch((e: unknown) => e);
  assert.is(errName(err), 'NotLockOwnerError');
  assert.is(await client.get(`${name}-data`).string(), 'v2');
});

test("re-entrancy is Go's: two Mutex objects of one session and name share the key", async () => {
  const s = await session();
  const name = unique('reentrant');
  const a = new Mutex(s, name);
  const b = new Mutex(s, name);
  const ta = await a.lock();
  const tb = await b.lock({ timeoutMs: 2000 });
  assert.is(ta, tb);
  assert.is(a.key, b.key);
  assert.is(await client.get(`${name}/`).prefix().count(), 1);
  await b.unlock();
  assert.is(await client.get(`${name}/`).prefix().count(), 0, 'one unlock releases it for both');
  const err = await a.guard(op.put(`${name}-x`, '1')).catch((e: unknown) => e);
  assert.is(errName(err), 'NotLockOwnerError');
});

test('session lost while waiting rejects lock with LeaseLostError; holder signal aborts on loss', async () => {
  const name = unique('lost');
  const hs = await session();
  const holder = new Mutex(hs, name);
  await holder.lock();
  const holderSignal = holder.signal;
  const ws = await session();
  const waiter = new Mutex(ws, name);
  const pending = waiter.lock().catch((e: unknown) => e);
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'waiter key' });
  // Revoked behind the sessions' backs: the client learns it from the keep-alive answer.
  await client.lease.revoke(ws.leaseId);
  const err = await pending;
  assert.is(errName(err), 'LeaseLostError');
  assert.is(ws.state, 'lost');
  assert.not.ok(holderSignal.aborted);
  await client.lease.revoke(hs.leaseId);
  await waitFor(() => holderSignal.aborted, { timeoutMs: 10_000, what: 'holder signal aborted' });
  assert.is(errName(holderSignal.reason), 'LeaseLostError');
  assert.not.ok(holder.isLocked);
});

test('key deleted by someone else aborts the holder signal with LockLostError', async () => {
  const name = unique('deleted');
  const m = new Mutex(await session(), name);
  await m.lock();
  const signal = m.signal;
  await client.delete(m.key);
  await waitFor(() => signal.aborted, { timeoutMs: 5000, what: 'holder signal aborted' });
  assert.is(errName(signal.reason), 'LockLostError');
  const err = await m.guard(op.put(`${name}-x`, '1')).catch((e: unknown) => e);
  assert.is(errName(err), 'NotLockOwnerError');
});

test('mutual exclusion under contention: N processes, fenced non-atomic increments', async () => {
  const name = unique('contention');
  const counter = `${name}-counter`;
  const N = 4;
  const K = 15;
  for (let i = 0; i < N; i++) {
    procs.push(spawnWorker('mutex-worker', [JSON.stringify({ endpoints: suite.target.endpoints, name, ttl: 10, mode: 'count', iterations: K, counter })]));
  }
  const lines = await Promise.all(procs.map((p) => p.waitLine(/^done \d+$/, 120_000)));
  assert.equal(lines, new Array(N).fill(`done ${K}`));
  assert.is(await client.get(counter).string(), String(N * K));
  await Promise.all(procs.map((p) => p.exited));
  assert.is(await client.get(`${name}/`).prefix().count(), 0);
});

test('a holder killed with SIGKILL: the lock passes on within TTL + 1 s', async () => {
  const name = unique('sigkill');
  const ttl = 2;
  const w = spawnWorker('mutex-worker', [JSON.stringify({ endpoints: suite.target.endpoints, name, ttl, mode: 'hold' })]);
  procs.push(w);
  await w.waitLine(/^locked /, 30_000);
  const m = new Mutex(await session(), name);
  const acquired = m.lock({ timeoutMs: 30_000 });
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'waiter key' });
  const killedAt = Date.now();
  await w.kill();
  await acquired;
  const took = Date.now() - killedAt;
  assert.ok(took <= (ttl + 1) * 1000, `lock passed on after ${took} ms`);
  await m.unlock();
});

test('a holder paused with SIGSTOP past its TTL: its fenced write after SIGCONT is rejected', async () => {
  const name = unique('sigstop');
  const data = `${name}-data`;
  const w = spawnWorker('mutex-worker', [JSON.stringify({ endpoints: suite.target.endpoints, name, ttl: 2, mode: 'hold' })]);
  procs.push(w);
  const locked = await w.waitLine(/^locked /, 30_000);
  const staleToken = Number(locked.split(' ')[1]);
  // Sanity: while it holds the lock, its fenced writes go through.
  w.send(`write ${data} first`);
  await w.waitLine(/^written$/, 10_000);
  w.signal('SIGSTOP');
  try {
    const m = new Mutex(await session(), name);
    const token = await m.lock({ timeoutMs: 30_000 });
    assert.ok(token > staleToken, 'the new holder has a larger fencing token');
    await m.guard(op.put(data, 'second'));
    w.signal('SIGCONT');
    const from = w.lines.length;
    w.send(`write ${data} stale`);
    const answer = await w.waitLine(/^(rejected|written|error .*)$/, 15_000, from);
    assert.is(answer, 'rejected');
    assert.is(await client.get(data).string(), 'second');
    await m.unlock();
  } finally {
    w.signal('SIGCONT');
  }
});

test.run();
