/**
 * Queue: FIFO by create revision, claims under a lease, ack, at-least-once
 * redelivery after a consumer is killed, blocking dequeue. Runs against the
 * target server (etcd-ts by default, ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@etcd-ts/client';
import { Queue } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';
import { waitFor } from '../harness/wait-for.js';
import { SuiteTarget } from './fixtures.js';
import { spawnWorker, type Proc } from './workers/procs.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const { client } = suite;
const procs: Proc[] = [];
const queues: Queue[] = [];
let run = 0;

function queue(c: Client, prefix: string, opts?: ConstructorParameters<typeof Queue>[2]): Queue {
  const q = new Queue(c, prefix, opts);
  queues.push(q);
  return q;
}

const ns = (name: string): string => `queue-test/${++run}-${name}`;

test.before(suite.start);

test.after(async () => {
  await Promise.allSettled(procs.map((p) => p.kill()));
  await Promise.allSettled(queues.map((q) => q.close()));
  await suite.stop();
});

test('items come out in enqueue (create revision) order, from several producers', async () => {
  const p = ns('fifo');
  const producers = [queue(client(), p), queue(client(), p)];
  const expected: string[] = [];
  for (let i = 0; i < 12; i++) {
    const v = `item-${i}`;
    await (producers[i % 2] as Queue).enqueue(v);
    expected.push(v);
  }
  const consumer = queue(client(), p, { ttl: 5 });
  assert.is(await consumer.size(), 12);
  const got: string[] = [];
  let lastRevision = 0;
  for (let i = 0; i < 12; i++) {
    const item = await consumer.dequeue({ signal: AbortSignal.timeout(10_000) });
    assert.ok(item.createRevision > lastRevision, 'create revisions increase');
    lastRevision = item.createRevision;
    got.push(item.text());
    assert.ok(await item.ack());
  }
  assert.equal(got, expected);
  assert.is(await consumer.size(), 0);
  assert.is(await consumer.inFlight(), 0);
  assert.is(await consumer.tryDequeue(), undefined);
});

test('a claimed item is invisible to other consumers until acked or released', async () => {
  const p = ns('claims');
  const c = client();
  const producer = queue(c, p);
  await producer.enqueue('first');
  await producer.enqueue('second');
  const a = queue(client(), p, { ttl: 5 });
  const b = queue(client(), p, { ttl: 5 });
  const itemA = await a.dequeue();
  assert.is(itemA.text(), 'first');
  assert.is((await c.get(itemA.claimKey).first())?.lease, itemA.leaseId, 'the claim is attached to the consumer lease');
  assert.ok(itemA.claimKey.startsWith(`${p}-claims/`));
  const itemB = await b.dequeue();
  assert.is(itemB.text(), 'second');
  assert.is(await b.tryDequeue(), undefined, 'nothing left to claim');
  assert.is(await a.inFlight(), 2);
  // Released: delivered again.
  assert.ok(await itemA.release());
  const again = await b.tryDequeue();
  assert.is(again?.text(), 'first');
  assert.ok(await again?.ack());
  assert.is(await itemA.ack(), false, 'a released claim cannot ack');
  assert.ok(await itemB.ack());
  assert.is(await producer.size(), 0);
});

test('dequeue blocks on an empty queue until an item arrives; a signal gives up', async () => {
  const p = ns('blocking');
  const consumer = queue(client(), p, { ttl: 5 });
  const producer = queue(client(), p);
  let resolved = false;
  const pending = consumer.dequeue({ signal: AbortSignal.timeout(15_000) }).then((item) => {
    resolved = true;
    return item;
  });
  // Give the consumer time to scan and start watching: it must not resolve on its own.
  await new Promise((r) => setTimeout(r, 300));
  assert.is(resolved, false);
  await producer.enqueue('late');
  const item = await pending;
  assert.is(item.text(), 'late');
  assert.ok(await item.ack());

  const ac = new AbortController();
  const waiting = consumer.dequeue({ signal: ac.signal });
  const reason = new Error('enough');
  setTimeout(() => ac.abort(reason), 100);
  const err = await waiting.catch((e: unknown) => e);
  assert.is(err, reason);
});

test('blocked consumers wake when a claim expires or is released', async () => {
  const p = ns('wake-on-release');
  const producer = queue(client(), p);
  await producer.enqueue('only');
  const a = queue(client(), p, { ttl: 5 });
  const b = queue(client(), p, { ttl: 5 });
  const held = await a.dequeue();
  const waiting = b.dequeue({ signal: AbortSignal.timeout(15_000) });
  await new Promise((r) => setTimeout(r, 200));
  await held.release();
  const item = await waiting;
  assert.is(item.text(), 'only');
  assert.ok(await item.ack());
});

test('at-least-once: an item claimed by a consumer killed with SIGKILL is delivered again after its lease expires', async () => {
  const p = ns('sigkill');
  const c = client();
  const producer = queue(c, p);
  await producer.enqueue('job-1');
  await producer.enqueue('job-2');
  const worker = spawnWorker('queue-consumer', [JSON.stringify({ endpoints: suite.target.endpoints, prefix: p, ttl: 2 })]);
  procs.push(worker);
  const line = await worker.waitLine(/^claimed /, 30_000);
  const [, claimedKey, leaseHex] = line.split(' ');
  assert.ok(claimedKey?.startsWith(`${p}/`));
  const lease = BigInt(`0x${leaseHex}`);
  // The worker's claim hides job-1: another consumer gets job-2 first.
  const other = queue(client(), p, { ttl: 5 });
  const second = await other.dequeue({ signal: AbortSignal.timeout(10_000) });
  assert.is(second.text(), 'job-2');
  assert.ok(await second.ack());
  assert.is(await other.tryDequeue(), undefined, 'job-1 is claimed while the worker lives');

  await worker.kill();
  const killedAt = Date.now();
  const redelivered = await other.dequeue({ signal: AbortSignal.timeout(30_000) });
  assert.is(redelivered.key, claimedKey);
  assert.is(redelivered.text(), 'job-1');
  assert.is.not(redelivered.leaseId, lease);
  assert.ok(Date.now() - killedAt >= 500, 'redelivered only once the lease expired');
  assert.ok(await redelivered.ack());
  assert.is(await producer.size(), 0);
  const ttl = await c.lease.timeToLive(lease);
  assert.is(ttl.ttl, -1, "the dead worker's lease expired");
});

test("ack fails once the claim's lease is gone (revoked from outside); the item is delivered again", async () => {
  const p = ns('lost-lease');
  const c = client();
  const producer = queue(c, p);
  await producer.enqueue('fragile');
  const consumerClient = client();
  const session = await Session.create(consumerClient, { ttl: 5 });
  const a = queue(consumerClient, p, { session });
  const item = await a.dequeue();
  await c.lease.revoke(session.leaseId);
  await waitFor(async () => (await c.get(item.claimKey).count()) === 0, { timeoutMs: 5000, what: 'claim gone' });
  assert.is(await item.ack(), false);
  const b = queue(client(), p, { ttl: 5 });
  const again = await b.dequeue({ signal: AbortSignal.timeout(10_000) });
  assert.is(again.key, item.key);
  assert.ok(await again.ack());
  // A consumer whose given session is lost cannot claim.
  await producer.enqueue('next');
  await waitFor(() => session.state === 'lost' || undefined, { timeoutMs: 10_000, what: 'session lost' });
  const err = await a.dequeue({ signal: AbortSignal.timeout(5000) }).catch((e: unknown) => e);
  assert.is((err as { code?: string }).code, 'LEASE_LOST');
  await session.close();
});

test("close() ends the queue's own session: unacknowledged claims go and the items come back", async () => {
  const p = ns('close');
  const producer = queue(client(), p);
  await producer.enqueue('x');
  const a = new Queue(client(), p, { ttl: 30 });
  const item = await a.dequeue();
  await a.close();
  const b = queue(client(), p, { ttl: 5 });
  const again = await b.dequeue({ signal: AbortSignal.timeout(5000) });
  assert.is(again.key, item.key);
  assert.ok(await again.ack());
});

test('many concurrent consumers: every item is delivered exactly once when nobody dies', async () => {
  const p = ns('concurrent');
  const producer = queue(client(), p);
  const N = 40;
  for (let i = 0; i < N; i++) await producer.enqueue(String(i));
  const seen: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const q = queue(client(), p, { ttl: 5 });
      for (;;) {
        const item = await q.tryDequeue();
        if (!item) return;
        seen.push(item.text());
        assert.ok(await item.ack());
      }
    }),
  );
  assert.is(seen.length, N);
  assert.is(new Set(seen).size, N);
});

test.run();
