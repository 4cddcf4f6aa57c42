import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EntryType, emptyHardState, type Entry, type HardState } from '../src/raft/types.js';
import { Wal, type WalOptions } from '../src/wal/index.js';

/**
 * Model-based check: random saves (including overwrites of a conflicting suffix),
 * concurrent bursts, snapshot markers, releases and reopens against tiny segments;
 * after every reopen the wal must equal a plain array model of the raft log.
 */

const roots: string[] = [];
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

interface SaveSpec {
  readonly startRaw: number;
  readonly count: number;
  readonly dataLen: number;
  readonly withHardState: boolean;
  readonly newTerm: boolean;
}
type Op =
  | { readonly kind: 'save'; readonly spec: SaveSpec }
  | { readonly kind: 'burst'; readonly specs: readonly SaveSpec[] }
  | { readonly kind: 'snapshot'; readonly back: number; readonly release: boolean }
  | { readonly kind: 'reopen' };

const saveSpec = fc.record({
  startRaw: fc.nat({ max: 1000 }),
  count: fc.integer({ min: 0, max: 4 }),
  dataLen: fc.integer({ min: 0, max: 120 }),
  withHardState: fc.boolean(),
  newTerm: fc.boolean(),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: saveSpec.map((spec) => ({ kind: 'save' as const, spec })) },
  { weight: 2, arbitrary: fc.array(saveSpec, { minLength: 1, maxLength: 12 }).map((specs) => ({ kind: 'burst' as const, specs })) },
  { weight: 1, arbitrary: fc.record({ back: fc.nat({ max: 5 }), release: fc.boolean() }).map((o) => ({ kind: 'snapshot' as const, ...o })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

class Model {
  log: Entry[] = []; // log[i].index === i + 1
  hardState: HardState = emptyHardState;
  snapshot = { index: 0, term: 0 };
  lastIndex = 0;
  term = 1;
  counter = 0;

  /** Applies a save spec to the model and returns the arguments to pass to save(). */
  plan(spec: SaveSpec): { hs: HardState | undefined; entries: Entry[] } {
    if (spec.newTerm) this.term++;
    const n = this.log.length;
    const s = this.snapshot.index;
    const start = s + 1 + (spec.startRaw % (n - s + 1));
    const entries: Entry[] = [];
    for (let k = 0; k < spec.count; k++) {
      const data = new Uint8Array(spec.dataLen);
      for (let j = 0; j < data.length; j++) data[j] = (this.counter * 31 + j * 7) & 0xff;
      this.counter++;
      entries.push({ index: start + k, term: this.term, type: (this.counter % 3) as EntryType, data });
    }
    if (entries.length > 0) {
      this.log.length = start - 1;
      this.log.push(...entries);
      this.lastIndex = start + entries.length - 1;
    }
    let hs: HardState | undefined;
    if (spec.withHardState) {
      hs = { term: this.term, vote: BigInt(this.counter) * 0x1_0000_0001n, commit: Math.max(this.snapshot.index, this.log.length - 2, 0) };
      this.hardState = hs;
    }
    return { hs, entries };
  }
}

test('reopened wal equals the model after random saves, overwrites, snapshots and releases', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 200, max: 3000 }), fc.array(op, { minLength: 1, maxLength: 30 }), async (segmentBytes, ops) => {
      const root = mkdtempSync(path.join(tmpdir(), 'wal-prop-'));
      roots.push(root);
      const dir = path.join(root, 'wal');
      const options: WalOptions = { segmentBytes, unsafeNoFsync: true };
      const model = new Model();
      let wal = await Wal.create(dir, new Uint8Array([9, 9]), options);
      const check = async (): Promise<void> => {
        await wal.close();
        const r = await Wal.open(dir, model.snapshot, options);
        wal = r.wal;
        assert.equal(r.entries, model.log.slice(model.snapshot.index));
        assert.equal(r.hardState, model.hardState);
        assert.equal(r.metadata, new Uint8Array([9, 9]));
        assert.is(r.repaired, undefined);
        assert.is(wal.lastIndex, model.lastIndex);
      };
      try {
        for (const o of ops) {
          if (o.kind === 'save') {
            const { hs, entries } = model.plan(o.spec);
            await wal.save(hs, entries);
          } else if (o.kind === 'burst') {
            const saves = o.specs.map((spec) => {
              const { hs, entries } = model.plan(spec);
              return wal.save(hs, entries);
            });
            await Promise.all(saves);
          } else if (o.kind === 'snapshot') {
            // Snapshot a prefix of the log at or after the previous snapshot.
            const index = Math.max(model.snapshot.index, model.log.length - o.back);
            const term = index === 0 ? 0 : (model.log[index - 1] as Entry).term;
            await wal.saveSnapshot({ index, term });
            model.snapshot = { index, term };
            if (index > model.lastIndex) model.lastIndex = index;
            if (o.release) await wal.releaseTo(index);
          } else {
            await check();
          }
          assert.is(wal.lastIndex, model.lastIndex);
        }
        await check();
      } finally {
        await wal.close();
        rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: 150 },
  );
});

test.run();
