/**
 * STM: etcd's four isolation levels (clientv3/concurrency/stm.go), conflict
 * retries, blind writes, prefetch, compaction of the snapshot. Runs against
 * the target server (etcd-ts by default, ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stm, StmConflictError, type StmIsolation } from '@etcd-ts/recipes';
import { SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const { client } = suite;
let run = 0;

/** A key prefix of its own for each test. */
const ns = (name: string): string => `stm-test/${++run}-${name}/`;

test.before(suite.start);
test.after(suite.stop);

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** Concurrent transfers between accounts by several clients; the total must not change. */
async function bank(level: StmIsolation): Promise<{ retries: number }> {
  const p = ns(`bank-${level}`);
  const ACCOUNTS = 6;
  const WORKERS = 4;
  const TRANSFERS = 15;
  const setup = client();
  for (let i = 0; i < ACCOUNTS; i++) await setup.put(`${p}${i}`, '100');
  let retries = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      const c = client();
      const rand = rng(w * 7919 + 17);
      for (let t = 0; t < TRANSFERS; t++) {
        const from = Math.floor(rand() * ACCOUNTS);
        const to = (from + 1 + Math.floor(rand() * (ACCOUNTS - 1))) % ACCOUNTS;
        const amount = 1 + Math.floor(rand() * 20);
        const r = await stm(
          c,
          async (tx) => {
            const a = Number(await tx.get(`${p}${from}`));
            const b = Number(await tx.get(`${p}${to}`));
            const moved = Math.min(a, amount);
            tx.put(`${p}${from}`, String(a - moved));
            tx.put(`${p}${to}`, String(b + moved));
            return moved;
          },
          { isolation: level, maxRetries: 500 },
        );
        retries += r.retries;
      }
    }),
  );
  const balances = (await setup.get(p).prefix()).kvs.map((kv) => Number(kv.value.toString()));
  assert.is(balances.length, ACCOUNTS);
  assert.ok(balances.every((b) => b >= 0), `no negative balance: ${balances.join(',')}`);
  assert.is(
    balances.reduce((s, b) => s + b, 0),
    ACCOUNTS * 100,
    `total after concurrent transfers under ${level}: ${balances.join(',')}`,
  );
  return { retries };
}

for (const level of ['serializable-snapshot', 'serializable', 'repeatable-read'] as const) {
  test(`bank transfers by 4 concurrent clients keep the total under ${level}`, async () => {
    const { retries } = await bank(level);
    // Four clients hammering six accounts: some attempts must have conflicted.
    assert.ok(retries > 0, `expected conflicts under contention, got ${retries} retries`);
  });
}

test('a conflict retries the function; the retry count is observable', async () => {
  const p = ns('retry');
  const c = client();
  const other = client();
  await c.put(`${p}x`, '1');
  const seen: number[] = [];
  const r = await stm(
    c,
    async (tx) => {
      const x = Number(await tx.get(`${p}x`));
      if (tx.attempt === 1) await other.put(`${p}x`, '10'); // someone writes what we read
      tx.put(`${p}y`, String(x + 1));
      return x;
    },
    { onRetry: ({ attempt, reason }) => seen.push(attempt) && assert.is(reason, 'conflict') },
  );
  assert.is(r.retries, 1);
  assert.equal(seen, [2]);
  assert.is(r.value, 10);
  assert.is(await c.get(`${p}y`).string(), '11');
});

test('maxRetries bounds the attempts (StmConflictError)', async () => {
  const p = ns('max');
  const c = client();
  const other = client();
  await c.put(`${p}x`, '0');
  let n = 0;
  const err = await stm(
    c,
    async (tx) => {
      await tx.get(`${p}x`);
      await other.put(`${p}x`, String(++n));
      tx.put(`${p}y`, 'never');
    },
    { maxRetries: 2 },
  ).catch((e: unknown) => e);
  assert.instance(err, StmConflictError);
  assert.is((err as StmConflictError).attempts, 3);
  assert.is(n, 3);
  assert.is(await c.get(`${p}y`).string(), undefined);
});

for (const level of ['serializable-snapshot', 'serializable', 'repeatable-read', 'read-committed'] as const) {
  test(`${level}: a blind write to a key newer than the keys read does not conflict`, async () => {
    const p = ns(`blind-${level}`);
    const c = client();
    await c.put(`${p}a`, 'old'); // read key, mod revision R0
    await c.put(`${p}b`, 'v1'); // written key, modified after a: mod revision > R0, but before our snapshot
    await c.put(`${p}b`, 'v2');
    const r = await stm(
      c,
      async (tx) => {
        const a = await tx.get(`${p}a`);
        tx.put(`${p}b`, `from-${a}`);
      },
      { isolation: level },
    );
    assert.is(r.retries, 0);
    assert.is(await c.get(`${p}b`).string(), 'from-old');
  });
}

for (const level of ['serializable', 'repeatable-read', 'read-committed'] as const) {
  test(`${level}: a blind write to a key someone modifies after our snapshot does not conflict`, async () => {
    const p = ns(`blind-after-${level}`);
    const c = client();
    const other = client();
    await c.put(`${p}a`, '1');
    await c.put(`${p}b`, 'theirs-0');
    const r = await stm(
      c,
      async (tx) => {
        await tx.get(`${p}a`);
        if (tx.attempt === 1) await other.put(`${p}b`, 'theirs-1');
        tx.put(`${p}b`, 'ours');
      },
      { isolation: level },
    );
    assert.is(r.retries, 0, 'written keys are not compared under this level');
    assert.is(await c.get(`${p}b`).string(), 'ours');
  });
}

test('serializable-snapshot: a write to a key modified after the snapshot conflicts (first committer wins)', async () => {
  const p = ns('ss-write-conflict');
  const c = client();
  const other = client();
  await c.put(`${p}a`, '1');
  await c.put(`${p}b`, 'theirs-0');
  const r = await stm(c, async (tx) => {
    await tx.get(`${p}a`);
    if (tx.attempt === 1) await other.put(`${p}b`, 'theirs-1');
    tx.put(`${p}b`, 'ours');
  });
  assert.is(r.retries, 1);
  assert.is(await c.get(`${p}b`).string(), 'ours');
});

test('a transaction without reads never conflicts (no snapshot), even under serializable-snapshot', async () => {
  const p = ns('write-only');
  const c = client();
  const other = client();
  await c.put(`${p}b`, 'x');
  const r = await stm(c, async (tx) => {
    tx.put(`${p}b`, 'ours');
    await other.put(`${p}b`, 'theirs'); // after "start", before commit
  });
  assert.is(r.retries, 0);
  assert.is(await c.get(`${p}b`).string(), 'ours');
});

test('serializable levels read at the first read\'s revision; repeatable-read reads the latest', async () => {
  const p = ns('snapshot-reads');
  const c = client();
  const other = client();
  for (const level of ['serializable-snapshot', 'serializable', 'repeatable-read', 'read-committed'] as const) {
    await c.put(`${p}a`, '1');
    await c.put(`${p}b`, 'before');
    let firstAttempt: string | undefined;
    const r = await stm(
      c,
      async (tx) => {
        await tx.get(`${p}a`);
        if (tx.attempt === 1) await other.put(`${p}b`, 'after');
        const b = await tx.get(`${p}b`);
        if (tx.attempt === 1) firstAttempt = b;
        return b;
      },
      { isolation: level },
    );
    const snapshotReads = level === 'serializable-snapshot' || level === 'serializable';
    assert.is(firstAttempt, snapshotReads ? 'before' : 'after', level);
    // The stale read of b is in the read set: the commit finds it changed and the function runs again.
    assert.is(r.retries, snapshotReads ? 1 : 0, level);
    assert.is(r.value, 'after', level);
  }
});

test('reads are repeatable and see the attempt\'s own writes; rev() gives the mod revision', async () => {
  const p = ns('rw');
  const c = client();
  const other = client();
  const put = await c.put(`${p}a`, 'one');
  const r = await stm(
    c,
    async (tx) => {
      const first = await tx.get(`${p}a`);
      if (tx.attempt === 1) await other.put(`${p}zzz`, 'unrelated');
      const again = await tx.get(`${p}a`);
      const rev = await tx.rev(`${p}a`);
      tx.put(`${p}a`, 'two');
      const own = await tx.get(`${p}a`);
      tx.delete(`${p}a`);
      const gone = await tx.get(`${p}a`);
      tx.putJson(`${p}j`, { n: 1 });
      const json = await tx.getJson<{ n: number }>(`${p}j`);
      return { first, again, rev, own, gone, json, missing: await tx.get(`${p}missing`) };
    },
    { isolation: 'repeatable-read' },
  );
  assert.equal(r.value, {
    first: 'one',
    again: 'one',
    rev: put.header?.revision,
    own: 'two',
    gone: undefined,
    json: { n: 1 },
    missing: undefined,
  });
  assert.is(await c.get(`${p}a`).string(), undefined);
  assert.equal(await c.get(`${p}j`).json(), { n: 1 });
});

test('an error thrown by the function aborts without writing', async () => {
  const p = ns('throw');
  const c = client();
  const err = await stm(c, async (tx) => {
    tx.put(`${p}x`, 'nope');
    throw new Error('boom');
  }).catch((e: unknown) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, 'boom');
  assert.is(await c.get(`${p}x`).string(), undefined);
});

test('prefetch reads the keys in one round trip and they join the read set', async () => {
  const p = ns('prefetch');
  const c = client();
  const other = client();
  await c.put(`${p}a`, '1');
  await c.put(`${p}b`, '2');
  const r = await stm(
    c,
    async (tx) => {
      // The prefetched keys were read before fn ran: a write to b now is a conflict.
      if (tx.attempt === 1) await other.put(`${p}b`, '20');
      const a = Number(await tx.get(`${p}a`));
      const b = Number(await tx.get(`${p}b`));
      tx.put(`${p}sum`, String(a + b));
      return a + b;
    },
    { prefetch: [`${p}a`, `${p}b`] },
  );
  assert.is(r.retries, 1);
  assert.is(r.value, 21);
  assert.is(await c.get(`${p}sum`).string(), '21');
});

test('a compacted snapshot restarts the attempt', async () => {
  const p = ns('compact');
  const c = client();
  const other = client();
  await c.put(`${p}a`, '1');
  await c.put(`${p}b`, 'b0');
  const reasons: string[] = [];
  const r = await stm(
    c,
    async (tx) => {
      await tx.get(`${p}a`);
      if (tx.attempt === 1) {
        await other.put(`${p}b`, 'b1');
        const rev = (await other.put(`${p}b`, 'b2')).header?.revision ?? 0;
        await other.kv.compact(rev, { physical: true });
      }
      const b = await tx.get(`${p}b`); // at the snapshot, which is compacted on attempt 1
      tx.put(`${p}c`, `${b}`);
      return b;
    },
    { onRetry: ({ reason }) => reasons.push(reason) },
  );
  assert.equal(reasons, ['compacted']);
  assert.is(r.retries, 1);
  assert.is(r.value, 'b2');
});

test('an aborted signal stops the transaction', async () => {
  const c = client();
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  const err = await stm(c, () => 1, { signal: ac.signal }).catch((e: unknown) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, 'stop');

  // Aborted in the middle of an attempt: nothing is written.
  const p = ns('abort');
  const mid = new AbortController();
  const reason = new Error('mid-flight');
  const err2 = await stm(
    c,
    async (tx) => {
      await tx.get(`${p}a`);
      mid.abort(reason);
      await tx.get(`${p}b`);
      tx.put(`${p}a`, 'never');
    },
    { signal: mid.signal },
  ).catch((e: unknown) => e);
  assert.is(err2, reason);
  assert.is(await c.get(`${p}a`).string(), undefined);
});

test.run();
