import { crc32c } from '@node-rs/crc32';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import { hashBackend } from '../src/mvcc/hash.js';
import type { TxnWrite } from '../src/mvcc/kv-store.js';
import { KVStore } from '../src/mvcc/kv-store.js';
import { ErrCompacted, ErrFutureRev } from '../src/mvcc/mvcc-error.js';

const s = (x: string): Buffer => Buffer.from(x);

function txn(store: KVStore, fn: (w: TxnWrite) => void): void {
  store.backend.transact((tx) => {
    const w = store.write(tx);
    fn(w);
    w.end();
  });
}

function filled(): KVStore {
  const store = new KVStore(new MemoryBackend());
  txn(store, (w) => w.put(s('a'), s('1')));
  txn(store, (w) => w.put(s('b'), s('1')));
  txn(store, (w) => w.put(s('a'), s('2')));
  txn(store, (w) => w.deleteRange(s('b'), undefined));
  txn(store, (w) => w.put(s('c'), s('1')));
  return store;
}

test('hashByRev covers "key" and every record up to rev, in key order', () => {
  const store = filled();
  for (let rev = 1; rev <= store.currentRev; rev++) {
    let h = crc32c(s('key'));
    for (const [k, v] of store.backend.range('key', Buffer.alloc(0))) {
      if (Buffer.from(k).readUInt32BE(4) > rev) continue;
      h = crc32c(Buffer.from(k), h);
      h = crc32c(Buffer.from(v), h);
    }
    assert.equal(store.hashByRev(rev), { hash: h >>> 0, currentRev: 6, compactRev: -1 });
  }
  assert.equal(store.hashByRev(0), store.hashByRev(6));
});

test('hashByRev errors: at or below the compacted revision, above the current one', () => {
  const store = filled();
  store.backend.transact((tx) => store.compact(tx, 4));
  assert.throws(() => store.hashByRev(4), (e: unknown) => e instanceof ErrCompacted && e.compactRev === 4);
  assert.throws(() => store.hashByRev(2), (e: unknown) => e instanceof ErrCompacted);
  assert.throws(() => store.hashByRev(7), (e: unknown) => e instanceof ErrFutureRev && e.currentRev === 6);
  assert.is(store.hashByRev(5).compactRev, 4);
});

test('after compaction, records at or below compactRev count only if a compaction at rev keeps them', () => {
  const store = filled();
  const before = store.hashByRev(6).hash;
  store.backend.transact((tx) => store.compact(tx, 3));
  const after = store.hashByRev(6).hash;
  // a@2 and b@3 survive compaction at 3 but are superseded at 6: no longer hashed
  assert.is.not(after, before);
  let h = crc32c(s('key'));
  for (const [k, v] of store.backend.range('key', Buffer.alloc(0))) {
    if (Buffer.from(k).readUInt32BE(4) <= 3) continue;
    h = crc32c(Buffer.from(v), crc32c(Buffer.from(k), h));
  }
  assert.is(after, h >>> 0);
  const twin = filled();
  twin.backend.transact((tx) => twin.compact(tx, 3));
  assert.is(twin.hashByRev(6).hash, after);
});

test('hashBackend ignores consistent_index and nothing else', () => {
  const store = filled();
  const h0 = hashBackend(store.backend);
  store.backend.transact((tx) => store.setConsistentIndex(tx, 99));
  assert.is(hashBackend(store.backend), h0);
  store.backend.transact((tx) => tx.put('lease', s('x'), s('y')));
  const h1 = hashBackend(store.backend);
  assert.is.not(h1, h0);
  store.backend.transact((tx) => tx.put('meta', s('other'), s('1')));
  assert.is.not(hashBackend(store.backend), h1);
});

test.run();
