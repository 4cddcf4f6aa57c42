/**
 * Election: campaign order, proclaim / resign, leadership loss, and
 * observe() across leader changes, broken connections and a server restart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '@etcd-ts/client';
import { Election, type LeaderInfo, type LeaderObserver } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';
import { startTcpProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
let client: Client;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let seq = 0;
const unique = (what: string): string => `election-test/${process.pid}/${what}-${++seq}`;

async function session(c: Client = client, ttl = 10): Promise<Session> {
  const s = await Session.create(c, { ttl });
  cleanups.push(() => s.close());
  return s;
}

/** Collects what an observer yields, in the background. */
function collect(obs: LeaderObserver): { seen: LeaderInfo[]; values: () => string[]; done: Promise<void> } {
  const seen: LeaderInfo[] = [];
  const done = (async () => {
    for await (const l of obs) seen.push(l);
  })();
  cleanups.push(async () => {
    obs.close();
    await done;
  });
  return { seen, values: () => seen.map((l) => l.value), done };
}

test.before(async () => {
  await suite.start();
  client = suite.client();
});

test.after.each(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test.after(suite.stop);

test('campaign, leader, proclaim, resign', async () => {
  const name = unique('basic');
  assert.is(await Election.leader(client, name), undefined);
  const s = await session();
  const e = new Election(s, name);
  assert.not.ok(e.isLeader);
  await e.campaign('one');
  assert.ok(e.isLeader);
  const l = await e.leader();
  assert.is(l?.key, `${name}/${s.leaseId.toString(16)}`);
  assert.is(l?.value, 'one');
  assert.is(l?.revision, e.revision);
  assert.is(l?.leaseId, s.leaseId);
  await e.proclaim('two');
  const l2 = await e.leader();
  assert.is(l2?.value, 'two');
  assert.is(l2?.revision, l?.revision, 'same term');
  assert.ok(l2!.modRevision > l!.modRevision);
  await e.resign();
  assert.not.ok(e.isLeader);
  assert.is(await e.leader(), undefined);
  const err = await e.proclaim('three').catch((x: unknown) => x);
  assert.is(errName(err), 'NotLeaderError');
});

test('candidates win in campaign order; each waits for its predecessor', async () => {
  const name = unique('order');
  const es = await Promise.all([0, 1, 2].map(async () => new Election(await session(), name)));
  await es[0]!.campaign('c0');
  const won: number[] = [];
  const campaigns: Promise<void>[] = [];
  for (let i = 1; i < es.length; i++) {
    campaigns.push(es[i]!.campaign(`c${i}`).then(() => void won.push(i)));
    await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === i + 1, { timeoutMs: 5000, what: `candidate ${i}` });
  }
  assert.equal(won, []);
  // The middle candidate quits: the order of the others is kept.
  await es[0]!.resign();
  await waitFor(() => won.length === 1, { timeoutMs: 5000, what: 'c1 elected' });
  assert.equal(won, [1]);
  assert.is((await Election.leader(client, name))?.value, 'c1');
  await es[1]!.resign();
  await waitFor(() => won.length === 2, { timeoutMs: 5000, what: 'c2 elected' });
  assert.is((await Election.leader(client, name))?.value, 'c2');
  await Promise.all(campaigns);
  await es[2]!.resign();
});

test('leadership lost: key deleted by someone else aborts the signal; proclaim then fails', async () => {
  const name = unique('lost');
  const e = new Election(await session(), name);
  await e.campaign('me');
  const signal = e.signal;
  await client.delete(e.key);
  await waitFor(() => signal.aborted, { timeoutMs: 5000, what: 'leader signal aborted' });
  assert.is(errName(signal.reason), 'LockLostError');
  const err = await e.proclaim('again').catch((x: unknown) => x);
  assert.is(errName(err), 'NotLeaderError');
  assert.not.ok(e.isLeader);
});

test('campaign: timeout withdraws the candidacy; session loss rejects with LeaseLostError', async () => {
  const name = unique('withdraw');
  const leader = new Election(await session(), name);
  await leader.campaign('leader');
  const s = await session();
  const e = new Election(s, name);
  const err = await e.campaign('waiting', { timeoutMs: 300 }).catch((x: unknown) => x);
  assert.is(errName(err), 'LockTimeoutError');
  assert.is(await client.get(`${name}/`).prefix().count(), 1);
  const pending = e.campaign('waiting').catch((x: unknown) => x);
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'candidacy' });
  await client.lease.revoke(s.leaseId);
  assert.is(errName(await pending), 'LeaseLostError');
  await leader.resign();
});

test('a resumed session finds its candidacy again and proclaims the new value', async () => {
  const name = unique('resume');
  const a = await Session.create(client, { ttl: 10 });
  const e1 = new Election(a, name);
  await e1.campaign('before-restart');
  const rev = e1.revision;
  a.orphan();
  const b = await Session.create(client, { lease: a.leaseId });
  cleanups.push(() => b.close());
  const e2 = new Election(b, name);
  await e2.campaign('after-restart', { timeoutMs: 5000 });
  assert.is(e2.revision, rev, 'same term');
  const l = await e2.leader();
  assert.is(l?.value, 'after-restart');
  assert.is(l?.revision, rev);
});

test('observe: the current leader, each proclamation and each next leader, in order', async () => {
  const name = unique('observe');
  const obs = collect(Election.observe(client, name));
  const a = new Election(await session(), name);
  const b = new Election(await session(), name);
  await a.campaign('a1');
  await waitFor(() => obs.values().includes('a1'), { timeoutMs: 5000, what: 'a1 observed' });
  const bWins = b.campaign('b1');
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'b candidacy' });
  await a.proclaim('a2');
  await a.resign();
  await bWins;
  await waitFor(() => obs.values().includes('b1'), { timeoutMs: 5000, what: 'b1 observed' });
  await b.proclaim('b2');
  await waitFor(() => obs.values().includes('b2'), { timeoutMs: 5000, what: 'b2 observed' });
  assert.equal(obs.values(), ['a1', 'a2', 'b1', 'b2']);
  assert.is(obs.seen[0]!.key, a.key);
  assert.is(obs.seen[2]!.key, b.key);
  // A second observer starts with the current leader.
  const late = collect(b.observe());
  await waitFor(() => late.seen.length === 1, { timeoutMs: 5000, what: 'late observer' });
  assert.is(late.seen[0]!.value, 'b2');
  await b.resign();
});

test('observe stays correct across broken connections', async () => {
  const name = unique('observe-break');
  const proxy = await startTcpProxy({ target: suite.target.endpoints[0]! });
  const viaProxy = new Client({ endpoints: [proxy.endpoint], callTimeoutMs: 3000, dialTimeoutMs: 1000 });
  cleanups.push(() => proxy.close(), () => viaProxy.close());
  const obs = collect(Election.observe(viaProxy, name));
  const a = new Election(await session(), name);
  await a.campaign('a1');
  await waitFor(() => obs.values().includes('a1'), { timeoutMs: 5000, what: 'a1 observed' });
  // Changes while the observer's connection is down are reported after it comes back.
  proxy.pause();
  proxy.breakAll();
  await a.proclaim('a2');
  const b = new Election(await session(), name);
  const bWins = b.campaign('b1');
  await waitFor(async () => (await client.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 5000, what: 'b candidacy' });
  await a.resign();
  await bWins;
  proxy.resume();
  await waitFor(() => obs.values().includes('b1'), { timeoutMs: 15_000, what: 'b1 observed after reconnect' });
  // Break again, while idle.
  proxy.breakAll();
  await b.proclaim('b2');
  await waitFor(() => obs.values().includes('b2'), { timeoutMs: 15_000, what: 'b2 observed after reconnect' });
  const values = obs.values();
  assert.equal(values.slice(0, 1), ['a1']);
  assert.equal(values.slice(-2), ['b1', 'b2']);
  assert.equal(values.filter((v) => v === 'b1').length, 1, 'no duplicates');
  await b.resign();
});

test('observe stays correct across a server restart', async () => {
  if (suite.target.external || !suite.target.server) return;
  const name = unique('observe-restart');
  const obs = collect(Election.observe(client, name));
  const a = new Election(await session(client, 30), name);
  await a.campaign('before');
  await waitFor(() => obs.values().includes('before'), { timeoutMs: 5000, what: 'before observed' });
  await suite.target.server.restart();
  await a.proclaim('after', { timeoutMs: 15_000 });
  await waitFor(() => obs.values().includes('after'), { timeoutMs: 15_000, what: 'after observed' });
  assert.equal(obs.values(), ['before', 'after']);
  await a.resign();
});

test.run();
