/**
 * Interoperation with etcdctl (Go's concurrency package): `etcdctl lock`
 * and our Mutex exclude each other and use the same key layout;
 * `etcdctl elect` and our Election take turns; `etcdctl elect -l` observes
 * our leader, and our observer sees etcdctl's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@etcd-ts/client';
import { Election, type LeaderInfo } from '@etcd-ts/recipes';
import { Mutex } from '@etcd-ts/recipes';
import type { Session } from '@etcd-ts/recipes';
import { runEtcdctl } from '../harness/etcdctl.js';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';
import { spawnEtcdctl, type Proc } from './workers/procs.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
let endpoint: string;
const procs: Proc[] = [];
let seq = 0;
const unique = (what: string): string => `interop-${process.pid}-${what}-${++seq}`;

const session = (ttl?: number): Promise<Session> => suite.session(client, ttl);

function etcdctl(args: string[]): Proc {
  const p = spawnEtcdctl(endpoint, args);
  procs.push(p);
  return p;
}

const keyCount = async (prefix: string): Promise<number> => client.get(prefix).prefix().count();

test.before(async () => {
  await suite.start();
  endpoint = suite.target.endpoints[0]!;
  client = suite.client();
});

test.after.each(async () => {
  // SIGTERM: etcdctl unlocks / resigns on it (its session's TTL is 60 s).
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await suite.closeSessions();
});

test.after(suite.stop);

test('etcdctl lock holds: our lock waits, with the same key layout; it passes to us on release', async () => {
  const name = unique('ctl-holds');
  const ctl = etcdctl(['lock', name]);
  const ctlKey = await ctl.waitLine(new RegExp(`^${name}/`), 15_000);
  const m = new Mutex(await session(), name);
  const err = await m.lock({ timeoutMs: 500 }).catch((e: unknown) => e);
  assert.is(errName(err), 'LockTimeoutError');
  const pending = m.lock({ timeoutMs: 20_000 });
  await waitFor(async () => (await keyCount(`${name}/`)) === 2, { timeoutMs: 5000, what: 'our waiter key' });
  const got = await runEtcdctl(endpoint, ['get', '--prefix', '--keys-only', `${name}/`]);
  assert.is(got.code, 0, got.stderr);
  const keys = got.stdout.split('\n').filter((l) => l !== '');
  assert.equal(keys, [ctlKey, m.key], 'etcdctl lists both contenders, oldest first');
  for (const k of keys) assert.match(k, new RegExp(`^${name}/[0-9a-f]+$`));
  assert.is(m.key, `${name}/${m.session.leaseId.toString(16)}`);
  await ctl.stop();
  const token = await pending;
  const kv = await client.get(m.key).first();
  assert.is(kv?.createRevision, token);
  await m.unlock();
});

test('we hold: etcdctl lock waits until we unlock', async () => {
  const name = unique('we-hold');
  const m = new Mutex(await session(), name);
  const token = await m.lock();
  const ctl = etcdctl(['lock', name]);
  await waitFor(async () => (await keyCount(`${name}/`)) === 2, { timeoutMs: 15_000, what: "etcdctl's waiter key" });
  const [, ctlKv] = await client.get(`${name}/`).prefix().sort('create', 'ascend').all();
  assert.ok(ctlKv && ctlKv.createRevision > token);
  assert.equal(ctl.lines, [], 'etcdctl has not acquired the lock');
  await m.unlock();
  const line = await ctl.waitLine(new RegExp(`^${name}/`), 10_000);
  assert.is(line, ctlKv!.key.toString());
  // And now we wait for etcdctl.
  const err = await m.lock({ timeoutMs: 300 }).catch((e: unknown) => e);
  assert.is(errName(err), 'LockTimeoutError');
  await ctl.stop();
  await m.lock({ timeoutMs: 10_000 });
  await m.unlock();
});

test('etcdctl elect leads: our campaign waits and wins when etcdctl resigns', async () => {
  const name = unique('ctl-leads');
  const ctl = etcdctl(['elect', name, 'from-etcdctl']);
  await ctl.waitLine(/^from-etcdctl$/, 15_000);
  const leader = await Election.leader(client, name);
  assert.is(leader?.value, 'from-etcdctl');
  assert.match(leader!.key, new RegExp(`^${name}/[0-9a-f]+$`));
  const e = new Election(await session(), name);
  let won = false;
  const campaign = e.campaign('from-node').then(() => void (won = true));
  await waitFor(async () => (await keyCount(`${name}/`)) === 2, { timeoutMs: 5000, what: 'our candidacy' });
  assert.not.ok(won);
  assert.is((await e.leader())?.value, 'from-etcdctl');
  await ctl.stop();
  await campaign;
  assert.ok(e.isLeader);
  assert.is((await e.leader())?.value, 'from-node');
  assert.is((await e.leader())?.key, e.key);
  await e.resign();
});

test('we lead: etcdctl elect waits and wins when we resign', async () => {
  const name = unique('we-lead');
  const e = new Election(await session(), name);
  await e.campaign('from-node');
  const ctl = etcdctl(['elect', name, 'from-etcdctl']);
  await waitFor(async () => (await keyCount(`${name}/`)) === 2, { timeoutMs: 15_000, what: "etcdctl's candidacy" });
  assert.equal(ctl.lines, []);
  await e.proclaim('still-node');
  assert.is((await Election.leader(client, name))?.value, 'still-node');
  await e.resign();
  await ctl.waitLine(/^from-etcdctl$/, 10_000);
  const leader = await Election.leader(client, name);
  assert.is(leader?.value, 'from-etcdctl');
  assert.ok(leader!.key.startsWith(`${name}/`));
});

test('etcdctl elect -l observes our leaders; our observer sees etcdctl as leader', async () => {
  const name = unique('observe');
  const observer = etcdctl(['elect', '-l', name]);
  // etcdctl's observer needs its watch in place before the first leader appears; any order works
  // since it reads the leader first, so campaign right away.
  const e = new Election(await session(), name);
  await e.campaign('v1');
  await observer.waitLine(/^v1$/, 15_000);
  assert.ok(observer.lines.includes(e.key), `observer printed ${JSON.stringify(observer.lines)}`);
  let from = observer.lines.length;
  await e.proclaim('v2');
  await observer.waitLine(/^v2$/, 10_000, from);

  const ours = Election.observe(client, name);
  const seen: LeaderInfo[] = [];
  const loop = (async () => {
    for await (const l of ours) seen.push(l);
  })();
  await waitFor(() => seen.some((l) => l.value === 'v2'), { timeoutMs: 5000, what: 'our observer sees v2' });
  const ctl = etcdctl(['elect', name, 'from-etcdctl']);
  await waitFor(async () => (await keyCount(`${name}/`)) === 2, { timeoutMs: 15_000, what: "etcdctl's candidacy" });
  from = observer.lines.length;
  await e.resign();
  await ctl.waitLine(/^from-etcdctl$/, 10_000);
  await observer.waitLine(/^from-etcdctl$/, 10_000, from);
  await waitFor(() => seen.some((l) => l.value === 'from-etcdctl'), { timeoutMs: 5000, what: 'our observer sees etcdctl lead' });
  assert.equal(
    seen.map((l) => l.value),
    ['v2', 'from-etcdctl'],
  );
  ours.close();
  await loop;
});

test.run();
