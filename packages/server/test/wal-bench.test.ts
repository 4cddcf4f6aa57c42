import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EntryType, type Entry } from '../src/raft/types.js';
import { Wal } from '../src/wal/index.js';

/**
 * Measurements only (printed, never asserted on timing): raw append+fdatasync rate of
 * the disk under os.tmpdir(), and wal.save() throughput of 100-byte entries with 1
 * and 64 concurrent savers. Each phase stops at a deadline or an operation cap.
 */

const PHASE_MS = Number(process.env.WAL_BENCH_MS ?? 1500);
const MAX_OPS = 200_000;
const roots: string[] = [];
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function tempRoot(): string {
  const r = mkdtempSync(path.join(tmpdir(), 'wal-bench-'));
  roots.push(r);
  return r;
}

const payload = new Uint8Array(100).fill(0x61);

test('disk: append + fdatasync per second', async () => {
  const fh = await open(path.join(tempRoot(), 'sync-probe'), 'w');
  const block = Buffer.alloc(128, 1);
  let n = 0;
  let pos = 0;
  const t0 = performance.now();
  while (n < MAX_OPS && performance.now() - t0 < PHASE_MS) {
    await fh.write(block, 0, block.length, pos);
    pos += block.length;
    await fh.datasync();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  await fh.close();
  console.log(`\n  disk: ${n} append+fdatasync in ${s.toFixed(2)} s = ${(n / s).toFixed(0)} fsyncs/s (${((s / n) * 1e6).toFixed(0)} µs each)`);
  assert.ok(n > 0);
});

async function run(savers: number): Promise<void> {
  const dir = path.join(tempRoot(), 'wal');
  const wal = await Wal.create(dir, new Uint8Array(16));
  let next = 1;
  let done = 0;
  const t0 = performance.now();
  const before = wal.stats;
  const saver = async (): Promise<void> => {
    while (next <= MAX_OPS && performance.now() - t0 < PHASE_MS) {
      const index = next++;
      const e: Entry = { index, term: 1, type: EntryType.Normal, data: payload };
      await wal.save({ term: 1, vote: 1n, commit: index - 1 }, [e]);
      done++;
    }
  };
  await Promise.all(Array.from({ length: savers }, saver));
  const s = (performance.now() - t0) / 1000;
  const after = wal.stats;
  const fsyncs = after.fsyncs - before.fsyncs;
  const batches = after.batches - before.batches;
  console.log(
    `  wal, ${String(savers).padStart(2)} saver(s): ${done} saves (100-byte entry + hard state) in ${s.toFixed(2)} s = ` +
      `${(done / s).toFixed(0)} saves/s, ${((after.bytesWritten - before.bytesWritten) / s / 1e6).toFixed(2)} MB/s, ` +
      `${(fsyncs / s).toFixed(0)} fsyncs/s, ${(done / batches).toFixed(1)} saves per fsync`,
  );
  await wal.close();
  const r = await Wal.open(dir);
  assert.is(r.entries.length, done);
  await r.wal.close();
}

test('wal: 1 saver', () => run(1));
test('wal: 64 concurrent savers', () => run(64));

test.run();
