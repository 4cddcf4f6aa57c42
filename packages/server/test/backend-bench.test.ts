import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import type { LmdbDurability } from '../src/backend/lmdb-backend.js';
import { openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/backend/memory-backend.js';

// Full-size measurement with ETCD_TS_BENCH=1; otherwise a small sanity run.
const full = process.env['ETCD_TS_BENCH'] === '1';
const N = full ? 200_000 : 5_000;
const BATCH = 1_000;
const GETS = full ? 200_000 : 5_000;

function key(i: number): Buffer {
  const k = Buffer.alloc(17);
  k.writeUInt32BE(Math.floor(i / 0x1_0000_0000), 0);
  k.writeUInt32BE(i >>> 0, 4);
  k[8] = 0x5f;
  return k;
}

function measure(name: string, be: Backend): void {
  const value = Buffer.alloc(300, 7);
  let t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    be.transact((tx) => {
      for (let j = i; j < i + BATCH; j++) tx.put('key', key(j), value);
    });
  }
  const putMs = performance.now() - t0;
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < GETS; i++) bytes += be.get('key', key(rnd() % N))!.length;
  const getMs = performance.now() - t0;
  assert.is(bytes, GETS * 300);
  t0 = performance.now();
  let n = 0;
  for (const _ of be.range('key', Buffer.alloc(1))) n++;
  const scanMs = performance.now() - t0;
  assert.is(n, N);
  t0 = performance.now();
  let m = 0;
  be.scan('key', Buffer.alloc(0), undefined, (_k, v) => {
    m += v.length > 0 ? 1 : 0;
  });
  const fastScanMs = performance.now() - t0;
  assert.is(m, N);
  console.log(
    `${name}: put ${N} x 300B in txns of ${BATCH}: ${putMs.toFixed(0)} ms (${Math.round((N / putMs) * 1000)} puts/s); ` +
      `random get: ${Math.round((GETS / getMs) * 1000)} gets/s; full range(): ${scanMs.toFixed(0)} ms; full scan(): ${fastScanMs.toFixed(0)} ms; size ${(be.size() / 1e6).toFixed(1)} MB`,
  );
}

test('backend throughput', async () => {
  const mem = new MemoryBackend();
  measure('memory', mem);
  await mem.close();
  const modes: LmdbDurability[] = full ? ['nosync', 'overlapping', 'sync'] : ['nosync'];
  for (const durability of modes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-bench-'));
    try {
      const be = openLmdbBackend(dir, { durability });
      measure(`lmdb ${durability}`, be);
      const t0 = performance.now();
      await be.sync();
      console.log(`lmdb ${durability}: sync ${(performance.now() - t0).toFixed(0)} ms`);
      await be.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test.run();
