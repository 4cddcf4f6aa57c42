import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Bucket } from '../src/backend/backend.js';
import { LmdbBackend, openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/backend/memory-backend.js';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-write-buffer-'));
  dirs.push(d);
  return d;
}
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

// A small key space with the bytes where unsigned order matters (0x00, 0x7f, 0x80, 0xff).
const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3 }).map((a) => Buffer.from(a.map((x) => [0x00, 0x61, 0x7f, 0x80, 0xff][x % 5]!)));
const bucketArb = fc.constantFrom<Bucket>('key', 'lease');
type Write = { put: true; bucket: Bucket; key: Buffer; value: Buffer } | { put: false; bucket: Bucket; key: Buffer };
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ put: fc.constant(true as const), bucket: bucketArb, key: keyArb, value: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)) }),
  fc.record({ put: fc.constant(false as const), bucket: bucketArb, key: keyArb }),
);
type Step =
  | { kind: 'txn'; writes: Write[]; abort: boolean }
  | { kind: 'range'; bucket: Bucket; start: Buffer; end: Buffer | undefined; limit: number; reverse: boolean }
  | { kind: 'get'; bucket: Bucket; key: Buffer }
  | { kind: 'scan'; bucket: Bucket; start: Buffer; end: Buffer | undefined; stopAfter: number }
  | { kind: 'sync' };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('txn' as const), writes: fc.array(writeArb, { maxLength: 6 }), abort: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('range' as const),
      bucket: bucketArb,
      start: fc.oneof(keyArb, fc.constant(Buffer.alloc(0))),
      end: fc.option(keyArb, { nil: undefined }),
      limit: fc.nat(4),
      reverse: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), bucket: bucketArb, key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('scan' as const),
      bucket: bucketArb,
      start: fc.oneof(keyArb, fc.constant(Buffer.alloc(0))),
      end: fc.option(keyArb, { nil: undefined }),
      stopAfter: fc.nat(5),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
);

/** Runs one step on a backend and returns what it read, as comparable text. */
async function run(be: Backend, st: Step): Promise<string> {
  switch (st.kind) {
    case 'txn':
      try {
        be.transact((tx) => {
          for (const w of st.writes) {
            if (w.put) tx.put(w.bucket, w.key, w.value);
            else tx.delete(w.bucket, w.key);
          }
          if (st.abort) throw new Error('abort');
        });
        return 'committed';
      } catch (err) {
        return (err as Error).message;
      }
    case 'range': {
      const opts = { ...(st.end === undefined ? {} : { end: st.end }), limit: st.limit, reverse: st.reverse };
      return [...be.range(st.bucket, st.start, opts)].map(([k, v]) => `${hex(k)}=${hex(v)}`).join(' ');
    }
    case 'get': {
      const v = be.get(st.bucket, st.key);
      return v === undefined ? '-' : hex(v);
    }
    case 'scan': {
      const seen: string[] = [];
      be.scan(st.bucket, st.start, st.end, (k, v) => {
        seen.push(`${hex(k)}=${hex(v)}`);
        return seen.length < st.stopAfter || st.stopAfter === 0;
      });
      return seen.join(' ');
    }
    case 'sync':
      await be.sync();
      return 'synced';
  }
}

test('reads through the write buffer match a backend without one, across writes to LMDB', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
      const model = new MemoryBackend();
      const be = openLmdbBackend(tmpDir(), { batchIntervalMs: 3_600_000, batchLimit: 1e9 });
      try {
        for (const st of steps) assert.is(await run(be, st), await run(model, st), JSON.stringify(st));
        // after the buffer reached LMDB, LMDB alone holds the same data
        await be.close();
        const again = openLmdbBackend(path.dirname(path.dirname(path.dirname(be.path))));
        for (const bucket of ['key', 'lease'] as const) {
          const all = (b: Backend): string => [...b.range(bucket, Buffer.alloc(0))].map(([k, v]) => `${hex(k)}=${hex(v)}`).join(' ');
          assert.is(all(again), all(model));
        }
        await again.close();
      } finally {
        await be.close();
        await model.close();
      }
    }),
    { numRuns: 150 },
  );
});

test('a full buffer is written at once (batch limit)', async () => {
  const be = openLmdbBackend(tmpDir(), { batchIntervalMs: 3_600_000, batchLimit: 3 });
  const sizeOf = (): number => (be as unknown as { size(): number }).size();
  const before = sizeOf();
  be.transact((tx) => {
    for (let i = 0; i < 3; i++) tx.put('key', Buffer.from(`k${i}`), Buffer.alloc(100_000, i));
  });
  assert.ok(sizeOf() > before + 250_000);
  await be.close();
});

const here = path.dirname(fileURLToPath(import.meta.url));
const backendModule = path.join(here, '..', 'src', 'backend', 'lmdb-backend.js');

/**
 * A process that writes and then exits without closing the backend, as a
 * crash would: what it buffered and did not write to LMDB is gone (the WAL
 * is what brings it back), what the batch timer or limit wrote is kept.
 */
function crashAfter(dir: string, script: string): void {
  const code = `
    import { openLmdbBackend } from ${JSON.stringify(backendModule)};
    const put = (be, k) => be.transact((tx) => tx.put('key', Buffer.from(k), Buffer.from(k)));
    const until = async (ms) => new Promise((r) => setTimeout(r, ms));
    ${script}
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, DIR: dir }, encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
}

function keysIn(dir: string): string[] {
  const be = new LmdbBackend(path.join(dir, 'member', 'snap', 'db'));
  try {
    return [...be.range('key', Buffer.alloc(0))].map(([k]) => Buffer.from(k).toString());
  } finally {
    void be.close();
  }
}

test('the batch timer writes the buffer to LMDB; what it had not written is lost at a crash', () => {
  const dir = tmpDir();
  crashAfter(
    dir,
    `const be = openLmdbBackend(process.env.DIR, { batchIntervalMs: 20 });
     put(be, 'written');
     await until(400);
     put(be, 'buffered');`,
  );
  assert.equal(keysIn(dir), ['written']);
});

test('the batch limit writes the buffer to LMDB at once', () => {
  const dir = tmpDir();
  crashAfter(
    dir,
    `const be = openLmdbBackend(process.env.DIR, { batchIntervalMs: 3600000, batchLimit: 2 });
     put(be, 'a');
     put(be, 'b');
     put(be, 'c');`,
  );
  assert.equal(keysIn(dir), ['a', 'b']);
});

test('sync writes the buffer to LMDB', () => {
  const dir = tmpDir();
  crashAfter(
    dir,
    `const be = openLmdbBackend(process.env.DIR, { batchIntervalMs: 3600000 });
     put(be, 'a');
     await be.sync();
     put(be, 'b');`,
  );
  assert.equal(keysIn(dir), ['a']);
});

test.after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test.run();
