/**
 * Semaphore: at most N holders, FIFO by create revision, permits freed by
 * release, loss or timeout.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { op, type Client } from '@etcd-ts/client';
import { Semaphore } from '@etcd-ts/recipes';
import type { Session } from '@etcd-ts/recipes';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
let seq = 0;
const unique = (what: string): string => `semaphore-test/${process.pid}/${what}-${++seq}`;

async function sem(name: string, n: number, shared?: Session): Promise<Semaphore> {
  return new Semaphore(shared ?? (await suite.session(client)), name, n);
}

const count = async (prefix: string): Promise<number> => client.get(prefix).prefix().count();

test.before(async () => {
  await suite.start();
  client = suite.client();
});

test.after.each(suite.closeSessions);

test.after(suite.stop);

test('N permits: the first N acquire at once, the others wait in order', async () => {
  const name = unique('basic');
  const N = 3;
  const all = await Promise.all([0, 1, 2, 3, 4].map(() => sem(name, N)));
  for (let i = 0; i < N; i++) await all[i]!.acquire({ timeoutMs: 5000 });
  assert.ok(all.slice(0, N).every((s) => s.isAcquired));
  assert.match(all[0]!.key, new RegExp(`^${name}/${all[0]!.session.leaseId.toString(16)}-[0-9a-f]+$`));
  const got: number[] = [];
  const waits: Promise<void>[] = [];
  for (let i = N; i < all.length; i++) {
    waits.push(all[i]!.acquire().then(() => void got.push(i)));
    await waitFor(async () => (await count(`${name}/`)) === i + 1, { timeoutMs: 5000, what: `waiter ${i}` });
  }
  assert.equal(got, []);
  assert.not.ok(await (await sem(name, N)).tryAcquire(), 'no free permit');
  assert.is(await count(`${name}/`), all.length, 'tryAcquire left no key');
  // Any holder's release admits the first waiter.
  await all[1]!.release();
  await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'first waiter admitted' });
  assert.equal(got, [3]);
  await all[0]!.release();
  await waitFor(() => got.length === 2, { timeoutMs: 5000, what: 'second waiter admitted' });
  assert.equal(got, [3, 4]);
  await Promise.all(waits);
  for (const s of all) await s.release();
  assert.is(await count(`${name}/`), 0);
});

test('one session may hold several permits through several Semaphore objects', async () => {
  const name = unique('shared-session');
  const s = await suite.session(client);
  const a = await sem(name, 2, s);
  const b = await sem(name, 2, s);
  const c = await sem(name, 2, s);
  await a.acquire();
  await b.acquire();
  assert.not.ok(await c.tryAcquire());
  await a.release();
  assert.ok(await c.tryAcquire());
});

test('never more than N holders under contention; fenced writes by holders only', async () => {
  const name = unique('contention');
  const N = 2;
  const workers = 6;
  const K = 4;
  let inside = 0;
  let maxInside = 0;
  const work = async (w: number): Promise<void> => {
    const s = await sem(name, N);
    for (let i = 0; i < K; i++) {
      await s.acquire({ timeoutMs: 30_000 });
      inside++;
      maxInside = Math.max(maxInside, inside);
      await s.guard(op.put(`${name}-last`, `${w}:${i}`));
      await client.get(`${name}-last`);
      inside--;
      await s.release();
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => work(w)));
  assert.ok(maxInside <= N, `max holders ${maxInside}`);
  assert.ok(maxInside >= 1);
  assert.is(await count(`${name}/`), 0);
});

test("a holder's session loss frees its permit; a timed-out waiter leaves no key", async () => {
  const name = unique('loss');
  const holder = await sem(name, 1);
  await holder.acquire();
  const signal = holder.signal;
  const waiter = await sem(name, 1);
  const err = await waiter.acquire({ timeoutMs: 300 }).catch((e: unknown) => e);
  assert.is(errName(err), 'LockTimeoutError');
  assert.is(await count(`${name}/`), 1);
  const pending = waiter.acquire({ timeoutMs: 10_000 });
  await waitFor(async () => (await count(`${name}/`)) === 2, { timeoutMs: 5000, what: 'waiter key' });
  await client.lease.revoke(holder.session.leaseId);
  await pending;
  assert.ok(waiter.isAcquired);
  await waitFor(() => signal.aborted, { timeoutMs: 10_000, what: 'holder signal aborted' });
  assert.is(errName(signal.reason), 'LeaseLostError');
  await waiter.release();
});

test.run();
