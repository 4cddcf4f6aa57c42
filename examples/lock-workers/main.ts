/**
 * lock-workers: worker processes increment a counter kept in a Redis-like
 * store with a read-modify-write (GET, compute, SET, with an await in between).
 *
 *   phase 1, no lock:     updates overlap and increments are lost;
 *   phase 2, fenced lock: each increment runs under the Mutex from
 *                         @etcd-ts/recipes, and every SET carries the lock's
 *                         fencing token, which the store checks: none lost.
 *
 * The store is an ioredis-mock instance in this (parent) process; the workers
 * are forked processes that reach it through the bridge in store-bridge.ts.
 *
 *   node examples/dist/lock-workers/main.js
 */
import { Client } from '@etcd-ts/client';
import { Mutex, Session } from '@etcd-ts/recipes';
import { Children, parentChannel } from '../shared/children.js';
import { useEtcd } from '../shared/endpoints.js';
import { log, onCleanup, runExample, runPrefix, sleep, until, type Summary } from '../shared/run.js';
import { RemoteStore, StoreServer, type StoreReply, type StoreRequest } from './store-bridge.js';

const WORKERS = 4;
const INCREMENTS = 25;
/** Time spent "computing" between the GET and the SET: the window in which updates collide. */
const COMPUTE_MS = 5;
const COUNTER = 'counter';

type Phase = 'unlocked' | 'locked';

/** Parent → worker. */
type ToWorker = StoreReply | { type: 'run'; phase: Phase } | { type: 'stale-write' };
/** Worker → parent. */
type ToParent =
  | StoreRequest
  | { type: 'ready' }
  | { type: 'done'; phase: Phase; firstToken: number; lastToken: number; rejected: number }
  | { type: 'stale-result'; token: number; accepted: boolean; lastToken: number };

async function parent(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = runPrefix('lock-workers');
  const store = new StoreServer();
  const children = new Children<ToWorker, ToParent>();
  onCleanup(() => children.stopAll());

  const doneBy = new Map<string, Extract<ToParent, { type: 'done' }>>();
  let stale: Extract<ToParent, { type: 'stale-result' }> | undefined;
  const ready = new Set<string>();
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const w = children.fork(`worker-${i + 1}`, 'worker', [String(i + 1)], {
      ETCD_ENDPOINTS: etcd.endpoints.join(','),
      LOCK_NAME: `${prefix}/counter-lock`,
    });
    w.on((m) => {
      if (m.type === 'store') void store.handle(m).then((reply) => w.send(reply));
      else if (m.type === 'ready') ready.add(w.name);
      else if (m.type === 'done') doneBy.set(w.name, m);
      else if (m.type === 'stale-result') stale = m;
    });
    return w;
  });
  await until('the workers to connect', () => ready.size === WORKERS, 20_000);
  log('main', `${WORKERS} workers ready; each will do ${INCREMENTS} increments (GET, ${COMPUTE_MS} ms of work, SET)`);

  const runPhase = async (phase: Phase): Promise<number> => {
    await store.redis.set(COUNTER, '0');
    await store.redis.del(`${COUNTER}:fence`);
    doneBy.clear();
    const started = Date.now();
    for (const w of workers) w.send({ type: 'run', phase });
    await until(`the workers to finish phase ${phase}`, () => doneBy.size === WORKERS, 20_000);
    const counter = Number(await store.redis.get(COUNTER));
    log('main', `phase ${phase}: counter=${counter} expected=${WORKERS * INCREMENTS} lost=${WORKERS * INCREMENTS - counter} (${Date.now() - started} ms)`);
    return counter;
  };

  log('main', 'phase 1: no lock');
  const unlocked = await runPhase('unlocked');

  log('main', 'phase 2: every increment under the fenced Mutex; the store checks the fencing token');
  const locked = await runPhase('locked');
  const rejected = [...doneBy.values()].reduce((n, d) => n + d.rejected, 0);
  for (const [name, d] of doneBy) log('main', `${name} held the lock with tokens ${d.firstToken}..${d.lastToken}`);

  // A holder that wakes up late with an old token (say, after a long GC pause
  // during which its lease expired) must not overwrite newer data.
  workers[0]?.send({ type: 'stale-write' });
  await until('the stale write', () => stale !== undefined, 20_000);
  const staleRejected = stale !== undefined && !stale.accepted;
  log(
    'main',
    `a write with the old token ${stale?.token} was ${staleRejected ? 'rejected' : 'ACCEPTED'} by the store (its last token is ${stale?.lastToken})`,
  );

  const expected = WORKERS * INCREMENTS;
  const lost = expected - unlocked;
  return {
    ok: locked === expected && rejected === 0 && lost > 0 && staleRejected,
    fields: { counter: locked, expected, unlocked_counter: unlocked, unlocked_lost: lost, stale_write_rejected: staleRejected },
  };
}

async function worker(id: string): Promise<void> {
  const name = `worker-${id}`;
  const channel = parentChannel<ToWorker, ToParent>();
  const store = new RemoteStore((req) => channel.send(req));
  const client = new Client({ endpoints: process.env['ETCD_ENDPOINTS'] ?? '' });
  // One session (lease) per worker: its lock key goes away if the worker dies.
  const session = await Session.create(client, { ttl: 5 });
  const mutex = new Mutex(session, process.env['LOCK_NAME'] ?? 'lock-workers/lock');
  let oldToken = 0;

  const increment = async (): Promise<void> => {
    const value = Number(await store.get(COUNTER));
    await sleep(COMPUTE_MS); // the "compute" step: other writers may act meanwhile
    await store.set(COUNTER, String(value + 1));
  };

  const fencedIncrement = async (): Promise<{ token: number; accepted: boolean }> => {
    const token = await mutex.lock({ timeoutMs: 15_000 });
    try {
      const value = Number(await store.get(COUNTER));
      await sleep(COMPUTE_MS);
      const r = await store.fencedSet(COUNTER, String(value + 1), token);
      return { token, accepted: r.accepted };
    } finally {
      await mutex.unlock();
    }
  };

  channel.on((m) => {
    store.receive(m);
    if (m.type === 'run') {
      void (async () => {
        let firstToken = 0;
        let lastToken = 0;
        let rejected = 0;
        for (let i = 0; i < INCREMENTS; i++) {
          if (m.phase === 'unlocked') {
            await increment();
          } else {
            const r = await fencedIncrement();
            firstToken ||= r.token;
            lastToken = r.token;
            if (!r.accepted) rejected++;
          }
        }
        oldToken = firstToken;
        channel.send({ type: 'done', phase: m.phase, firstToken, lastToken, rejected });
      })().catch((err: unknown) => {
        console.error(`[${name}]`, err);
        process.exit(1);
      });
    } else if (m.type === 'stale-write') {
      void store.fencedSet(COUNTER, '-1', oldToken).then((r) => channel.send({ type: 'stale-result', token: oldToken, ...r }));
    } else if (m.type === 'stop') {
      void session
        .close()
        .then(() => client.close())
        .finally(() => process.exit(0));
    }
  });
  channel.send({ type: 'ready' });
}

if (process.argv[2] === 'worker') {
  worker(process.argv[3] ?? '?').catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  runExample(parent);
}
