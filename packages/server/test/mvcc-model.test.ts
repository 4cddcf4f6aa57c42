import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import { KVStore } from '../src/mvcc/kv-store.js';
import { ErrCompacted, ErrFutureRev } from '../src/mvcc/mvcc-error.js';

/**
 * A reference model of the store: the full key space at every revision, as
 * plain maps, with etcd's rules written out directly.
 */
interface MKV {
  value: string;
  c: number;
  m: number;
  v: number;
  lease: bigint;
}
type Space = Map<string, MKV>;

class Model {
  /** states[r] is the key space at revision r (states[1] is empty). */
  states: Space[] = [new Map(), new Map()];
  /** records[r] is the number of key-bucket records written at revision r. */
  records: number[] = [0, 0];
  compactRev = -1;

  get rev(): number {
    return this.states.length - 1;
  }

  txn(ops: Op[]): void {
    const rev = this.rev + 1;
    const next: Space = new Map(this.states[this.rev]!);
    let changes = 0;
    for (const op of ops) {
      if (op.kind === 'put') {
        const prev = next.get(op.key);
        next.set(op.key, { value: op.value, c: prev ? prev.c : rev, m: rev, v: prev ? prev.v + 1 : 1, lease: op.lease });
        changes++;
      } else if (op.kind === 'del') {
        for (const k of [...next.keys()].filter((k) => inRange(k, op.key, op.end))) {
          next.delete(k);
          changes++;
        }
      }
    }
    if (changes > 0) {
      this.states.push(next);
      this.records.push(changes);
    }
  }

  /** Records the key bucket must hold after compaction at compactRev. */
  expectedRecords(): number {
    let n = 0;
    for (let r = Math.max(this.compactRev + 1, 0); r <= this.rev; r++) n += this.records[r] ?? 0;
    if (this.compactRev > 0) n += this.states[this.compactRev]!.size;
    else n = this.records.reduce((a, b) => a + b, 0);
    return n;
  }
}

function inRange(k: string, key: string, end: string | undefined): boolean {
  if (end === undefined) return k === key;
  if (end === '\0') return k >= key;
  return k >= key && k < end;
}

type Op =
  | { kind: 'put'; key: string; value: string; lease: bigint }
  | { kind: 'del'; key: string; end: string | undefined };

type Step =
  | { kind: 'txn'; ops: Op[] }
  | { kind: 'read'; key: string; end: string | undefined; revBack: number; limit: number; countOnly: boolean }
  | { kind: 'readFuture'; ahead: number }
  | { kind: 'compact'; revBack: number; deferred: boolean }
  | { kind: 'compactionStep' }
  | { kind: 'reopen' };

const KEYS = ['a', 'ab', 'abc', 'b', 'ba', 'c', '\x00', '\x7f', '\x80', '\xff', '\xff\xff'];
const keyArb = fc.constantFrom(...KEYS);
const endArb = fc.oneof(fc.constant(undefined), fc.constant('\0'), keyArb);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.string({ maxLength: 6 }), lease: fc.constantFrom(0n, 1n, 2n) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb, end: endArb }) },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('txn' as const), ops: fc.array(opArb, { minLength: 0, maxLength: 4 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      key: keyArb,
      end: endArb,
      revBack: fc.nat({ max: 30 }),
      limit: fc.nat({ max: 4 }),
      countOnly: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('readFuture' as const), ahead: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), revBack: fc.nat({ max: 12 }), deferred: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compactionStep' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

const latin1 = (k: string): Buffer => Buffer.from(k, 'latin1');

function expectRange(model: Model, key: string, end: string | undefined, rev: number, limit: number) {
  const space = model.states[rev]!;
  const keys = [...space.keys()].filter((k) => inRange(k, key, end)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const shown = limit > 0 ? keys.slice(0, limit) : keys;
  return {
    count: keys.length,
    kvs: shown.map((k) => {
      const kv = space.get(k)!;
      return [k, kv.value, kv.c, kv.m, kv.v, kv.lease];
    }),
  };
}

function run(steps: Step[], makeBackend: () => Backend): void {
  const be = makeBackend();
  let store = new KVStore(be, { compactionBatchLimit: 3 });
  const model = new Model();
  try {
    for (const step of steps) {
      switch (step.kind) {
        case 'txn': {
          const changes = be.transact((tx) => {
            const w = store.write(tx);
            for (const op of step.ops) {
              if (op.kind === 'put') w.put(latin1(op.key), Buffer.from(op.value), op.lease);
              else w.deleteRange(latin1(op.key), op.end === undefined ? undefined : latin1(op.end));
            }
            const n = w.changes().length;
            w.end();
            return n;
          });
          const before = model.rev;
          model.txn(step.ops);
          assert.is(store.currentRev, model.rev);
          assert.is(changes > 0, model.rev > before);
          break;
        }
        case 'read': {
          const rev = model.rev - step.revBack;
          const opts = { rev, limit: step.limit, countOnly: step.countOnly };
          const end = step.end === undefined ? undefined : latin1(step.end);
          if (rev < 1) {
            // rev <= 0 reads at the current revision
            if (model.compactRev > model.rev) throw new Error('unreachable');
            const r = store.read().range(latin1(step.key), end, opts);
            const want = expectRange(model, step.key, step.end, model.rev, step.limit);
            assert.is(r.count, want.count);
            break;
          }
          if (rev < model.compactRev) {
            assert.throws(() => store.read().range(latin1(step.key), end, opts), (e: unknown) => e instanceof ErrCompacted);
            break;
          }
          const r = store.read().range(latin1(step.key), end, opts);
          const want = expectRange(model, step.key, step.end, rev, step.limit);
          assert.is(r.rev, model.rev);
          assert.is(r.count, want.count);
          if (step.countOnly) assert.is(r.kvs.length, 0);
          else
            assert.equal(
              r.kvs.map((kv) => [kv.key.toString('latin1'), kv.value.toString(), kv.createRevision, kv.modRevision, kv.version, kv.lease]),
              want.kvs,
            );
          break;
        }
        case 'readFuture': {
          assert.throws(
            () => store.read().range(latin1('a'), undefined, { rev: model.rev + step.ahead }),
            (e: unknown) => e instanceof ErrFutureRev,
          );
          break;
        }
        case 'compact': {
          const rev = model.rev - step.revBack;
          if (rev <= model.compactRev) {
            assert.throws(() => be.transact((tx) => store.compact(tx, rev)), (e: unknown) => e instanceof ErrCompacted);
          } else if (step.deferred) {
            be.transact((tx) => store.scheduleCompaction(tx, rev));
            model.compactRev = rev;
            assert.is(store.compactRev, rev);
          } else {
            be.transact((tx) => store.compact(tx, rev));
            model.compactRev = rev;
            assert.is(store.compactRev, rev);
            assert.is([...be.range('key', Buffer.alloc(0))].length, model.expectedRecords());
          }
          break;
        }
        case 'compactionStep': {
          if (store.compactionStep()) {
            assert.is(store.pendingCompaction, undefined);
            assert.is([...be.range('key', Buffer.alloc(0))].length, model.expectedRecords());
          }
          break;
        }
        case 'reopen': {
          const hash = store.hashByRev(0);
          const index = store.index;
          store = new KVStore(be, { compactionBatchLimit: 3 });
          assert.is(store.pendingCompaction, undefined);
          assert.is([...be.range('key', Buffer.alloc(0))].length, model.expectedRecords());
          assert.is(store.currentRev, model.rev);
          assert.is(store.compactRev, model.compactRev);
          assert.equal(store.hashByRev(0), hash);
          assert.ok(store.index.equals(index));
          break;
        }
      }
    }
    // every readable revision matches at the end
    for (let rev = Math.max(1, model.compactRev); rev <= model.rev; rev++) {
      const r = store.read().range(Buffer.alloc(0), Buffer.from([0]), { rev });
      assert.equal(
        r.kvs.map((kv) => [kv.key.toString('latin1'), kv.value.toString(), kv.createRevision, kv.modRevision, kv.version, kv.lease]),
        expectRange(model, '', '\0', rev, 0).kvs,
      );
    }
  } finally {
    void be.close();
  }
}

test('KVStore matches the reference model (memory backend)', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => run(steps, () => new MemoryBackend())),
    { numRuns: 300 },
  );
});

test('KVStore matches the reference model (LMDB backend)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-model-'));
  let n = 0;
  try {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => run(steps, () => openLmdbBackend(path.join(root, String(n++))))),
      { numRuns: 40 },
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test.run();
