import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyIndex } from '../src/mvcc/key-index.js';
import { ErrRevisionNotFound, MvccInvariantError } from '../src/mvcc/mvcc-error.js';
import { RevisionSet } from '../src/mvcc/revision.js';

/**
 * put 2, put 4, tombstone 6, put 8, put 10, tombstone 12, put 14.0, put 14.1, tombstone 16
 * generations: {2,4,6t} {8,10,12t} {14.0,14.1,16t} {}
 */
function sample(): KeyIndex {
  const ki = new KeyIndex('foo');
  ki.put(2, 0);
  ki.put(4, 0);
  ki.tombstone(6, 0);
  ki.put(8, 0);
  ki.put(10, 0);
  ki.tombstone(12, 0);
  ki.put(14, 0);
  ki.put(14, 1);
  ki.tombstone(16, 0);
  return ki;
}

const revs = (ki: KeyIndex): string[][] => ki.generations.map((g) => g.revs.map((r) => `${r.main}.${r.sub}`));
const set = (s: RevisionSet): string[] => [...s].map((r) => `${r.main}.${r.sub}`).sort();

test('put and tombstone build generations', () => {
  const ki = sample();
  assert.equal(revs(ki), [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]);
  assert.equal(
    ki.generations.map((g) => g.ver),
    [3, 3, 3, 0],
  );
  assert.equal(
    ki.generations.slice(0, 3).map((g) => g.created),
    [
      { main: 2, sub: 0 },
      { main: 8, sub: 0 },
      { main: 14, sub: 0 },
    ],
  );
  assert.equal(ki.modified, { main: 16, sub: 0 });
  assert.not.ok(ki.isEmpty());
});

test('get at every revision', () => {
  const ki = sample();
  const table: [number, [string, string, number] | undefined][] = [
    [0, undefined],
    [1, undefined],
    [2, ['2.0', '2.0', 1]],
    [3, ['2.0', '2.0', 1]],
    [4, ['4.0', '2.0', 2]],
    [5, ['4.0', '2.0', 2]],
    [6, undefined],
    [7, undefined],
    [8, ['8.0', '8.0', 1]],
    [9, ['8.0', '8.0', 1]],
    [10, ['10.0', '8.0', 2]],
    [11, ['10.0', '8.0', 2]],
    [12, undefined],
    [13, undefined],
    [14, ['14.1', '14.0', 2]],
    [15, ['14.1', '14.0', 2]],
    [16, undefined],
    [17, undefined],
  ];
  for (const [at, want] of table) {
    const got = ki.get(at);
    const g = got && ([`${got.modified.main}.${got.modified.sub}`, `${got.created.main}.${got.created.sub}`, got.ver] as const);
    assert.equal(g, want, `get(${at})`);
  }
});

test('since keeps the largest sub of each main revision', () => {
  const ki = sample();
  const since = (r: number): string[] => ki.since(r).map((x) => `${x.main}.${x.sub}`);
  assert.equal(since(0), ['2.0', '4.0', '6.0', '8.0', '10.0', '12.0', '14.1', '16.0']);
  assert.equal(since(1), since(0));
  assert.equal(since(4), ['4.0', '6.0', '8.0', '10.0', '12.0', '14.1', '16.0']);
  assert.equal(since(9), ['10.0', '12.0', '14.1', '16.0']);
  assert.equal(since(14), ['14.1', '16.0']);
  assert.equal(since(16), ['16.0']);
  assert.equal(since(17), []);
});

test('compaction step by step', () => {
  const ki = sample();
  const table: [number, string[], string[][]][] = [
    [1, [], [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [2, ['2.0'], [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [3, ['2.0'], [['2.0', '4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [4, ['4.0'], [['4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [5, ['4.0'], [['4.0', '6.0'], ['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [6, [], [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [7, [], [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [8, ['8.0'], [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [9, ['8.0'], [['8.0', '10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [10, ['10.0'], [['10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [11, ['10.0'], [['10.0', '12.0'], ['14.0', '14.1', '16.0'], []]],
    [12, [], [['14.0', '14.1', '16.0'], []]],
    [13, [], [['14.0', '14.1', '16.0'], []]],
    [14, ['14.1'], [['14.1', '16.0'], []]],
    [15, ['14.1'], [['14.1', '16.0'], []]],
    [16, [], [[]]],
  ];
  for (const [at, keep, gens] of table) {
    // keep() on an uncompacted copy predicts what compact() keeps
    const predicted = new RevisionSet();
    sample().keep(at, predicted);
    assert.equal(set(predicted), keep, `keep(${at})`);
    const fresh = sample();
    const a1 = new RevisionSet();
    fresh.compact(at, a1);
    assert.equal(set(a1), keep, `compact(${at}) from scratch`);
    assert.equal(revs(fresh), gens, `generations after compact(${at}) from scratch`);
    // the same compaction applied on top of all earlier ones
    const available = new RevisionSet();
    ki.compact(at, available);
    assert.equal(set(available), keep, `compact(${at}) cumulative`);
    assert.equal(revs(ki), gens, `generations after cumulative compact(${at})`);
  }
  assert.ok(ki.isEmpty());
});

test('versions survive compaction', () => {
  const ki = new KeyIndex('k');
  for (let r = 2; r <= 6; r++) ki.put(r, 0);
  ki.compact(5, new RevisionSet());
  assert.equal(revs(ki), [['5.0', '6.0']]);
  assert.equal(ki.get(5), { modified: { main: 5, sub: 0 }, created: { main: 2, sub: 0 }, ver: 4 });
  assert.equal(ki.get(6), { modified: { main: 6, sub: 0 }, created: { main: 2, sub: 0 }, ver: 5 });
  assert.is(ki.get(4), undefined);
  ki.put(7, 0);
  assert.is(ki.get(7)!.ver, 6);
});

test('compaction of a key alive at rev keeps its newest revision', () => {
  const ki = new KeyIndex('k');
  ki.put(2, 0);
  const a = new RevisionSet();
  ki.compact(10, a);
  assert.equal(set(a), ['2.0']);
  assert.equal(revs(ki), [['2.0']]);
  assert.not.ok(ki.isEmpty());
});

test('a key deleted at or before rev is dropped by compaction', () => {
  const ki = new KeyIndex('k');
  ki.put(2, 0);
  ki.tombstone(3, 0);
  const a = new RevisionSet();
  ki.compact(3, a);
  assert.equal(set(a), []);
  assert.ok(ki.isEmpty());
});

test('restore starts from the newest surviving record', () => {
  const ki = new KeyIndex('k');
  ki.restore({ main: 5, sub: 0 }, { main: 7, sub: 2 }, 3);
  assert.equal(ki.get(7), { modified: { main: 7, sub: 2 }, created: { main: 5, sub: 0 }, ver: 3 });
  assert.is(ki.get(6), undefined);
  ki.put(9, 0);
  assert.is(ki.get(9)!.ver, 4);
  ki.tombstone(10, 0);
  ki.put(11, 0);
  assert.equal(ki.get(11), { modified: { main: 11, sub: 0 }, created: { main: 11, sub: 0 }, ver: 1 });
  assert.throws(() => ki.restore({ main: 1, sub: 0 }, { main: 1, sub: 0 }, 1), (e: unknown) => e instanceof MvccInvariantError);
});

test('errors: revisions must grow; tombstone needs a live key', () => {
  const ki = new KeyIndex('k');
  ki.put(5, 1);
  assert.throws(() => ki.put(5, 1), (e: unknown) => e instanceof MvccInvariantError);
  assert.throws(() => ki.put(4, 9), (e: unknown) => e instanceof MvccInvariantError);
  ki.put(5, 2);
  ki.tombstone(6, 0);
  assert.throws(() => ki.tombstone(7, 0), (e: unknown) => e instanceof ErrRevisionNotFound);
  const emptied = new KeyIndex('e');
  emptied.put(2, 0);
  emptied.tombstone(3, 0);
  emptied.compact(3, new RevisionSet());
  assert.throws(() => emptied.get(3), (e: unknown) => e instanceof MvccInvariantError);
  assert.throws(() => emptied.tombstone(4, 0), (e: unknown) => e instanceof MvccInvariantError);
});

test('keyBytes round-trips every byte value', () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const ki = new KeyIndex(bytes.toString('latin1'));
  assert.ok(ki.keyBytes().equals(bytes));
});

test.run();
