import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyIndex } from '../src/mvcc/key-index.js';
import { RevisionSet } from '../src/mvcc/revision.js';

/**
 * The packed KeyIndex against a direct object-graph rendering of etcd's
 * keyIndex rules (generations of revision objects), over random operation
 * sequences.
 */
interface R {
  main: number;
  sub: number;
}
interface G {
  ver: number;
  created: R;
  revs: R[];
}
const gt = (a: R, b: R): boolean => a.main > b.main || (a.main === b.main && a.sub > b.sub);

class RefKeyIndex {
  modified: R = { main: 0, sub: 0 };
  gens: G[] = [];

  put(main: number, sub: number): void {
    const rev = { main, sub };
    if (!gt(rev, this.modified)) throw new Error('smaller revision');
    if (this.gens.length === 0) this.gens.push({ ver: 0, created: { main: 0, sub: 0 }, revs: [] });
    const g = this.gens[this.gens.length - 1]!;
    if (g.revs.length === 0) g.created = rev;
    g.revs.push(rev);
    g.ver++;
    this.modified = rev;
  }
  isEmpty(): boolean {
    return this.gens.length === 1 && this.gens[0]!.revs.length === 0;
  }
  tombstone(main: number, sub: number): boolean {
    if (this.gens[this.gens.length - 1]!.revs.length === 0) return false;
    this.put(main, sub);
    this.gens.push({ ver: 0, created: { main: 0, sub: 0 }, revs: [] });
    return true;
  }
  findGen(rev: number): G | undefined {
    const last = this.gens.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.gens[i]!;
      if (g.revs.length === 0) continue;
      if (i !== last && g.revs[g.revs.length - 1]!.main <= rev) return undefined;
      if (g.revs[0]!.main <= rev) return g;
    }
    return undefined;
  }
  get(at: number): [R, R, number] | undefined {
    const g = this.findGen(at);
    if (!g) return undefined;
    for (let i = g.revs.length - 1; i >= 0; i--) {
      if (g.revs[i]!.main <= at) return [g.revs[i]!, g.created, g.ver - (g.revs.length - i - 1)];
    }
    return undefined;
  }
  since(rev: number): R[] {
    let gi = this.gens.length - 1;
    for (; gi > 0; gi--) {
      const g = this.gens[gi]!;
      if (g.revs.length === 0) continue;
      if (gt({ main: rev, sub: 0 }, g.created)) break;
    }
    const out: R[] = [];
    let last = 0;
    for (; gi < this.gens.length; gi++) {
      for (const r of this.gens[gi]!.revs) {
        if (gt({ main: rev, sub: 0 }, r)) continue;
        if (r.main === last) out[out.length - 1] = r;
        else {
          out.push(r);
          last = r.main;
        }
      }
    }
    return out;
  }
  doCompact(at: number, avail: Set<string>): [number, number] {
    let gi = 0;
    while (gi < this.gens.length - 1) {
      const g = this.gens[gi]!;
      if (g.revs[g.revs.length - 1]!.main > at) break;
      gi++;
    }
    const g = this.gens[gi]!;
    for (let i = g.revs.length - 1; i >= 0; i--) {
      if (g.revs[i]!.main <= at) {
        avail.add(`${g.revs[i]!.main}.${g.revs[i]!.sub}`);
        return [gi, i];
      }
    }
    return [gi, -1];
  }
  compact(at: number, avail: Set<string>): void {
    let [gi, ri] = this.doCompact(at, avail);
    const g = this.gens[gi]!;
    if (g.revs.length > 0) {
      if (ri !== -1) g.revs = g.revs.slice(ri);
      if (g.revs.length === 1 && gi !== this.gens.length - 1) {
        avail.delete(`${g.revs[0]!.main}.${g.revs[0]!.sub}`);
        gi++;
      }
    }
    this.gens = this.gens.slice(gi);
  }
  keep(at: number, avail: Set<string>): void {
    if (this.isEmpty()) return;
    const [gi, ri] = this.doCompact(at, avail);
    const g = this.gens[gi]!;
    if (g.revs.length > 0 && ri === g.revs.length - 1 && gi !== this.gens.length - 1) {
      avail.delete(`${g.revs[ri]!.main}.${g.revs[ri]!.sub}`);
    }
  }
}

type Op =
  | { k: 'put'; gap: number; sub: number }
  | { k: 'tomb'; gap: number }
  | { k: 'compact'; back: number }
  | { k: 'read'; back: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('put' as const), gap: fc.integer({ min: 0, max: 2 }), sub: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tomb' as const), gap: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('compact' as const), back: fc.nat({ max: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('read' as const), back: fc.nat({ max: 12 }) }) },
);

const str = (s: Iterable<{ main: number; sub: number }>): string[] => [...s].map((r) => `${r.main}.${r.sub}`).sort();

test('packed KeyIndex equals the object-graph reference', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const ki = new KeyIndex('k');
      const ref = new RefKeyIndex();
      let main = 1;
      let sub = 0;
      let started = false;
      for (const op of ops) {
        if (started && ref.isEmpty()) break; // removed from the index in the store
        if (op.k === 'put') {
          if (op.gap > 0) {
            main += op.gap;
            sub = 0;
          } else sub++;
          sub += op.sub;
          ki.put(main, sub);
          ref.put(main, sub);
          started = true;
        } else if (op.k === 'tomb') {
          if (!started) continue;
          main += op.gap;
          sub = 0;
          const ok = ref.tombstone(main, sub);
          if (ok) ki.tombstone(main, sub);
          else assert.throws(() => ki.tombstone(main, sub));
        } else if (op.k === 'compact') {
          if (!started) continue;
          const at = main - op.back;
          const predicted = new RevisionSet();
          ki.keep(at, predicted);
          const a = new Set<string>();
          ref.keep(at, a);
          assert.equal(str(predicted), [...a].sort());
          const got = new RevisionSet();
          const want = new Set<string>();
          ki.compact(at, got);
          ref.compact(at, want);
          assert.equal(str(got), [...want].sort());
        } else {
          if (!started) continue;
          const at = main - op.back;
          const g = ki.get(at);
          const w = ref.get(at);
          assert.equal(g === undefined ? undefined : [g.modified, g.created, g.ver], w);
          assert.is(ki.existsAt(at), w !== undefined);
          assert.equal(ki.modifiedAt(at), w?.[0]);
          assert.equal(ki.since(at), ref.since(at));
        }
        if (!started) continue;
        assert.equal(ki.generations.map((g) => ({ ver: g.ver, revs: g.revs })), ref.gens.map((g) => ({ ver: g.ver, revs: g.revs })));
        assert.equal(ki.modified, ref.modified);
        assert.is(ki.isEmpty(), ref.isEmpty());
        assert.is(ki.lastGenerationEmpty(), ref.gens[ref.gens.length - 1]!.revs.length === 0);
      }
    }),
    { numRuns: 2000 },
  );
});

test.run();
