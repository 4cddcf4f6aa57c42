import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openLmdbBackend } from '../src/backend/lmdb-backend.js';
import type { Backend } from '../src/backend/backend.js';
import type { TxnWrite } from '../src/mvcc/kv-store.js';
import { KVStore } from '../src/mvcc/kv-store.js';
import { revToBytes } from '../src/mvcc/revision.js';

/** The key bucket's record keys, in order, as hex. */
const keyBucket = (b: Backend): string[] => [...b.range('key', Buffer.alloc(0))].map(([k]) => Buffer.from(k).toString('hex'));

const s = (x: string): Buffer => Buffer.from(x);
const ALL = Buffer.from([0]);
const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-restore-'));
  dirs.push(d);
  return d;
}

function txn(store: KVStore, fn: (w: TxnWrite) => void): void {
  store.backend.transact((tx) => {
    const w = store.write(tx);
    fn(w);
    w.end();
  });
}

/** Everything observable about a store: revisions, every readable revision, the hash. */
function observe(store: KVStore): unknown {
  const reads: unknown[] = [];
  for (let rev = Math.max(store.compactRev, 1); rev <= store.currentRev; rev++) {
    reads.push([rev, store.read().range(Buffer.alloc(0), ALL, { rev }).kvs]);
  }
  return {
    currentRev: store.currentRev,
    compactRev: store.compactRev,
    consistentIndex: store.consistentIndex(),
    reads,
    hash: store.hashByRev(0),
    keys: store.index.size,
  };
}

function history(store: KVStore): void {
  let ci = 0;
  for (let i = 0; i < 40; i++) {
    store.backend.transact((tx) => {
      const w = store.write(tx);
      const k = `key-${i % 7}`;
      if (i % 5 === 4) w.deleteRange(s(k), undefined);
      else w.put(s(k), s(`value-${i}`), BigInt(i % 3));
      if (i % 9 === 0) {
        w.put(s(`multi-${i}`), s('a'));
        w.put(s(`multi-${i}`), s('b'));
      }
      w.end();
      store.setConsistentIndex(tx, ++ci);
    });
  }
  txn(store, (w) => w.deleteRange(s('multi-'), s('multi.')));
}

test('reopen on LMDB restores the same store', async () => {
  const dir = tmpDir();
  let be = openLmdbBackend(dir);
  let store = new KVStore(be);
  history(store);
  store.backend.transact((tx) => store.compact(tx, 20));
  txn(store, (w) => w.put(s('after'), s('compaction')));
  const before = observe(store);
  const indexBefore = store.index;
  await be.sync();
  await be.close();

  be = openLmdbBackend(dir);
  store = KVStore.open(be);
  assert.equal(observe(store), before);
  assert.ok(store.index.equals(indexBefore));
  // the restored store keeps working the same way
  txn(store, (w) => w.put(s('key-1'), s('next')));
  const kv = store.read().range(s('key-1'), undefined).kvs[0]!;
  const old = store.read().range(s('key-1'), undefined, { rev: store.currentRev - 1 }).kvs[0];
  assert.is(kv.modRevision, store.currentRev);
  if (old !== undefined) {
    assert.is(kv.version, old.version + 1);
    assert.is(kv.createRevision, old.createRevision);
  }
  await be.close();
});

test('restore after compaction removed the newest revisions keeps currentRev', async () => {
  const dir = tmpDir();
  let be = openLmdbBackend(dir);
  let store = new KVStore(be);
  txn(store, (w) => w.put(s('a'), s('1')));
  txn(store, (w) => w.deleteRange(s('a'), undefined));
  store.backend.transact((tx) => store.compact(tx, 3));
  assert.equal([...be.range('key', Buffer.alloc(0))], []);
  await be.close();
  be = openLmdbBackend(dir);
  store = new KVStore(be);
  assert.is(store.currentRev, 3);
  assert.is(store.compactRev, 3);
  txn(store, (w) => w.put(s('a'), s('2')));
  const kv = store.read().range(s('a'), undefined).kvs[0]!;
  assert.equal([kv.createRevision, kv.modRevision, kv.version], [4, 4, 1]);
  await be.close();
});

test('an interrupted compaction is finished on open', async () => {
  const dir = tmpDir();
  let be = openLmdbBackend(dir);
  let store = new KVStore(be);
  history(store);
  // the reference: the same history compacted normally, in memory of a second directory
  const refBe = openLmdbBackend(tmpDir());
  const ref = new KVStore(refBe);
  history(ref);
  refBe.transact((tx) => ref.compact(tx, 25));
  // a crash after scheduledCompactRev was recorded, before any deletion
  be.transact((tx) => tx.put('meta', s('scheduledCompactRev'), revToBytes({ main: 25, sub: 0 })));
  await be.close();
  be = openLmdbBackend(dir);
  store = new KVStore(be);
  assert.is(store.compactRev, 25);
  assert.is(Buffer.from(be.get('meta', s('finishedCompactRev'))!).toString('hex'), revToBytes({ main: 25, sub: 0 }).toString('hex'));
  assert.equal(observe(store), observe(ref));
  assert.equal(keyBucket(be), keyBucket(refBe));
  await be.close();
  await refBe.close();
});

test('a compaction run in batches, interrupted between batches, is finished on open', async () => {
  const dir = tmpDir();
  let be = openLmdbBackend(dir);
  let store = new KVStore(be, { compactionBatchLimit: 5 });
  history(store);
  const refBe = openLmdbBackend(tmpDir());
  const ref = new KVStore(refBe);
  history(ref);
  refBe.transact((tx) => ref.compact(tx, 30));

  be.transact((tx) => store.scheduleCompaction(tx, 30));
  assert.is(store.pendingCompaction, 30);
  assert.is(store.compactRev, 30);
  // reads already follow the compaction
  assert.equal(observe(store), observe(ref));
  assert.not.ok(store.compactionStep());
  assert.not.ok(store.compactionStep());
  assert.is(be.get('meta', s('finishedCompactRev')), undefined);
  await be.close();

  be = openLmdbBackend(dir);
  store = new KVStore(be);
  assert.is(store.pendingCompaction, undefined);
  assert.equal(observe(store), observe(ref));
  assert.equal(keyBucket(be), keyBucket(refBe));
  await be.close();
  await refBe.close();
});

test('an interrupted compaction that removed the newest records keeps the revision', async () => {
  const dir = tmpDir();
  let be = openLmdbBackend(dir);
  let store = new KVStore(be, { compactionBatchLimit: 1 });
  txn(store, (w) => w.put(s('a'), s('1')));
  txn(store, (w) => w.deleteRange(s('a'), undefined));
  be.transact((tx) => store.scheduleCompaction(tx, 3));
  store.compactionStep();
  store.compactionStep();
  assert.equal([...be.range('key', Buffer.alloc(0))], []);
  assert.is(store.pendingCompaction, 3);
  await be.close();
  be = openLmdbBackend(dir);
  store = new KVStore(be);
  assert.is(store.currentRev, 3);
  assert.is(store.compactRev, 3);
  txn(store, (w) => w.put(s('a'), s('2')));
  assert.is(store.read().range(s('a'), undefined).kvs[0]!.modRevision, 4);
  await be.close();
});

test.after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test.run();
