/**
 * RWMutex: readers share, writers are exclusive, FIFO by create revision,
 * etcd contrib/recipes key layout.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { op, type Client } from '@etcd-ts/client';
import { RWMutex } from '@etcd-ts/recipes';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
let seq = 0;
const unique = (what: string): string => `rwmutex-test/${process.pid}/${what}-${++seq}`;

async function rw(name: string): Promise<RWMutex> {
  return new RWMutex(await suite.session(client), name);
}

const count = async (prefix: string): Promise<number> => client.get(prefix).prefix().count();

test.before(async () => {
  await suite.start();
  client = suite.client();
});

test.after.each(suite.closeSessions);

test.after(suite.stop);

test('key layout: <name>/read/<ns> and <name>/write/<ns> on the session lease', async () => {
  const name = unique('layout');
  const r = await rw(name);
  const token = await r.rLock();
  assert.is(r.mode, 'read');
  assert.match(r.key, new RegExp(`^${name}/read/\\d+$`));
  const kv = await client.get(r.key).first();
  assert.is(kv?.createRevision, token);
  assert.is(kv?.lease, r.session.leaseId);
  await r.rUnlock();
  assert.is(r.mode, undefined);
  const w = await rw(name);
  await w.lock();
  assert.is(w.mode, 'write');
  assert.match(w.key, new RegExp(`^${name}/write/\\d+$`));
  await w.unlock();
  assert.is(await count(`${name}/`), 0);
});

test('readers share; a writer waits for earlier readers; a later reader waits for the writer', async () => {
  const name = unique('share');
  const readers = await Promise.all([0, 1, 2].map(() => rw(name)));
  await Promise.all(readers.map((r) => r.rLock({ timeoutMs: 5000 })));
  const writer = await rw(name);
  let written = false;
  const wLock = writer.lock().then(() => void (written = true));
  await waitFor(async () => (await count(`${name}/`)) === 4, { timeoutMs: 5000, what: 'writer key' });
  const late = await rw(name);
  let lateRead = false;
  const lateLock = late.rLock().then(() => void (lateRead = true));
  await waitFor(async () => (await count(`${name}/`)) === 5, { timeoutMs: 5000, what: 'late reader key' });
  await readers[0]!.rUnlock();
  await readers[1]!.rUnlock();
  assert.not.ok(written, 'one reader still holds');
  await readers[2]!.rUnlock();
  await wLock;
  assert.ok(written);
  assert.not.ok(lateRead, 'the later reader waits for the writer');
  await writer.unlock();
  await lateLock;
  assert.ok(lateRead);
  await late.rUnlock();
});

test('writers exclude writers; a timed-out waiter leaves no key', async () => {
  const name = unique('writers');
  const a = await rw(name);
  const b = await rw(name);
  await a.lock();
  const err = await b.lock({ timeoutMs: 300 }).catch((e: unknown) => e);
  assert.is(errName(err), 'LockTimeoutError');
  const err2 = await b.rLock({ timeoutMs: 300 }).catch((e: unknown) => e);
  assert.is(errName(err2), 'LockTimeoutError');
  assert.is(await count(`${name}/`), 1);
  await a.unlock();
  await b.lock({ timeoutMs: 5000 });
  await b.unlock();
});

test('under contention: writers never overlap anyone, readers see a stable value', async () => {
  const name = unique('contention');
  const counter = `${name}-counter`;
  await client.put(counter, '0');
  const W = 3;
  const R = 3;
  const K = 6;
  let writers = 0;
  let readersIn = 0;
  const violations: string[] = [];
  const writer = async (): Promise<void> => {
    const m = await rw(name);
    for (let i = 0; i < K; i++) {
      await m.lock({ timeoutMs: 30_000 });
      writers++;
      if (writers > 1 || readersIn > 0) violations.push(`writer with ${writers} writers, ${readersIn} readers`);
      const v = Number(await client.get(counter).string());
      await m.guard(op.put(counter, String(v + 1)));
      writers--;
      await m.unlock();
    }
  };
  const reader = async (): Promise<void> => {
    const m = await rw(name);
    for (let i = 0; i < K; i++) {
      await m.rLock({ timeoutMs: 30_000 });
      readersIn++;
      if (writers > 0) violations.push('reader during a write');
      const v1 = await client.get(counter).string();
      const v2 = await client.get(counter).string();
      if (v1 !== v2) violations.push(`value changed under a read lock: ${v1} -> ${v2}`);
      readersIn--;
      await m.rUnlock();
    }
  };
  await Promise.all([...Array.from({ length: W }, writer), ...Array.from({ length: R }, reader)]);
  assert.equal(violations, []);
  assert.is(await client.get(counter).string(), String(W * K));
  assert.is(await count(`${name}/`), 0);
});

test('session lost while holding: signal aborts, guarded writes fail', async () => {
  const name = unique('lost');
  const m = await rw(name);
  await m.lock();
  const signal = m.signal;
  await client.lease.revoke(m.session.leaseId);
  await waitFor(() => signal.aborted, { timeoutMs: 10_000, what: 'signal aborted' });
  const err = await m.guard(op.put(`${name}-x`, '1')).catch((e: unknown) => e);
  assert.is(errName(err), 'NotLockOwnerError');
});

test.run();
