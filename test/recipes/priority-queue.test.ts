/**
 * PriorityQueue: priority order (smallest number first), FIFO within a
 * priority, claims and ack as Queue, blocking dequeue, redelivery after a
 * consumer is killed. Runs against the target server (etcd-ts by default,
 * ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PriorityQueue, priorityKey } from '@etcd-ts/recipes';
import { SuiteTarget } from './fixtures.js';
import { spawnWorker, type Proc } from './workers/procs.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const queues: PriorityQueue[] = [];
const procs: Proc[] = [];
let run = 0;

function queue(prefix: string, ttl = 5): PriorityQueue {
  const q = new PriorityQueue(suite.client(), prefix, { ttl });
  queues.push(q);
  return q;
}

const ns = (name: string): string => `pq-test/${++run}-${name}`;

async function drain(q: PriorityQueue): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const item = await q.tryDequeue();
    if (!item) return out;
    out.push(item.text());
    assert.ok(await item.ack());
  }
  throw new Error('queue did not drain');
}

test.before(suite.start);

test.after(async () => {
  await Promise.allSettled(procs.map((p) => p.kill()));
  await Promise.allSettled(queues.map((q) => q.close()));
  await suite.stop();
});

test('keys use the zero-padded %05d priority segment', async () => {
  assert.is(priorityKey(0), '00000');
  assert.is(priorityKey(42), '00042');
  assert.is(priorityKey(99_999), '99999');
  assert.throws(() => priorityKey(-1), RangeError);
  assert.throws(() => priorityKey(100_000), RangeError);
  assert.throws(() => priorityKey(1.5), RangeError);
  const p = ns('layout');
  const q = queue(p);
  const { key } = await q.enqueue('v', 7);
  assert.ok(key.startsWith(`${p}/00007/`), key);
  assert.equal(await drain(q), ['v']);
});

test('smallest priority number first, FIFO within a priority', async () => {
  const p = ns('order');
  const producer = queue(p);
  const other = queue(p);
  const input: [string, number][] = [
    ['a', 5],
    ['b', 1],
    ['c', 5],
    ['d', 0],
    ['e', 1],
    ['f', 10],
    ['g', 0],
    ['h', 99_999],
    ['i', 5],
  ];
  let i = 0;
  for (const [v, pr] of input) await (i++ % 2 ? other : producer).enqueue(v, pr);
  assert.equal(await drain(queue(p)), ['d', 'g', 'b', 'e', 'a', 'c', 'i', 'f', 'h']);
});

test('claimed items are skipped; a release puts the item back at its place', async () => {
  const p = ns('claims');
  const producer = queue(p);
  await producer.enqueue('low', 9);
  await producer.enqueue('high-1', 1);
  await producer.enqueue('high-2', 1);
  const a = queue(p);
  const b = queue(p);
  const first = await a.dequeue();
  assert.is(first.text(), 'high-1');
  const second = await b.dequeue();
  assert.is(second.text(), 'high-2');
  assert.ok(await first.release());
  assert.equal(await drain(b), ['high-1', 'low']);
  assert.ok(await second.ack());
  assert.is(await producer.size(), 0);
});

test('a blocked dequeue takes an item enqueued later', async () => {
  const p = ns('blocking');
  const consumer = queue(p);
  const pending = consumer.dequeue({ signal: AbortSignal.timeout(15_000) });
  await new Promise((r) => setTimeout(r, 200));
  await queue(p).enqueue('late', 3);
  const item = await pending;
  assert.is(item.text(), 'late');
  assert.ok(await item.ack());
});

test('an item claimed by a killed consumer is delivered again after its lease expires', async () => {
  const p = ns('sigkill');
  const producer = queue(p);
  await producer.enqueue('urgent', 0);
  const worker = spawnWorker('queue-consumer', [JSON.stringify({ endpoints: suite.target.endpoints, prefix: p, ttl: 2, priority: true })]);
  procs.push(worker);
  const line = await worker.waitLine(/^claimed /, 30_000);
  const claimedKey = line.split(' ')[1];
  await producer.enqueue('later', 5);
  const other = queue(p);
  const first = await other.dequeue({ signal: AbortSignal.timeout(10_000) });
  assert.is(first.text(), 'later', 'the urgent item is claimed by the worker');
  assert.ok(await first.ack());
  await worker.kill();
  const again = await other.dequeue({ signal: AbortSignal.timeout(30_000) });
  assert.is(again.key, claimedKey);
  assert.is(again.text(), 'urgent');
  assert.ok(await again.ack());
});

test.run();
