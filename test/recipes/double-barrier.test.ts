/**
 * DoubleBarrier: N participants (each with its own client and session)
 * enter together and leave together; too many participants; a participant
 * that dies does not block the others from leaving. Runs against the target
 * server (etcd-ts by default, ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '@etcd-ts/client';
import { DoubleBarrier, TooManyParticipantsError } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';
import { SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const sessions: Session[] = [];
let run = 0;

async function participant(key: string, n: number): Promise<{ client: Client; session: Session; barrier: DoubleBarrier }> {
  const client = suite.client();
  const session = await Session.create(client, { ttl: 5 });
  sessions.push(session);
  return { client, session, barrier: new DoubleBarrier(session, key, n) };
}

const ns = (name: string): string => `double-barrier-test/${++run}-${name}`;
const timeout = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(20_000) });

test.before(suite.start);

test.after(async () => {
  await Promise.allSettled(sessions.map((s) => s.close()));
  await suite.stop();
});

test('N participants: enter() blocks until all N entered, leave() until all left', async () => {
  const key = ns('n');
  const N = 4;
  const ps = await Promise.all(Array.from({ length: N }, () => participant(key, N)));
  const entered: number[] = [];
  const enters = ps.slice(0, N - 1).map((p, i) => p.barrier.enter(timeout()).then(() => entered.push(i)));
  // Wait until the first N-1 are registered as waiters, then check nobody got in.
  const waiters = `${key}/waiters/`;
  const c = ps[0]!.client;
  for (let i = 0; i < 200 && (await c.get(waiters).prefix().count()) < N - 1; i++) await new Promise((r) => setTimeout(r, 25));
  assert.is(await c.get(waiters).prefix().count(), N - 1);
  assert.is(await c.get(`${key}/ready`).count(), 0);
  assert.equal(entered, []);
  // Keys are named after the session lease.
  const keys = await c.get(waiters).prefix().keys();
  for (const k of keys) assert.ok(ps.some((p) => k === `${waiters}${p.session.leaseId.toString(16)}`), k);

  await ps[N - 1]!.barrier.enter(timeout());
  await Promise.all(enters);
  assert.is(entered.length, N - 1);
  assert.is(await c.get(`${key}/ready`).count(), 1);

  const left: number[] = [];
  const leaves = ps.slice(1).map((p, i) => p.barrier.leave(timeout()).then(() => left.push(i + 1)));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(left, [], 'nobody leaves while participant 0 is still in');
  await ps[0]!.barrier.leave(timeout());
  await Promise.all(leaves);
  assert.is(left.length, N - 1);
  assert.is(await c.get(key).prefix().count(), 0, 'waiters and ready are gone');
});

test('the barrier can be used for another round', async () => {
  const key = ns('rounds');
  const N = 3;
  const ps = await Promise.all(Array.from({ length: N }, () => participant(key, N)));
  for (let round = 0; round < 3; round++) {
    await Promise.all(ps.map((p) => p.barrier.enter(timeout())));
    await Promise.all(ps.map((p) => p.barrier.leave(timeout())));
  }
  assert.is(await ps[0]!.client.get(key).prefix().count(), 0);
});

test('one participant too many is refused and withdraws', async () => {
  const key = ns('too-many');
  const ps = await Promise.all(Array.from({ length: 3 }, () => participant(key, 2)));
  await Promise.all([ps[0]!.barrier.enter(timeout()), ps[1]!.barrier.enter(timeout())]);
  const err = await ps[2]!.barrier.enter(timeout()).catch((e: unknown) => e);
  assert.instance(err, TooManyParticipantsError);
  assert.is((err as TooManyParticipantsError).entered, 3);
  assert.is(await ps[0]!.client.get(`${key}/waiters/`).prefix().count(), 2);
  await Promise.all([ps[0]!.barrier.leave(timeout()), ps[1]!.barrier.leave(timeout())]);
});

test('a participant whose session ends does not hold the others in leave()', async () => {
  const key = ns('dead');
  const ps = await Promise.all(Array.from({ length: 3 }, () => participant(key, 3)));
  await Promise.all(ps.map((p) => p.barrier.enter(timeout())));
  const leaving = Promise.all([ps[0]!.barrier.leave(timeout()), ps[1]!.barrier.leave(timeout())]);
  // Participant 2 dies without leaving: its key goes with its lease.
  await ps[2]!.session.close();
  await leaving;
  assert.is(await ps[0]!.client.get(key).prefix().count(), 0);
});

test('enter() rejects with the signal reason when aborted, and withdraws', async () => {
  const key = ns('abort');
  const p = await participant(key, 2);
  const ac = new AbortController();
  const reason = new Error('stop waiting');
  setTimeout(() => ac.abort(reason), 100);
  assert.is(await p.barrier.enter({ signal: ac.signal }).catch((e: unknown) => e), reason);
  assert.is(await p.client.get(`${key}/waiters/`).prefix().count(), 0, 'an abandoned entry is withdrawn');
  await p.barrier.leave(timeout());
});

test.run();
