import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { KVStore } from '../src/mvcc/kv-store.js';

// Full-size measurement with ETCD_TS_BENCH=1 (run node with --expose-gc for
// settled heap figures); otherwise a small sanity run.
const full = process.env['ETCD_TS_BENCH'] === '1';
const N = full ? 200_000 : 5_000;
const PER_BACKEND_TXN = 1_000;

const gc = (globalThis as { gc?: () => void }).gc;
function mem(): string {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  let split = '';
  try {
    // Linux: resident anonymous memory vs mapped file pages (LMDB's map of the database)
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    split = ` (anon ${(kb('RssAnon') / 1e3).toFixed(1)} MB, file ${(kb('RssFile') / 1e3).toFixed(1)} MB)`;
  } catch {
    split = '';
  }
  return `rss ${(m.rss / 1e6).toFixed(1)} MB${split}, heapUsed ${(m.heapUsed / 1e6).toFixed(1)} MB, external ${(m.external / 1e6).toFixed(1)} MB`;
}

function key(i: number): Buffer {
  const k = Buffer.alloc(16);
  k.write('/registry/', 0, 'latin1');
  k.writeUIntBE(i, 10, 6);
  return k;
}

test('KVStore on LMDB: load, memory, restore', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-mvcc-bench-'));
  try {
    console.log(`baseline: ${mem()}`);
    let be = openLmdbBackend(dir);
    let store = new KVStore(be);
    const value = Buffer.alloc(256, 0x61);
    let t0 = performance.now();
    for (let i = 0; i < N; i += PER_BACKEND_TXN) {
      be.transact((tx) => {
        for (let j = i; j < i + PER_BACKEND_TXN; j++) {
          const w = store.write(tx);
          w.put(key(j), value);
          w.end();
        }
        store.setConsistentIndex(tx, i + PER_BACKEND_TXN);
      });
    }
    const loadMs = performance.now() - t0;
    console.log(`load ${N} keys (16 B keys, 256 B values; one revision each, ${PER_BACKEND_TXN} per backend txn): ${loadMs.toFixed(0)} ms (${Math.round((N / loadMs) * 1000)} puts/s)`);
    console.log(`after load: ${mem()}`);
    assert.is(store.currentRev, N + 1);

    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const GETS = Math.min(N, 100_000);
    t0 = performance.now();
    for (let i = 0; i < GETS; i++) {
      const r = store.read().range(key(rnd() % N), undefined);
      if (r.kvs.length !== 1) throw new Error('missing key');
    }
    let ms = performance.now() - t0;
    console.log(`random single-key range: ${Math.round((GETS / ms) * 1000)} reads/s`);
    t0 = performance.now();
    for (let i = 0; i < GETS; i++) store.read().rangeRaw(key(rnd() % N), undefined);
    ms = performance.now() - t0;
    console.log(`random single-key rangeRaw: ${Math.round((GETS / ms) * 1000)} reads/s`);
    t0 = performance.now();
    const all = store.read().range(Buffer.from('/registry/'), Buffer.from('/registry0'), { limit: 1000 });
    ms = performance.now() - t0;
    console.log(`prefix range limit 1000 (count ${all.count}): ${ms.toFixed(1)} ms`);
    t0 = performance.now();
    const cnt = store.read().range(Buffer.from('/registry/'), Buffer.from('/registry0'), { countOnly: true });
    console.log(`prefix count (${cnt.count}): ${(performance.now() - t0).toFixed(1)} ms`);
    t0 = performance.now();
    const h = store.hashByRev(0);
    console.log(`hashByRev over ${N} records: ${(performance.now() - t0).toFixed(0)} ms (hash ${h.hash.toString(16)})`);

    await be.sync();
    await be.close();
    store = undefined as unknown as KVStore;
    be = undefined as unknown as ReturnType<typeof openLmdbBackend>;
    console.log(`after close: ${mem()}`);

    be = openLmdbBackend(dir);
    t0 = performance.now();
    store = KVStore.open(be);
    const openMs = performance.now() - t0;
    console.log(`restore (open) of ${N} keys: ${openMs.toFixed(0)} ms`);
    console.log(`after restore: ${mem()}`);
    assert.is(store.currentRev, N + 1);
    assert.is(store.consistentIndex(), N);
    assert.is(store.index.size, N);

    t0 = performance.now();
    be.transact((tx) => {
      for (let j = 0; j < N; j += 2) {
        const w = store.write(tx);
        w.put(key(j), value);
        w.end();
      }
    });
    console.log(`overwrite ${N / 2} keys in one backend txn: ${(performance.now() - t0).toFixed(0)} ms`);
    console.log(`after overwrite: ${mem()}; db file ${(be.size() / 1e6).toFixed(0)} MB`);
    t0 = performance.now();
    be.transact((tx) => store.scheduleCompaction(tx, store.currentRev));
    const indexMs = performance.now() - t0;
    let steps = 0;
    while (!store.compactionStep()) steps++;
    console.log(
      `compact ${N / 2} superseded revisions: index ${indexMs.toFixed(0)} ms, then ${steps + 1} batches of 1000 records in their own txns: ` +
        `${(performance.now() - t0).toFixed(0)} ms in all`,
    );
    console.log(`after compaction: ${mem()}; db file ${(be.size() / 1e6).toFixed(0)} MB, in use ${(be.sizeInUse() / 1e6).toFixed(0)} MB`);
    t0 = performance.now();
    be.transact((tx) => {
      for (let j = 1; j < N; j += 2) {
        const w = store.write(tx);
        w.put(key(j), value);
        w.end();
      }
    });
    be.transact((tx) => store.compact(tx, store.currentRev));
    console.log(`overwrite the other ${N / 2} keys and compact in one txn: ${(performance.now() - t0).toFixed(0)} ms`);
    console.log(`after that: ${mem()}; db file ${(be.size() / 1e6).toFixed(0)} MB`);
    await be.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
