/**
 * cron-leader: three worker processes run the same LeaderJob, "every 200 ms,
 * do the cron tick"; only the elected leader ticks.
 *
 *   1. the first leader ticks for a while;
 *   2. its session is closed (lease revoked): another worker takes over at once;
 *   3. the new leader is killed with SIGKILL: its lease expires after the
 *      TTL, and the remaining worker takes over.
 *
 * Each tick is written to etcd as `<prefix>/ticks/<period>` in a txn that
 * holds only while the writer is still the leader (its election key still
 * has the create revision it won with: the fencing check) and only if that
 * period was not ticked yet. At the end the ticks are read back and checked:
 * one tick per period, and terms never interleave (no two leaders at once).
 *
 *   node examples/dist/cron-leader/main.js
 */
import { Client, compare, op } from '@etcd-ts/client';
import { Election, LeaderJob, Session } from '@etcd-ts/recipes';
import { Children, parentChannel, type Child } from '../shared/children.js';
import { useEtcd } from '../shared/endpoints.js';
import { log, now, onCleanup, runExample, runPrefix, sleep, until, type Summary } from '../shared/run.js';

const WORKERS = 3;
const PERIOD_MS = 200;
const TTL_SECONDS = 2;
const TICKS_PER_TERM = 5;

type ToWorker = { type: 'close-session' };
type ToParent = { type: 'elected'; term: number } | { type: 'tick'; period: number; term: number };

/** What the parent learns from a worker over IPC (etcd has the authoritative record). */
interface WorkerView {
  readonly child: Child<ToWorker, ToParent>;
  ticks: number;
  term: number;
}

async function parent(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = runPrefix('cron-leader');
  const client = new Client({ endpoints: etcd.endpoints });
  onCleanup(() => client.close());
  onCleanup(() => client.delete(`${prefix}/`, { prefix: true }).then(() => undefined));
  const children = new Children<ToWorker, ToParent>();
  onCleanup(() => children.stopAll());

  // Who leads, as any observer of the election sees it.
  const observer = Election.observe(client, `${prefix}/election`);
  onCleanup(() => observer.close());
  void (async () => {
    for await (const leader of observer) log('observer', `leader is ${leader.value} (term ${leader.revision})`);
  })();

  const workers: WorkerView[] = [];
  /** Every period some worker reported as ticked, with who ticked it. */
  const reported = new Map<number, Set<string>>();
  for (let i = 1; i <= WORKERS; i++) {
    const child = children.fork(`worker-${i}`, 'worker', [`worker-${i}`], { ETCD_ENDPOINTS: etcd.endpoints.join(',') });
    const view: WorkerView = { child, ticks: 0, term: 0 };
    child.on((m) => {
      if (m.type === 'elected') view.term = m.term;
      if (m.type === 'tick') {
        view.ticks++;
        reported.set(m.period, (reported.get(m.period) ?? new Set()).add(child.name));
      }
    });
    workers.push(view);
  }

  /** The worker (other than those excluded) that has ticked at least n times in its current term. */
  const leaderAfter = async (what: string, exclude: readonly WorkerView[]): Promise<WorkerView> => {
    for (const w of workers) w.ticks = 0;
    let found: WorkerView | undefined;
    await until(what, () => (found = workers.find((w) => !exclude.includes(w) && w.ticks >= TICKS_PER_TERM)) !== undefined, 15_000);
    return found as WorkerView;
  };

  const first = await leaderAfter('a first leader to tick', []);
  log('main', `${first.child.name} leads and ticks; closing its session (its lease is revoked)`);
  first.child.send({ type: 'close-session' });
  const t1 = now();
  const second = await leaderAfter('a second leader to tick', [first]);
  log('main', `${second.child.name} took over (${now() - t1} ms incl. ${TICKS_PER_TERM} ticks); killing it with SIGKILL`);
  await children.kill(second.child);
  const t2 = now();
  const third = await leaderAfter('a third leader to tick', [second]);
  log('main', `${third.child.name} took over after the killed leader's ${TTL_SECONDS} s lease expired (${now() - t2} ms incl. ${TICKS_PER_TERM} ticks)`);
  await children.stopAll();

  // The record in etcd: one key per ticked period.
  const res = await client.get(`${prefix}/ticks/`, { prefix: true });
  const ticks = res.kvs.map((kv) => {
    const v = JSON.parse(kv.value.toString('utf8')) as { worker: string; term: number };
    return { period: Number(kv.key.toString('utf8').split('/').pop()), ...v };
  });
  ticks.sort((a, b) => a.period - b.period);
  let interleaved = 0;
  const terms: { term: number; worker: string; ticks: number }[] = [];
  for (const t of ticks) {
    const last = terms[terms.length - 1];
    if (last && t.term === last.term) last.ticks++;
    else {
      if (last && t.term < last.term) interleaved++;
      terms.push({ term: t.term, worker: t.worker, ticks: 1 });
    }
  }
  const termWorkers = new Map<number, Set<string>>();
  for (const t of ticks) termWorkers.set(t.term, (termWorkers.get(t.term) ?? new Set()).add(t.worker));
  const sharedTerms = [...termWorkers.values()].filter((s) => s.size > 1).length;
  for (const t of terms) log('main', `term ${t.term}: ${t.worker} ticked ${t.ticks} periods`);
  const span = ticks.length > 0 ? (ticks[ticks.length - 1] as { period: number }).period - (ticks[0] as { period: number }).period + 1 : 0;
  log('main', `${ticks.length} ticks over ${span} periods of ${PERIOD_MS} ms (missed periods are the failovers)`);

  const duplicatePeriods = [...reported.values()].filter((s) => s.size > 1).length;
  const leaders = [first, second, third].map((w) => w.child.name);
  const ok = terms.length >= 3 && interleaved === 0 && sharedTerms === 0 && duplicatePeriods === 0 && new Set(leaders).size === 3;
  return {
    ok,
    fields: { leaders: leaders.join(','), terms: terms.length, ticks: ticks.length, interleaved_terms: interleaved, duplicate_periods: duplicatePeriods },
  };
}

async function worker(name: string): Promise<void> {
  const channel = parentChannel<ToWorker, ToParent>();
  const prefix = runPrefix('cron-leader');
  const client = new Client({ endpoints: process.env['ETCD_ENDPOINTS'] ?? '' });
  // The job campaigns with this session first (so that the parent can have it
  // closed); once it is lost the job makes sessions of its own.
  const session = await Session.create(client, { ttl: TTL_SECONDS });

  const tick = async (period: number, election: Election, term: number): Promise<'ticked' | 'done-already' | 'fenced'> => {
    const key = `${prefix}/ticks/${String(period).padStart(14, '0')}`;
    const res = await client
      .txn()
      .if(election.leaderCompare(), compare.createRevision(key, '=', 0))
      .then(op.put(key, JSON.stringify({ worker: name, term })))
      .else(op.get(key))
      .commit();
    if (res.succeeded) return 'ticked';
    return res.responses[0]?.responseRange?.kvs.length ? 'done-already' : 'fenced';
  };

  const job = new LeaderJob(client, {
    name: `${prefix}/election`,
    value: name,
    session,
    ttl: TTL_SECONDS,
    run: async (signal, { election, term }) => {
      log(name, `elected (term ${term}); ticking every ${PERIOD_MS} ms`);
      channel.send({ type: 'elected', term });
      let ticked = 0;
      while (!signal.aborted) {
        const period = Math.floor(Date.now() / PERIOD_MS);
        const outcome = await tick(period, election, term);
        if (outcome === 'ticked') {
          ticked++;
          channel.send({ type: 'tick', period, term });
        } else if (outcome === 'fenced') {
          log(name, `tick for period ${period} refused: no longer the leader`);
          break;
        }
        await sleep((period + 1) * PERIOD_MS - Date.now(), signal);
      }
      log(name, `stopped ticking after ${ticked} ticks (term ${term})`);
    },
  });
  job.start();

  channel.on((m) => {
    if (m.type === 'close-session') {
      log(name, 'closing my session');
      void session.close();
    } else if (m.type === 'stop') {
      void job
        .stop()
        .then(() => session.close())
        .then(() => client.close())
        .finally(() => process.exit(0));
    }
  });
}

if (process.argv[2] === 'worker') {
  worker(process.argv[3] ?? 'worker-?').catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  runExample(parent);
}
