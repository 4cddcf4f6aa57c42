/**
 * LeaderJob: runs only while leader, aborted on leadership loss (session
 * lost, key deleted by someone else), re-campaigns, stops cleanly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@etcd-ts/client';
import { Election } from '@etcd-ts/recipes';
import { LeaderJob, type LeaderJobRun } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';
import { startTcpProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait-for.js';
import { errName, SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 5000 });
const jobs: LeaderJob[] = [];
let seq = 0;
const unique = (what: string): string => `leader-job-test/${process.pid}/${what}-${++seq}`;

const newClient = suite.client;

/** Starts and ends of every run of the suite, in the order they happened. */
const timeline: string[] = [];

/** A run that records its terms and how each ended, and waits for its signal. */
function recorder(label = ''): { run: LeaderJobRun; running: () => boolean; ends: unknown[]; starts: number[] } {
  let active = 0;
  const ends: unknown[] = [];
  const starts: number[] = [];
  const run: LeaderJobRun = async (signal, ctx) => {
    active++;
    starts.push(ctx.term);
    timeline.push(`${label} start`);
    try {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      ends.push(signal.reason);
      timeline.push(`${label} end`);
    } finally {
      active--;
    }
  };
  return { run, running: () => active > 0, ends, starts };
}

function job(c: Client, name: string, run: LeaderJobRun, value: string, extra: { session?: Session } = {}): LeaderJob {
  const j = new LeaderJob(c, { name, run, value, ttl: 3, restartDelayMs: 100, ...extra });
  jobs.push(j);
  return j.start();
}

test.before(suite.start);

test.after.each(async () => {
  await Promise.all(jobs.splice(0).map((j) => j.stop()));
});

test.after(suite.stop);

test('one of two jobs runs; stopping it hands over to the other', async () => {
  const name = unique('handover');
  const a = recorder();
  const b = recorder();
  const ja = job(newClient(), name, a.run, 'a');
  await waitFor(() => a.running(), { timeoutMs: 10_000, what: 'a runs' });
  const jb = job(newClient(), name, b.run, 'b');
  const observerClient = newClient();
  await waitFor(async () => (await observerClient.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 10_000, what: 'b campaigns' });
  assert.not.ok(b.running());
  assert.ok(ja.isLeader);
  assert.not.ok(jb.isLeader);
  assert.is((await Election.leader(observerClient, name))?.value, 'a');
  await ja.stop();
  assert.not.ok(a.running());
  assert.is(errName(a.ends[0]), 'LeaderJobStoppedError');
  await waitFor(() => b.running(), { timeoutMs: 10_000, what: 'b runs' });
  assert.ok(b.starts[0]! > a.starts[0]!, 'terms grow');
  assert.is((await Election.leader(observerClient, name))?.value, 'b');
  await jb.stop();
  assert.is(await observerClient.get(`${name}/`).prefix().count(), 0, 'stop resigns and revokes');
});

test('session loss aborts the run; the other job takes over; the first re-campaigns with a new session', async () => {
  const name = unique('loss');
  const c = newClient();
  // Job a reaches the server through a proxy that will black-hole its traffic.
  const proxy = await startTcpProxy({ target: suite.target.endpoints[0]! });
  const viaProxy = newClient([proxy.endpoint], { callTimeoutMs: 3000, dialTimeoutMs: 1000 });
  try {
    const a = recorder('a');
    const b = recorder('b');
    timeline.length = 0;
    const ja = job(viaProxy, name, a.run, 'a');
    await waitFor(() => a.running(), { timeoutMs: 10_000, what: 'a runs' });
    const jb = job(newClient(), name, b.run, 'b');
    await waitFor(async () => (await c.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 10_000, what: 'b campaigns' });
    const leader = await Election.leader(c, name);
    assert.is(leader?.value, 'a');
    proxy.pause();
    // a's client gives its lease up before the server expires it: a stops before b starts.
    await waitFor(() => a.ends.length === 1, { timeoutMs: 10_000, what: 'a aborted' });
    assert.is(errName(a.ends[0]), 'LeaseLostError');
    await waitFor(() => b.running(), { timeoutMs: 10_000, what: 'b runs once the lease expired' });
    assert.not.ok(a.running());
    assert.equal(timeline, ['a start', 'a end', 'b start'], 'a stopped before b started');
    proxy.resume();
    // a is back in the race, behind b, under a new lease.
    await waitFor(async () => (await c.get(`${name}/`).prefix().count()) === 2, { timeoutMs: 15_000, what: 'a campaigns again' });
    const keys = await c.get(`${name}/`).prefix().sort('create', 'ascend').keys();
    assert.is(keys[0], (await Election.leader(c, name))!.key);
    assert.not.ok(keys.includes(leader!.key));
    await jb.stop();
    await waitFor(() => a.running(), { timeoutMs: 10_000, what: 'a runs again' });
    assert.is(ja.terms, 2);
  } finally {
    await proxy.close();
  }
});

test('lease revoked by another client: the run is aborted', async () => {
  const name = unique('revoked');
  const c = newClient();
  const a = recorder();
  job(newClient(), name, a.run, 'a');
  await waitFor(() => a.running(), { timeoutMs: 10_000, what: 'a runs' });
  const leader = await Election.leader(c, name);
  await c.lease.revoke(leader!.leaseId);
  await waitFor(() => a.ends.length === 1, { timeoutMs: 10_000, what: 'a aborted' });
  // The key's deletion or the keep-alive's answer, whichever the client learns first.
  assert.ok(['LockLostError', 'LeaseLostError'].includes(errName(a.ends[0])), errName(a.ends[0]));
  await waitFor(() => a.running() && a.starts.length === 2, { timeoutMs: 15_000, what: 'a elected again' });
});

test('leader key deleted by someone else aborts the run (LockLostError); the job is elected again', async () => {
  const name = unique('deleted');
  const c = newClient();
  const a = recorder();
  const ja = job(newClient(), name, a.run, 'a');
  await waitFor(() => a.running(), { timeoutMs: 10_000, what: 'a runs' });
  const leader = await Election.leader(c, name);
  await c.delete(leader!.key);
  await waitFor(() => a.ends.length === 1, { timeoutMs: 10_000, what: 'a aborted' });
  assert.is(errName(a.ends[0]), 'LockLostError');
  await waitFor(() => a.starts.length === 2 && a.running(), { timeoutMs: 10_000, what: 'a elected again' });
  assert.ok(a.starts[1]! > a.starts[0]!);
  assert.is(ja.terms, 2);
});

test('a given session is used first and not closed; a run that returns ends the term and the job campaigns again', async () => {
  const name = unique('given');
  const c = newClient();
  const s = await Session.create(c, { ttl: 5 });
  let runs = 0;
  const terms: number[] = [];
  const j = job(c, name, (_signal, ctx) => {
    runs++;
    terms.push(ctx.term);
    assert.is(ctx.session, s);
  }, 'given', { session: s });
  await waitFor(() => runs >= 2, { timeoutMs: 10_000, what: 'two terms' });
  assert.ok(terms[1]! > terms[0]!);
  await j.stop();
  assert.is(s.state, 'alive', 'the given session is not closed');
  assert.is(await c.get(`${name}/`).prefix().count(), 0, 'resigned');
  await s.close();
});

test.run();
