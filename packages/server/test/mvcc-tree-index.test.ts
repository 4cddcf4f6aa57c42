import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrRevisionNotFound } from '../src/mvcc/mvcc-error.js';
import { TreeIndex } from '../src/mvcc/tree-index.js';

const L = (...bytes: number[]): string => Buffer.from(bytes).toString('latin1');
const r = (main: number, sub = 0) => ({ main, sub });
const fmt = (revs: readonly { main: number; sub: number }[]): string[] => revs.map((x) => `${x.main}.${x.sub}`);

function sample(): TreeIndex {
  // rev 2: foo, rev 3: foo1, rev 4: foo2, rev 5: foo (again), rev 6: delete foo1, rev 7: z
  const ti = new TreeIndex();
  ti.put('foo', r(2));
  ti.put('foo1', r(3));
  ti.put('foo2', r(4));
  ti.put('foo', r(5));
  ti.tombstone('foo1', r(6));
  ti.put('z', r(7));
  return ti;
}

test('get follows history', () => {
  const ti = sample();
  assert.is(ti.get('foo', 1), undefined);
  assert.equal(ti.get('foo', 2), { modified: r(2), created: r(2), ver: 1 });
  assert.equal(ti.get('foo', 7), { modified: r(5), created: r(2), ver: 2 });
  assert.equal(ti.get('foo1', 5)!.modified, r(3));
  assert.is(ti.get('foo1', 6), undefined);
  assert.is(ti.get('nope', 7), undefined);
});

test('range: single key, [key, end), open end, limit and total', () => {
  const ti = sample();
  assert.equal(ti.range('foo', undefined, 7), { keys: ['foo'], revs: [r(5)], total: 1 });
  assert.equal(ti.range('nope', undefined, 7), { keys: [], revs: [], total: 0 });
  assert.equal(ti.range('foo', 'fop', 5), { keys: ['foo', 'foo1', 'foo2'], revs: [r(5), r(3), r(4)], total: 3 });
  assert.equal(ti.range('foo', 'fop', 7), { keys: ['foo', 'foo2'], revs: [r(5), r(4)], total: 2 });
  assert.equal(ti.range('foo', 'fop', 3), { keys: ['foo', 'foo1'], revs: [r(2), r(3)], total: 2 });
  assert.equal(ti.range('foo1', '', 7), { keys: ['foo2', 'z'], revs: [r(4), r(7)], total: 2 });
  assert.equal(ti.range('', '', 7).keys, ['foo', 'foo2', 'z']);
  assert.equal(ti.range('foo', '', 7, 1), { keys: ['foo'], revs: [r(5)], total: 3 });
  assert.equal(ti.range('foo', 'foo', 7), { keys: [], revs: [], total: 0 });
  assert.equal(ti.range('z', 'a', 7), { keys: [], revs: [], total: 0 });
  assert.is(ti.countRevisions('foo', '', 7), 3);
  assert.is(ti.countRevisions('foo', 'fop', 5), 3);
  assert.is(ti.countRevisions('foo1', undefined, 7), 0);
  assert.is(ti.countRevisions('foo1', undefined, 3), 1);
});

test('keys are ordered as unsigned bytes', () => {
  const ti = new TreeIndex();
  const keys = [L(0xff), L(0x00), L(0x80), L(0x7f), L(0x61), L(0xc3, 0xa9), L(0x61, 0x00), L(0xff, 0xff)];
  keys.forEach((k, i) => ti.put(k, r(i + 2)));
  const got = ti.range(L(0x00), '', 100).keys.map((k) => Buffer.from(k, 'latin1').toString('hex'));
  const want = keys.map((k) => Buffer.from(k, 'latin1').toString('hex')).sort();
  assert.equal(got, want);
  assert.equal(
    ti.range(L(0x7f), L(0xc3, 0xa9), 100).keys.map((k) => Buffer.from(k, 'latin1').toString('hex')),
    ['7f', '80'],
  );
});

test('rangeSince returns revisions in revision order', () => {
  const ti = sample();
  assert.equal(fmt(ti.rangeSince('foo', 'fop', 0)), ['2.0', '3.0', '4.0', '5.0', '6.0']);
  assert.equal(fmt(ti.rangeSince('foo', 'fop', 4)), ['4.0', '5.0', '6.0']);
  assert.equal(fmt(ti.rangeSince('', '', 5)), ['5.0', '6.0', '7.0']);
  assert.equal(fmt(ti.rangeSince('foo', undefined, 3)), ['5.0']);
  assert.equal(fmt(ti.rangeSince('nope', undefined, 0)), []);
});

test('tombstone of a missing or deleted key fails', () => {
  const ti = sample();
  assert.throws(() => ti.tombstone('nope', r(8)), (e: unknown) => e instanceof ErrRevisionNotFound);
  assert.throws(() => ti.tombstone('foo1', r(8)), (e: unknown) => e instanceof ErrRevisionNotFound);
});

test('compact keeps the newest revision <= rev of live keys and drops dead keys', () => {
  const ti = sample();
  const predicted = fmt([...ti.keep(6)]).sort();
  const kept = fmt([...ti.compact(6)]).sort();
  assert.equal(kept, ['4.0', '5.0']);
  assert.equal(predicted, kept);
  assert.is(ti.size, 3);
  assert.is(ti.keyIndex('foo1'), undefined);
  assert.equal(ti.range('', '', 7).keys, ['foo', 'foo2', 'z']);
  assert.equal(fmt([...ti.compact(7)]).sort(), ['4.0', '5.0', '7.0']);
  ti.tombstone('z', r(8));
  assert.equal(fmt([...ti.compact(8)]).sort(), ['4.0', '5.0']);
  assert.is(ti.size, 2);
});

test('equals compares structure', () => {
  const a = sample();
  const b = sample();
  assert.ok(a.equals(b));
  b.put('zz', r(8));
  assert.not.ok(a.equals(b));
});

test.run();
