/**
 * queue-workers: a producer enqueues jobs into a Queue; three consumer
 * processes dequeue, process and acknowledge them. One consumer is killed
 * with SIGKILL in the middle of a job: its claim was attached to its
 * session's lease, so once the lease expires the job is delivered again, to
 * another consumer (at-least-once delivery). At the end every job was
 * processed at least once and acknowledged exactly once, and the queue is
 * empty.
 *
 *   node examples/dist/queue-workers/main.js
 */
import { Client } from '@etcd-ts/client';
import { Queue } from '@etcd-ts/recipes';
import { Children, parentChannel } from '../shared/children.js';
import { useEtcd } from '../shared/endpoints.js';
import { log, now, onCleanup, runExample, runPrefix, sleep, until, type Summary } from '../shared/run.js';

const JOBS = 30;
const CONSUMERS = 3;
/** The consumer that crashes, and on which of its jobs. */
const VICTIM = 'consumer-2';
const VICTIM_JOB_NUMBER = 2;
/** TTL of each consumer's session: how long a dead consumer's claims outlive it. */
const TTL_SECONDS = 2;

interface Job {
  readonly id: number;
}
type ToParent = { type: 'ready' } | { type: 'start'; id: number } | { type: 'done'; id: number; acked: boolean };

async function parent(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = runPrefix('queue-workers');
  const queueName = `${prefix}/jobs`;
  const client = new Client({ endpoints: etcd.endpoints });
  onCleanup(() => client.close());
  onCleanup(() => client.delete(`${prefix}/`, { prefix: true }).then(() => undefined));
  const children = new Children<never, ToParent>();
  onCleanup(() => children.stopAll());

  const starts = new Map<number, string[]>(); // job → consumers that started it, in order
  const acks = new Map<number, string[]>(); // job → consumers whose ack succeeded
  const failedAcks: string[] = [];
  const ready = new Set<string>();
  let crashed: { id: number; at: number } | undefined;
  let redelivered: { to: string; after: number } | undefined;

  for (let i = 1; i <= CONSUMERS; i++) {
    const c = children.fork(`consumer-${i}`, 'consumer', [`consumer-${i}`], { ETCD_ENDPOINTS: etcd.endpoints.join(','), QUEUE: queueName });
    let started = 0;
    c.on((m) => {
      if (m.type === 'ready') ready.add(c.name);
      if (m.type === 'start') {
        const by = starts.get(m.id) ?? [];
        starts.set(m.id, [...by, c.name]);
        if (crashed?.id === m.id && !redelivered) {
          redelivered = { to: c.name, after: now() - crashed.at };
          log('main', `job ${m.id} redelivered to ${c.name}, ${redelivered.after} ms after the crash`);
        }
        if (c.name === VICTIM && ++started === VICTIM_JOB_NUMBER) {
          crashed = { id: m.id, at: now() };
          log('main', `${c.name} is in the middle of job ${m.id}: killing it with SIGKILL (pid ${c.pid})`);
          void children.kill(c);
        }
      }
      if (m.type === 'done') {
        if (m.acked) acks.set(m.id, [...(acks.get(m.id) ?? []), c.name]);
        else failedAcks.push(`${m.id}@${c.name}`);
        if (m.acked && acks.size % 10 === 0) log('main', `${acks.size}/${JOBS} jobs acknowledged`);
      }
    });
  }
  await until('the consumers to start', () => ready.size === CONSUMERS, 20_000);

  const producer = new Queue(client, queueName);
  for (let id = 1; id <= JOBS; id++) await producer.enqueue(JSON.stringify({ id } satisfies Job));
  log('producer', `enqueued jobs 1..${JOBS}`);

  await until('every job to be acknowledged', () => acks.size === JOBS, 20_000);
  const size = await producer.size();
  const inFlight = await producer.inFlight();
  await children.stopAll();

  const perConsumer = new Map<string, number>();
  for (const by of acks.values()) for (const c of by) perConsumer.set(c, (perConsumer.get(c) ?? 0) + 1);
  log('main', `acknowledged per consumer: ${[...perConsumer].map(([c, n]) => `${c}=${n}`).join(' ')}`);
  log('main', `queue size now ${size}, claims in flight ${inFlight}`);

  const processedAll = Array.from({ length: JOBS }, (_, i) => i + 1).every((id) => (starts.get(id)?.length ?? 0) >= 1);
  const ackedOnce = Array.from({ length: JOBS }, (_, i) => i + 1).every((id) => acks.get(id)?.length === 1);
  const processedTwice = [...starts.values()].filter((by) => by.length > 1).length;
  const ok = processedAll && ackedOnce && crashed !== undefined && redelivered !== undefined && size === 0 && inFlight === 0;
  return {
    ok,
    fields: {
      jobs: JOBS,
      acked: acks.size,
      acked_exactly_once: ackedOnce,
      redelivered: processedTwice,
      crashed_job: crashed?.id ?? 0,
      queue_size: size,
    },
  };
}

async function consumer(name: string): Promise<void> {
  const channel = parentChannel<never, ToParent>();
  const client = new Client({ endpoints: process.env['ETCD_ENDPOINTS'] ?? '' });
  // Claims go on the queue's own session (lease of TTL_SECONDS), made on the first dequeue.
  const queue = new Queue(client, process.env['QUEUE'] ?? 'queue-workers/jobs', { ttl: TTL_SECONDS });
  const stop = new AbortController();
  channel.on((m) => {
    if (m.type === 'stop') stop.abort();
  });
  channel.send({ type: 'ready' });
  try {
    while (!stop.signal.aborted) {
      const item = await queue.dequeue({ signal: stop.signal });
      const job = item.json<Job>();
      channel.send({ type: 'start', id: job.id });
      await sleep(100 + Math.floor(Math.random() * 100)); // the work
      channel.send({ type: 'done', id: job.id, acked: await item.ack() });
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
  log(name, 'stopping');
  await queue.close();
  await client.close();
  process.exit(0);
}

if (process.argv[2] === 'consumer') {
  consumer(process.argv[3] ?? 'consumer-?').catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  runExample(parent);
}
