import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import { decodeKeyValue } from '../src/mvcc/key-value-codec.js';
import type { KeyValue } from '../src/mvcc/key-value-codec.js';
import type { TxnWrite } from '../src/mvcc/kv-store.js';
import { KVStore } from '../src/mvcc/kv-store.js';
import type { LeaseAttachments } from '../src/mvcc/lease-attachments.js';
import { ErrCompacted, ErrFutureRev, ErrTxnState } from '../src/mvcc/mvcc-error.js';
import { isTombstoneKey, bytesToRev, revToBytes } from '../src/mvcc/revision.js';

const s = (x: string): Buffer => Buffer.from(x);
const ALL = Buffer.from([0]);

function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return ALL;
}

function txn<T>(store: KVStore, fn: (w: TxnWrite) => T): T {
  return store.backend.transact((tx) => {
    const w = store.write(tx);
    const r = fn(w);
    w.end();
    return r;
  });
}

interface Row {
  key: string;
  value: string;
  c: number;
  m: number;
  v: number;
  lease?: bigint;
}
const row = (kv: KeyValue): Row => {
  const out: Row = { key: kv.key.toString(), value: kv.value.toString(), c: kv.createRevision, m: kv.modRevision, v: kv.version };
  if (kv.lease !== 0n) out.lease = kv.lease;
  return out;
};
const get = (store: KVStore, key: string, rev = 0): Row[] => store.read().range(s(key), undefined, { rev }).kvs.map(row);

const dirs: string[] = [];
const backends: [string, () => Backend][] = [
  ['memory', () => new MemoryBackend()],
  [
    'lmdb',
    () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-mvcc-'));
      dirs.push(d);
      return openLmdbBackend(d);
    },
  ],
];

for (const [name, make] of backends) {
  const t = (title: string, fn: (store: KVStore) => void | Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const be = make();
      try {
        await fn(new KVStore(be));
      } finally {
        await be.close();
      }
    });
  };

  t('empty store is at revision 1; first write is revision 2', (store) => {
    assert.is(store.currentRev, 1);
    assert.is(store.compactRev, -1);
    assert.equal(store.read().range(s('a'), ALL), { kvs: [], count: 0, rev: 1 });
    const rev = txn(store, (w) => w.put(s('foo'), s('bar'), 0n));
    assert.is(rev, 2);
    assert.is(store.currentRev, 2);
    assert.equal(get(store, 'foo'), [{ key: 'foo', value: 'bar', c: 2, m: 2, v: 1 }]);
  });

  t('put / overwrite / delete / recreate: revisions and versions', (store) => {
    const steps: [string, () => void, Row[], number][] = [
      ['put', () => void txn(store, (w) => w.put(s('k'), s('v1'))), [{ key: 'k', value: 'v1', c: 2, m: 2, v: 1 }], 2],
      ['overwrite', () => void txn(store, (w) => w.put(s('k'), s('v2'))), [{ key: 'k', value: 'v2', c: 2, m: 3, v: 2 }], 3],
      ['overwrite', () => void txn(store, (w) => w.put(s('k'), s('v3'))), [{ key: 'k', value: 'v3', c: 2, m: 4, v: 3 }], 4],
      ['delete', () => void txn(store, (w) => w.deleteRange(s('k'), undefined)), [], 5],
      ['recreate', () => void txn(store, (w) => w.put(s('k'), s('v4'))), [{ key: 'k', value: 'v4', c: 6, m: 6, v: 1 }], 6],
      ['overwrite', () => void txn(store, (w) => w.put(s('k'), s('v5'))), [{ key: 'k', value: 'v5', c: 6, m: 7, v: 2 }], 7],
    ];
    for (const [what, op, want, rev] of steps) {
      op();
      assert.equal(get(store, 'k'), want, what);
      assert.is(store.currentRev, rev, what);
    }
    // history
    const history: [number, Row[]][] = [
      [1, []],
      [2, [{ key: 'k', value: 'v1', c: 2, m: 2, v: 1 }]],
      [3, [{ key: 'k', value: 'v2', c: 2, m: 3, v: 2 }]],
      [4, [{ key: 'k', value: 'v3', c: 2, m: 4, v: 3 }]],
      [5, []],
      [6, [{ key: 'k', value: 'v4', c: 6, m: 6, v: 1 }]],
      [7, [{ key: 'k', value: 'v5', c: 6, m: 7, v: 2 }]],
    ];
    for (const [rev, want] of history) assert.equal(get(store, 'k', rev), want, `at ${rev}`);
  });

  t('one write transaction: one main revision, increasing subs, own writes visible', (store) => {
    txn(store, (w) => w.put(s('a'), s('0')));
    const seen = txn(store, (w) => {
      assert.is(w.rev, 2);
      assert.equal(w.range(s('a'), undefined).kvs.map(row), [{ key: 'a', value: '0', c: 2, m: 2, v: 1 }]);
      assert.is(w.put(s('a'), s('1')), 3);
      assert.is(w.put(s('b'), s('1')), 3);
      const r = w.range(s('a'), ALL);
      assert.is(r.rev, 3);
      assert.equal(r.kvs.map(row), [
        { key: 'a', value: '1', c: 2, m: 3, v: 2 },
        { key: 'b', value: '1', c: 3, m: 3, v: 1 },
      ]);
      assert.equal(w.deleteRange(s('b'), undefined), { deleted: 1, rev: 3 });
      assert.equal(w.range(s('b'), undefined).kvs, []);
      assert.is(w.put(s('b'), s('again')), 3);
      return w.changes().map((kv) => [kv.key.toString(), kv.modRevision, kv.createRevision, kv.version]);
    });
    assert.equal(seen, [
      ['a', 3, 2, 2],
      ['b', 3, 3, 1],
      ['b', 3, 0, 0],
      ['b', 3, 3, 1],
    ]);
    assert.is(store.currentRev, 3);
    const keys = [...store.backend.range('key', Buffer.alloc(0))].map(([k]) => {
      const r = bytesToRev(k);
      return `${r.main}.${r.sub}${isTombstoneKey(k) ? 't' : ''}`;
    });
    assert.equal(keys, ['2.0', '3.0', '3.1', '3.2t', '3.3']);
    assert.equal(get(store, 'b'), [{ key: 'b', value: 'again', c: 3, m: 3, v: 1 }]);
  });

  t('a transaction without changes does not advance the revision', (store) => {
    txn(store, (w) => w.put(s('a'), s('0')));
    const res = txn(store, (w) => {
      w.range(s('a'), undefined);
      return w.deleteRange(s('missing'), undefined);
    });
    assert.equal(res, { deleted: 0, rev: 2 });
    assert.is(store.currentRev, 2);
    assert.is(txn(store, (w) => w.put(s('x'), s('y'))), 3);
  });

  t('deleteRange over a range deletes the live keys only', (store) => {
    txn(store, (w) => {
      for (const k of ['a', 'b', 'c', 'd']) w.put(s(k), s(k));
    });
    txn(store, (w) => w.deleteRange(s('c'), undefined));
    assert.equal(
      txn(store, (w) => w.deleteRange(s('a'), s('d'))),
      { deleted: 2, rev: 4 },
    );
    assert.equal(store.read().range(s('a'), ALL).kvs.map((kv) => kv.key.toString()), ['d']);
    assert.equal(txn(store, (w) => w.deleteRange(s(''), ALL)), { deleted: 1, rev: 5 });
    assert.equal(store.read().range(s(''), ALL).count, 0);
  });

  t('range conventions: single key, [key,end), from-key, prefix, limit, count', (store) => {
    txn(store, (w) => {
      for (const k of ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c']) w.put(s(k), s(`v-${k}`));
    });
    const keys = (key: string, end: Buffer | undefined, opts = {}): string[] =>
      store.read().range(s(key), end, opts).kvs.map((kv) => kv.key.toString());
    assert.equal(keys('ab', undefined), ['ab']);
    assert.equal(keys('ab', Buffer.alloc(0)), ['ab']);
    assert.equal(keys('zz', undefined), []);
    assert.equal(keys('ab', s('b')), ['ab', 'abc', 'abd']);
    assert.equal(keys('ab', prefixEnd(s('ab'))), ['ab', 'abc', 'abd']);
    assert.equal(keys('b', ALL), ['b', 'ba', 'c']);
    assert.equal(keys('', ALL), ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'c']);
    assert.equal(keys('b', s('a')), []);
    const r = store.read().range(s('a'), ALL, { limit: 2 });
    assert.equal(r.kvs.map((kv) => kv.key.toString()), ['a', 'ab']);
    assert.is(r.count, 7);
    assert.is(r.rev, 2);
    assert.equal(store.read().range(s('a'), ALL, { countOnly: true }), { kvs: [], count: 7, rev: 2 });
    assert.equal(store.read().range(s('ab'), prefixEnd(s('ab')), { countOnly: true, limit: 1 }).count, 3);
    assert.equal(store.read().range(s('a'), ALL, { limit: 100 }).kvs.length, 7);
    const raw = store.read().rangeRaw(s('ab'), s('b'), { limit: 2 });
    assert.is(raw.count, 3);
    assert.equal(raw.kvs.map((b) => row(decodeKeyValue(b))), [
      { key: 'ab', value: 'v-ab', c: 2, m: 2, v: 1 },
      { key: 'abc', value: 'v-abc', c: 2, m: 2, v: 1 },
    ]);
  });

  t('binary keys order as unsigned bytes', (store) => {
    const ks = [[0xff], [0x00, 0x01], [0x80], [0x7f], [0xc3, 0xa9], [0x01, 0xff]].map((b) => Buffer.from(b));
    txn(store, (w) => {
      for (const k of ks) w.put(k, k);
    });
    const got = store.read().range(Buffer.from([0x00]), ALL).kvs.map((kv) => kv.key.toString('hex'));
    assert.equal(got, ks.map((k) => k.toString('hex')).sort());
    for (const kv of store.read().range(Buffer.from([0x00]), ALL).kvs) assert.ok(kv.key.equals(kv.value));
  });

  t('future and compacted revisions', (store) => {
    for (let i = 0; i < 5; i++) txn(store, (w) => w.put(s('k'), s(`${i}`)));
    assert.is(store.currentRev, 6);
    assert.throws(() => store.read().range(s('k'), undefined, { rev: 7 }), (e: unknown) => e instanceof ErrFutureRev && e.currentRev === 6);
    assert.equal(get(store, 'k', 0)[0]!.value, '4');
    assert.equal(get(store, 'k', -3)[0]!.value, '4');
    store.backend.transact((tx) => store.compact(tx, 4));
    assert.is(store.compactRev, 4);
    assert.throws(() => store.read().range(s('k'), undefined, { rev: 3 }), (e: unknown) => e instanceof ErrCompacted && e.compactRev === 4);
    // reading at the compacted revision itself is allowed
    assert.equal(get(store, 'k', 4), [{ key: 'k', value: '2', c: 2, m: 4, v: 3 }]);
    assert.equal(get(store, 'k', 5)[0]!.v, 4);
    assert.throws(() => store.backend.transact((tx) => store.compact(tx, 4)), (e: unknown) => e instanceof ErrCompacted);
    assert.throws(() => store.backend.transact((tx) => store.compact(tx, 3)), (e: unknown) => e instanceof ErrCompacted);
    assert.throws(() => store.backend.transact((tx) => store.compact(tx, 7)), (e: unknown) => e instanceof ErrFutureRev);
    assert.is(store.compactRev, 4);
    store.backend.transact((tx) => store.compact(tx, 6));
    assert.equal(get(store, 'k', 6)[0]!.v, 5);
    // a write transaction's own view honours the same rules
    txn(store, (w) => {
      assert.throws(() => w.range(s('k'), undefined, { rev: 7 }), (e: unknown) => e instanceof ErrFutureRev);
      w.put(s('k'), s('x'));
      assert.is(w.range(s('k'), undefined, { rev: 7 }).kvs[0]!.value.toString(), 'x');
      assert.throws(() => w.range(s('k'), undefined, { rev: 5 }), (e: unknown) => e instanceof ErrCompacted);
    });
  });

  t('compaction keep rules and key-bucket contents', (store) => {
    // rev 2: a=1 b=1 c=1; 3: a=2; 4: del b; 5: c=2 d=1; 6: del c; 7: a=3
    txn(store, (w) => {
      w.put(s('a'), s('1'));
      w.put(s('b'), s('1'));
      w.put(s('c'), s('1'));
    });
    txn(store, (w) => w.put(s('a'), s('2')));
    txn(store, (w) => w.deleteRange(s('b'), undefined));
    txn(store, (w) => {
      w.put(s('c'), s('2'));
      w.put(s('d'), s('1'));
    });
    txn(store, (w) => w.deleteRange(s('c'), undefined));
    txn(store, (w) => w.put(s('a'), s('3')));
    const bucket = (): string[] =>
      [...store.backend.range('key', Buffer.alloc(0))].map(([k]) => {
        const r = bytesToRev(k);
        return `${r.main}.${r.sub}${isTombstoneKey(k) ? 't' : ''}`;
      });
    assert.equal(bucket(), ['2.0', '2.1', '2.2', '3.0', '4.0t', '5.0', '5.1', '6.0t', '7.0']);
    store.backend.transact((tx) => store.compact(tx, 4));
    // a@3 kept; b deleted at 4 -> gone with its tombstone; c@2 kept (alive at 4)
    assert.equal(bucket(), ['2.2', '3.0', '5.0', '5.1', '6.0t', '7.0']);
    assert.equal(store.read().range(s(''), ALL, { rev: 4 }).kvs.map(row), [
      { key: 'a', value: '2', c: 2, m: 3, v: 2 },
      { key: 'c', value: '1', c: 2, m: 2, v: 1 },
    ]);
    store.backend.transact((tx) => store.compact(tx, 6));
    // c deleted at 6: every revision and the tombstone go
    assert.equal(bucket(), ['3.0', '5.1', '7.0']);
    assert.equal(store.read().range(s(''), ALL, { rev: 6 }).kvs.map(row), [
      { key: 'a', value: '2', c: 2, m: 3, v: 2 },
      { key: 'd', value: '1', c: 5, m: 5, v: 1 },
    ]);
    assert.is(store.index.size, 2);
    const meta = (k: string): string => Buffer.from(store.backend.get('meta', s(k))!).toString('hex');
    assert.is(meta('scheduledCompactRev'), revToBytes({ main: 6, sub: 0 }).toString('hex'));
    assert.is(meta('finishedCompactRev'), revToBytes({ main: 6, sub: 0 }).toString('hex'));
    store.backend.transact((tx) => store.compact(tx, 7));
    assert.equal(bucket(), ['5.1', '7.0']);
  });

  t('compaction in many batches', async (store) => {
    const small = new KVStore(store.backend, { compactionBatchLimit: 3 });
    for (let i = 0; i < 20; i++) txn(small, (w) => w.put(s(`k${i % 4}`), s(`${i}`)));
    small.backend.transact((tx) => small.compact(tx, 18));
    assert.is([...small.backend.range('key', Buffer.alloc(0))].length, 4 + 3);
    assert.equal(
      small.read().range(s('k'), ALL, { rev: 18 }).kvs.map((kv) => kv.value.toString()),
      ['16', '13', '14', '15'],
    );
  });

  t('scheduled compaction: index first, deletions in steps', (store) => {
    const small = new KVStore(store.backend, { compactionBatchLimit: 4 });
    for (let i = 0; i < 20; i++) txn(small, (w) => w.put(s(`k${i % 3}`), s(`${i}`)));
    const records = (): number => [...small.backend.range('key', Buffer.alloc(0))].length;
    small.backend.transact((tx) => small.scheduleCompaction(tx, 15));
    assert.is(small.pendingCompaction, 15);
    assert.throws(() => small.read().range(s('k0'), undefined, { rev: 14 }), (e: unknown) => e instanceof ErrCompacted);
    assert.equal(small.read().range(s('k'), ALL, { rev: 15 }).kvs.map((kv) => kv.value.toString()), ['12', '13', '11']);
    assert.is(records(), 20);
    // writes may continue between steps
    txn(small, (w) => w.put(s('k9'), s('x')));
    let steps = 0;
    while (!small.compactionStep()) steps++;
    assert.is(steps, 3);
    assert.is(small.pendingCompaction, undefined);
    assert.is(records(), 3 + 6 + 1);
    // a new compaction while one is pending completes the pending one first
    small.backend.transact((tx) => small.scheduleCompaction(tx, 18));
    small.backend.transact((tx) => small.compact(tx, 20));
    assert.is(small.pendingCompaction, undefined);
    assert.is(records(), 3 + 2);
    assert.is(Buffer.from(small.backend.get('meta', s('finishedCompactRev'))!).readUInt32BE(4), 20);
  });

  t('consistent index is written in the caller transaction', (store) => {
    assert.is(store.consistentIndex(), 0);
    store.backend.transact((tx) => {
      const w = store.write(tx);
      w.put(s('a'), s('1'));
      w.end();
      store.setConsistentIndex(tx, 41);
    });
    assert.is(store.consistentIndex(), 41);
    assert.is(Buffer.from(store.backend.get('meta', s('consistent_index'))!).toString('hex'), '0000000000000029');
    assert.is(new KVStore(store.backend).consistentIndex(), 41);
  });

  t('leases are stored and attachments kept in step', (store) => {
    const attached = new Map<string, bigint>();
    const log: string[] = [];
    const leases: LeaseAttachments = {
      getLease: (k) => attached.get(k) ?? 0n,
      attach: (l, k) => {
        log.push(`attach ${l} ${k}`);
        attached.set(k, l);
      },
      detach: (l, k) => {
        log.push(`detach ${l} ${k}`);
        if (attached.get(k) === l) attached.delete(k);
      },
    };
    const st = new KVStore(store.backend, { leases });
    txn(st, (w) => w.put(s('a'), s('1'), 7n));
    txn(st, (w) => w.put(s('a'), s('2'), 8n));
    txn(st, (w) => w.put(s('b'), s('1'), 0x7fff_ffff_ffff_fff0n));
    txn(st, (w) => w.put(s('c'), s('1'), 9n));
    txn(st, (w) => w.deleteRange(s('c'), undefined));
    assert.equal(log, ['attach 7 a', 'detach 7 a', 'attach 8 a', `attach ${0x7fff_ffff_ffff_fff0n} b`, 'attach 9 c', 'detach 9 c']);
    assert.equal(get(st, 'a')[0]!.lease, 8n);
    assert.equal(get(st, 'b')[0]!.lease, 0x7fff_ffff_ffff_fff0n);
    const restored = new Map<string, bigint>();
    new KVStore(st.backend, {
      leases: { getLease: () => 0n, attach: (l, k) => void restored.set(k, l), detach: () => {} },
    });
    assert.equal([...restored].sort(), [
      ['a', 8n],
      ['b', 0x7fff_ffff_ffff_fff0n],
    ]);
  });

  t('transaction misuse is refused', (store) => {
    store.backend.transact((tx) => {
      const w = store.write(tx);
      assert.throws(() => store.write(tx), (e: unknown) => e instanceof ErrTxnState);
      assert.throws(() => store.compact(tx, 1), (e: unknown) => e instanceof ErrTxnState);
      w.end();
      assert.throws(() => w.put(s('a'), s('b')), (e: unknown) => e instanceof ErrTxnState);
      assert.throws(() => w.end(), (e: unknown) => e instanceof ErrTxnState);
    });
    assert.is(store.currentRev, 1);
  });

  t('events replay the key bucket for watchers', (store) => {
    txn(store, (w) => w.put(s('a'), s('1')));
    txn(store, (w) => {
      w.put(s('b'), s('1'));
      w.deleteRange(s('a'), undefined);
    });
    txn(store, (w) => w.put(s('a'), s('2')));
    const ev = (from: number, to: number, limit = 0): string[] =>
      store.events(from, to, limit).map((e) => `${e.type} ${e.kv.key} ${e.kv.modRevision} ${e.kv.value}`);
    assert.equal(ev(2, 5), ['put a 2 1', 'put b 3 1', 'delete a 3 ', 'put a 4 2']);
    assert.equal(ev(3, 4), ['put b 3 1', 'delete a 3 ']);
    assert.equal(ev(2, 5, 2), ['put a 2 1', 'put b 3 1']);
    assert.equal(ev(5, 9), []);
    store.backend.transact((tx) => store.compact(tx, 3));
    assert.throws(() => store.events(2, 5), (e: unknown) => e instanceof ErrCompacted);
    assert.equal(ev(4, 5), ['put a 4 2']);
  });

  t('reads of an earlier TxnRead keep their revision', (store) => {
    txn(store, (w) => w.put(s('a'), s('1')));
    const r = store.read();
    txn(store, (w) => w.put(s('a'), s('2')));
    txn(store, (w) => w.deleteRange(s('a'), undefined));
    assert.is(r.rev, 2);
    assert.equal(r.range(s('a'), undefined).kvs.map((kv) => kv.value.toString()), ['1']);
    assert.throws(() => r.range(s('a'), undefined, { rev: 3 }), (e: unknown) => e instanceof ErrFutureRev);
  });
}

test('a failed backend transaction commits nothing', async () => {
  const be = new MemoryBackend();
  const store = new KVStore(be);
  txn(store, (w) => w.put(s('a'), s('1')));
  assert.throws(() =>
    be.transact((tx) => {
      tx.put('key', s('junk'), s('x'));
      throw new Error('before any store write');
    }),
  );
  assert.is([...be.range('key', Buffer.alloc(0))].length, 1);
  assert.is(store.currentRev, 2);
  await be.close();
});

test.after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test.run();
