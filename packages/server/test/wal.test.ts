import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { emptyHardState, EntryType, type Entry, type HardState } from '../src/raft/types.js';
import {
  LOCK_FILE_NAME,
  Wal,
  WalClosedError,
  WalExistsError,
  WalFatalError,
  WalInvalidArgumentError,
  WalLockedError,
  WalNotFoundError,
  WalSnapshotMismatchError,
  WalSnapshotNotFoundError,
  segmentName,
} from '../src/wal/index.js';

const roots: string[] = [];
function tempDir(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'wal-test-'));
  roots.push(root);
  return path.join(root, 'member', 'wal');
}
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function entry(index: number, term: number, text = `e${index}@${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}
function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}
function hs(term: number, commit: number, vote = 0n): HardState {
  return { term, vote, commit };
}
const META = new TextEncoder().encode('node=1 cluster=7');

async function rejectsWith(p: Promise<unknown>, ctor: new (...args: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, ctor);
    return err as Error;
  }
  throw new Error(`expected rejection with ${ctor.name}`);
}

test('create makes an empty wal that reopens with its metadata', async () => {
  const dir = tempDir();
  assert.not.ok(Wal.exists(dir));
  const wal = await Wal.create(dir, META);
  assert.ok(Wal.exists(dir));
  assert.equal(readdirSync(dir).sort(), [LOCK_FILE_NAME, segmentName(0, 0)].sort());
  assert.equal(segmentName(0, 0), '0000000000000000-0000000000000000.wal');
  assert.not.ok(existsSync(`${dir}.tmp`));
  await wal.close();
  assert.equal(readdirSync(dir), [segmentName(0, 0)]);
  const r = await Wal.open(dir);
  assert.equal(r.metadata, META);
  assert.equal(r.hardState, emptyHardState);
  assert.equal(r.entries, []);
  assert.is(r.repaired, undefined);
  assert.is(r.wal.lastIndex, 0);
  await r.wal.close();
});

test('create refuses an existing wal and replaces a leftover temp dir', async () => {
  const dir = tempDir();
  mkdirSync(`${dir}.tmp`, { recursive: true });
  writeFileSync(path.join(`${dir}.tmp`, 'junk'), 'x');
  const wal = await Wal.create(dir, META);
  await wal.close();
  assert.not.ok(existsSync(`${dir}.tmp`));
  await rejectsWith(Wal.create(dir, META), WalExistsError);
  await rejectsWith(Wal.open(path.join(dir, 'nope')), WalNotFoundError);
});

test('hard states and entries round-trip across reopen', async () => {
  const dir = tempDir();
  let wal = await Wal.create(dir, META);
  await wal.save(hs(1, 0, 1n), range(1, 3, 1));
  await wal.save(hs(1, 3, 1n), []);
  await wal.save(undefined, [entry(4, 1, ''), { index: 5, term: 1, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 7]) }]);
  assert.is(wal.lastIndex, 5);
  await wal.close();

  let r = await Wal.open(dir);
  assert.equal(r.hardState, hs(1, 3, 1n));
  assert.equal(r.entries, [...range(1, 3, 1), entry(4, 1, ''), { index: 5, term: 1, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 7]) }]);
  assert.is(r.wal.lastIndex, 5);
  wal = r.wal;
  await wal.save(hs(2, 5, 0xffff_ffff_ffff_ffffn), range(6, 8, 2));
  await wal.close();

  r = await Wal.open(dir);
  assert.equal(r.hardState, hs(2, 5, 0xffff_ffff_ffff_ffffn));
  assert.equal(r.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(r.entries[7], entry(8, 2));
  await r.wal.close();
});

test('a later entry replaces the entry at its index and truncates the rest', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 2), range(1, 6, 1));
  await wal.save(hs(2, 2), range(4, 5, 2));
  assert.is(wal.lastIndex, 5);
  await wal.save(undefined, [entry(3, 3)]);
  assert.is(wal.lastIndex, 3);
  await wal.save(hs(3, 4), [entry(4, 3)]);
  await wal.close();
  const r = await Wal.open(dir);
  assert.equal(r.entries, [entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 3)]);
  assert.equal(r.hardState, hs(3, 4));
  assert.is(r.wal.lastIndex, 4);
  await r.wal.close();
});

test('an overwrite at or below the snapshot index drops the entries after it', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 0), range(1, 3, 1));
  await wal.save(hs(2, 1), [entry(1, 2)]);
  await wal.saveSnapshot({ index: 1, term: 2 });
  await wal.close();
  const r = await Wal.open(dir, { index: 1, term: 2 });
  assert.equal(r.entries, []);
  assert.is(r.wal.lastIndex, 1);
  await r.wal.save(hs(2, 2), [entry(2, 2)]);
  await r.wal.close();
  const r2 = await Wal.open(dir, { index: 1, term: 2 });
  assert.equal(r2.entries, [entry(2, 2)]);
  await r2.wal.close();
});

test('group commit: concurrent saves share fsyncs and resolve in call order', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  const before = wal.stats.fsyncs;
  const order: number[] = [];
  const saves: Promise<void>[] = [];
  for (let i = 1; i <= 200; i++) {
    saves.push(wal.save(hs(1, i - 1), [entry(i, 1, 'x'.repeat(100))]).then(() => void order.push(i)));
  }
  await Promise.all(saves);
  const fsyncs = wal.stats.fsyncs - before;
  assert.ok(fsyncs >= 1 && fsyncs <= 5, `200 saves took ${fsyncs} fsyncs`);
  assert.equal(order, range(1, 200, 1).map((e) => e.index));
  assert.is(wal.stats.saves, 200);
  // Saves issued while a batch is in flight form the next batch.
  const first = wal.save(undefined, [entry(201, 1)]);
  await Promise.resolve();
  await Promise.resolve();
  const rest = [wal.save(undefined, [entry(202, 1)]), wal.save(hs(1, 202), [entry(203, 1)])];
  await Promise.all([first, ...rest]);
  await wal.close();
  const r = await Wal.open(dir);
  assert.is(r.entries.length, 203);
  assert.equal(r.hardState, hs(1, 202));
  await r.wal.close();
});

test('a failed fsync is fatal: that save and every later one reject, earlier ones survive', async () => {
  const dir = tempDir();
  let failing = false;
  const wal = await Wal.create(dir, META, {
    syncFile: async (fh) => {
      if (failing) throw new Error('EIO injected');
      await fh.datasync();
    },
  });
  await wal.save(hs(1, 1), range(1, 2, 1));
  failing = true;
  const a = wal.save(hs(1, 2), [entry(3, 1)]);
  const b = wal.save(undefined, [entry(4, 1)]);
  const ea = await rejectsWith(a, WalFatalError);
  assert.match(ea.message, /EIO injected/);
  await rejectsWith(b, WalFatalError);
  failing = false;
  await rejectsWith(wal.save(undefined, [entry(5, 1)]), WalFatalError);
  await rejectsWith(wal.saveSnapshot({ index: 1, term: 1 }), WalFatalError);
  await wal.close();
  const r = await Wal.open(dir);
  assert.equal(r.entries.slice(0, 2), range(1, 2, 1));
  await r.wal.close();
});

test('a failure while cutting a segment is fatal; the segments written before it stay readable', async () => {
  const dir = tempDir();
  let syncs = 0;
  let failAt = Number.POSITIVE_INFINITY;
  const wal = await Wal.create(dir, META, {
    segmentBytes: 200,
    syncFile: async (fh) => {
      if (++syncs >= failAt) throw new Error('ENOSPC injected');
      await fh.sync();
    },
  });
  await wal.save(hs(1, 1), range(1, 3, 1));
  failAt = syncs + 1; // the next sync is the new segment's
  await rejectsWith(wal.save(hs(1, 3), [entry(4, 1)]), WalFatalError);
  await rejectsWith(wal.save(undefined, []), WalFatalError);
  await wal.close();
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.wal')), [segmentName(0, 0)]);
  const r = await Wal.open(dir);
  assert.equal(r.entries, range(1, 3, 1));
  assert.not.ok(readdirSync(dir).some((n) => n.endsWith('.tmp')));
  await r.wal.close();
});

test('invalid arguments reject without harming the wal', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await rejectsWith(wal.save(undefined, [entry(1, 1), entry(3, 1)]), WalInvalidArgumentError);
  await rejectsWith(wal.save(undefined, [entry(0, 1)]), WalInvalidArgumentError);
  await rejectsWith(wal.save(undefined, [entry(1.5, 1)]), WalInvalidArgumentError);
  await rejectsWith(wal.save({ term: 1, vote: -1n, commit: 0 }, []), WalInvalidArgumentError);
  await rejectsWith(wal.save({ term: 1, vote: 1n << 64n, commit: 0 }, []), WalInvalidArgumentError);
  await rejectsWith(wal.saveSnapshot({ index: -1, term: 0 }), WalInvalidArgumentError);
  await wal.save(hs(1, 0), [entry(1, 1)]);
  await wal.close();
  const r = await Wal.open(dir);
  assert.equal(r.entries, [entry(1, 1)]);
  await r.wal.close();
});

test('close waits for queued saves and then refuses new ones', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  const pending = wal.save(hs(1, 0), range(1, 10, 1));
  const closed = wal.close();
  await rejectsWith(wal.save(undefined, [entry(11, 1)]), WalClosedError);
  await pending;
  await closed;
  await wal.close();
  await rejectsWith(wal.releaseTo(5), WalClosedError);
  const r = await Wal.open(dir);
  assert.is(r.entries.length, 10);
  await r.wal.close();
});

test('a directory is held by one wal at a time', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await rejectsWith(Wal.open(dir), WalLockedError);
  await wal.close();
  const r = await Wal.open(dir);
  await rejectsWith(Wal.open(dir), WalLockedError);
  await r.wal.close();

  // Another live process holds the lock file: refused.
  writeFileSync(path.join(dir, LOCK_FILE_NAME), `${process.ppid}\n`);
  const err = await rejectsWith(Wal.open(dir), WalLockedError);
  assert.match(err.message, new RegExp(`process ${process.ppid}`));
  // A lock file naming a process that is gone is stale and taken over.
  let deadPid = 0x3fff_fff0;
  for (let i = 0; i < 100; i++, deadPid--) {
    try {
      process.kill(deadPid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') break;
    }
  }
  writeFileSync(path.join(dir, LOCK_FILE_NAME), `${deadPid}\n`);
  const again = await Wal.open(dir);
  await again.wal.close();
  assert.not.ok(existsSync(path.join(dir, LOCK_FILE_NAME)));
});

test('snapshot markers: open from a marker, missing and mismatched markers are typed errors', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 5), range(1, 10, 1));
  await wal.saveSnapshot({ index: 5, term: 1 });
  await wal.save(hs(2, 12), range(11, 12, 2));
  await wal.close();

  let r = await Wal.open(dir, { index: 5, term: 1 });
  assert.equal(r.entries.map((e) => e.index), [6, 7, 8, 9, 10, 11, 12]);
  assert.equal(r.hardState, hs(2, 12));
  await r.wal.close();
  r = await Wal.open(dir);
  assert.is(r.entries.length, 12);
  await r.wal.close();
  await rejectsWith(Wal.open(dir, { index: 7, term: 1 }), WalSnapshotNotFoundError);
  await rejectsWith(Wal.open(dir, { index: 5, term: 2 }), WalSnapshotMismatchError);
  // Failed opens release the directory.
  r = await Wal.open(dir, { index: 5, term: 1 });
  await r.wal.close();
});

test('a snapshot ahead of the log raises lastIndex; entries resume after it', async () => {
  const dir = tempDir();
  // segmentBytes 1: every write finds the tail full and starts a new segment first.
  const wal = await Wal.create(dir, META, { segmentBytes: 1 });
  await wal.save(hs(1, 2), range(1, 2, 1));
  await wal.saveSnapshot({ index: 100, term: 3 });
  assert.is(wal.lastIndex, 100);
  await wal.save(hs(3, 101), [entry(101, 3)]);
  await wal.close();
  const names = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
  assert.equal(names, [segmentName(0, 0), segmentName(1, 1), segmentName(2, 3), segmentName(3, 101)]);
  const r = await Wal.open(dir, { index: 100, term: 3 });
  assert.equal(r.entries, [entry(101, 3)]);
  assert.equal(r.hardState, hs(3, 101));
  assert.is(r.wal.lastIndex, 101);
  await r.wal.close();
});

test('segments are cut at the size limit, named seq-index, and read back in order', async () => {
  const dir = tempDir();
  let wal = await Wal.create(dir, META, { segmentBytes: 4096 });
  const all: Entry[] = [];
  let index = 1;
  for (let round = 0; round < 40; round++) {
    const batch: Entry[] = [];
    for (let k = 0; k < 5; k++, index++) batch.push(entry(index, 1 + Math.floor(round / 10), 'p'.repeat(50 + round)));
    all.push(...batch);
    await wal.save(hs(1 + Math.floor(round / 10), index - 1), batch);
  }
  const cut = wal.stats.segmentsCut;
  assert.ok(cut >= 5, `cut ${cut} segments`);
  await wal.close();
  const names = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
  assert.is(names.length, cut + 1);
  names.forEach((n, i) => assert.ok(n.startsWith(i.toString(16).padStart(16, '0') + '-'), n));

  const r = await Wal.open(dir, undefined, { segmentBytes: 4096 });
  assert.equal(r.entries, all);
  assert.equal(r.hardState, hs(4, 200));
  wal = r.wal;
  // Appending continues the chain in the tail segment and across new cuts.
  const more = range(201, 260, 4);
  for (const e of more) await wal.save(hs(4, e.index), [e]);
  await wal.close();
  const r2 = await Wal.open(dir);
  assert.equal(r2.entries, [...all, ...more]);
  await r2.wal.close();
});

test('releaseTo removes segments wholly at or below the index and keeps the one containing it', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META, { segmentBytes: 1 });
  // One segment per write: segment k (1 <= k <= 10) starts at index k and holds entry k.
  for (let i = 1; i <= 10; i++) await wal.save(hs(1, i), [entry(i, 1)]);
  const listWal = () => readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
  assert.is(listWal().length, 11);
  await wal.saveSnapshot({ index: 6, term: 1 }); // segment 11, named 11
  await wal.releaseTo(6);
  assert.equal(listWal(), [6, 7, 8, 9, 10, 11].map((k) => segmentName(k, k)));
  await wal.releaseTo(6);
  await wal.releaseTo(0);
  await wal.releaseTo(9); // clamped to the snapshot marker at 6
  assert.is(listWal().length, 6);
  await wal.close();
  await rejectsWith(Wal.open(dir), WalSnapshotNotFoundError);
  const r = await Wal.open(dir, { index: 6, term: 1 }, { segmentBytes: 1 });
  assert.equal(r.entries, range(7, 10, 1));
  assert.equal(r.hardState, hs(1, 10));
  assert.is(r.wal.lastIndex, 10);
  await r.wal.saveSnapshot({ index: 10, term: 1 }); // segment 12, named 11
  await r.wal.releaseTo(10);
  assert.equal(listWal(), [segmentName(10, 10), segmentName(11, 11), segmentName(12, 11)]);
  // Never past the latest snapshot marker, so opening from it keeps working.
  await r.wal.releaseTo(1000);
  assert.equal(listWal(), [segmentName(10, 10), segmentName(11, 11), segmentName(12, 11)]);
  await r.wal.close();
  const r2 = await Wal.open(dir, { index: 10, term: 1 });
  assert.equal(r2.entries, []);
  assert.equal(r2.hardState, hs(1, 10));
  await r2.wal.close();
});

test('releaseTo then reopen from the snapshot keeps every later entry', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META, { segmentBytes: 300 });
  for (let i = 1; i <= 30; i++) await wal.save(hs(1, i), [entry(i, 1, 'y'.repeat(20))]);
  await wal.saveSnapshot({ index: 17, term: 1 });
  await wal.releaseTo(17);
  const first = readdirSync(dir).filter((n) => n.endsWith('.wal')).sort()[0] as string;
  assert.ok(Number.parseInt(first.slice(17, 33), 16) <= 17);
  for (let i = 31; i <= 35; i++) await wal.save(hs(1, i), [entry(i, 1, 'y'.repeat(20))]);
  await wal.close();
  const r = await Wal.open(dir, { index: 17, term: 1 });
  assert.equal(r.entries.map((e) => e.index), range(18, 35, 1).map((e) => e.index));
  await r.wal.close();
});

test('open removes segment files left by a cut that crashed before its rename', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 1), [entry(1, 1)]);
  await wal.close();
  writeFileSync(path.join(dir, `${segmentName(1, 2)}.tmp`), 'partial');
  const r = await Wal.open(dir);
  assert.equal(r.entries, [entry(1, 1)]);
  assert.not.ok(existsSync(path.join(dir, `${segmentName(1, 2)}.tmp`)));
  await r.wal.close();
});

test('unsafeNoFsync never fsyncs', async () => {
  const dir = tempDir();
  const wal = await Wal.create(dir, META, { unsafeNoFsync: true });
  await wal.save(hs(1, 1), range(1, 3, 1));
  assert.is(wal.stats.fsyncs, 0);
  await wal.close();
});

test.run();
