import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import { Lessor, LessorError } from '../src/lease/lessor.js';

function fixture(): { lessor: Lessor; backend: MemoryBackend; clock: { t: number } } {
  const clock = { t: 1000 };
  const backend = new MemoryBackend();
  const lessor = new Lessor(backend, { minTtl: 2, now: () => clock.t });
  lessor.promote(0);
  return { lessor, backend, clock };
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof LessorError) return err.code;
    throw err;
  }
};

test('a lease past its deadline is not renewed (etcd waits for its revocation instead)', async () => {
  const { lessor, backend, clock } = fixture();
  backend.transact((tx) => lessor.grant(tx, 7n, 5));
  clock.t += 4_000;
  assert.is(lessor.renew(7n), 5);
  clock.t += 5_000;
  assert.is(codeOf(() => lessor.renew(7n)), 'LEASE_EXPIRED');
  let removed = false;
  const done = lessor.whenRemoved(7n).then(() => (removed = true));
  await Promise.resolve();
  assert.is(removed, false);
  backend.transact((tx) => lessor.remove(tx, 7n));
  await done;
  assert.is(removed, true);
  assert.is(codeOf(() => lessor.renew(7n)), 'LEASE_NOT_FOUND');
});

test('waiting for removal ends when the lessor is demoted', async () => {
  const { lessor, backend, clock } = fixture();
  backend.transact((tx) => lessor.grant(tx, 9n, 2));
  clock.t += 3_000;
  const done = lessor.whenRemoved(9n);
  lessor.demote();
  await done;
  assert.ok(lessor.lookup(9n) !== undefined);
  assert.is(codeOf(() => lessor.renew(9n)), 'NOT_PRIMARY');
});

test('list orders leases by remaining time, as etcd does', () => {
  const { lessor, backend } = fixture();
  backend.transact((tx) => {
    lessor.grant(tx, 1n, 300);
    lessor.grant(tx, 2n, 100);
    lessor.grant(tx, 3n, 200);
  });
  assert.equal(lessor.list().map((l) => l.id), [2n, 3n, 1n]);
});

test.run();
