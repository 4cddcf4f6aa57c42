/**
 * Barrier: hold / release / wait with N waiters on separate clients, and
 * aborting a wait. Runs against the target server (etcd-ts by default,
 * ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Barrier } from '@etcd-ts/recipes';
import { SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const { client } = suite;
let run = 0;

const ns = (name: string): string => `barrier-test/${++run}-${name}`;

test.before(suite.start);
test.after(suite.stop);

test('wait() returns at once when the barrier is not held', async () => {
  const b = new Barrier(client(), ns('free'));
  assert.is(await b.isHeld(), false);
  await b.wait({ signal: AbortSignal.timeout(5000) });
});

test('hold() creates the key once; release() lets every one of N waiters through', async () => {
  const key = ns('n-waiters');
  const holderClient = client();
  const holder = new Barrier(holderClient, key);
  assert.is(await holder.hold(), true);
  assert.is(await holder.hold(), false, 'already held');
  assert.is(await holder.isHeld(), true);
  const N = 5;
  const passed: number[] = [];
  const waits = Array.from({ length: N }, (_, i) =>
    new Barrier(client(), key).wait({ signal: AbortSignal.timeout(15_000) }).then(() => passed.push(i)),
  );
  // Every waiter is blocked while the key exists.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(passed, []);
  // Writing the key again (a put, not a delete) does not release anyone.
  await holderClient.put(key, 'still held');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(passed, []);
  assert.is(await holder.release(), true);
  await Promise.all(waits);
  assert.is(passed.length, N);
  assert.is(await holder.release(), false, 'already released');
});

test('a release between the read and the watch is not missed', async () => {
  // Many rounds of hold + (wait || release) racing each other.
  const key = ns('race');
  const a = new Barrier(client(), key);
  const b = new Barrier(client(), key);
  for (let i = 0; i < 20; i++) {
    await a.hold();
    await Promise.all([b.wait({ signal: AbortSignal.timeout(10_000) }), a.release()]);
  }
});

test('an aborted wait rejects with the signal reason', async () => {
  const key = ns('abort');
  const holder = new Barrier(client(), key);
  await holder.hold();
  const ac = new AbortController();
  const waiting = new Barrier(client(), key).wait({ signal: ac.signal });
  const reason = new Error('gave up');
  setTimeout(() => ac.abort(reason), 100);
  assert.is(await waiting.catch((e: unknown) => e), reason);
  await holder.release();
});

test.run();
