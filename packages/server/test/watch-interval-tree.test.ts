import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareEnd, IntervalTree } from '../src/watch/interval-tree.js';
import { seededRandom } from '../src/raft/seeded-random.js';


const ALPHABET = ['\x00', 'a', 'b', 'c', '\xff'];

function randomKey(r: () => number, maxLen = 3): string {
  const n = 1 + Math.floor(r() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
  return s;
}

function holds(begin: string, end: string, p: string): boolean {
  return begin <= p && (end === '' || p < end);
}

test('compareEnd treats the empty end as above every key', () => {
  assert.is(compareEnd('', ''), 0);
  assert.is(compareEnd('', '\xff\xff'), 1);
  assert.is(compareEnd('\xff', ''), -1);
  assert.is(compareEnd('a', 'b'), -1);
  assert.is(compareEnd('b', 'a'), 1);
});

test('stab, intersects, find and delete agree with a brute-force model', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = seededRandom(seed);
    const tree = new IntervalTree<number>();
    const model = new Map<string, { begin: string; end: string; value: number }>();
    for (let step = 0; step < 400; step++) {
      const begin = randomKey(r);
      const end = r() < 0.2 ? '' : begin + randomKey(r, 2);
      const id = `${begin}|${end}`;
      if (r() < 0.6) {
        tree.insert(begin, end, step);
        model.set(id, { begin, end, value: step });
      } else {
        const existing = [...model.values()][Math.floor(r() * model.size)];
        const target = existing !== undefined && r() < 0.8 ? existing : { begin, end };
        const had = model.delete(`${target.begin}|${target.end}`);
        assert.is(tree.delete(target.begin, target.end), had, `delete ${JSON.stringify(target)} (seed ${seed})`);
      }
      tree.verify();
      assert.is(tree.size, model.size);
      const p = randomKey(r);
      const got: number[] = [];
      tree.stab(p, (v) => got.push(v));
      const want = [...model.values()].filter((x) => holds(x.begin, x.end, p)).map((x) => x.value);
      assert.equal(got.sort((a, b) => a - b), want.sort((a, b) => a - b), `stab ${JSON.stringify(p)} (seed ${seed}, step ${step})`);
      assert.is(tree.intersects(p), want.length > 0);
      const probe = [...model.values()][0];
      if (probe !== undefined) assert.is(tree.find(probe.begin, probe.end), probe.value);
    }
    const order = [...tree.entries()].map((e) => [e.begin, e.end]);
    const sorted = [...order].sort((x, y) => (x[0] !== y[0] ? (x[0]! < y[0]! ? -1 : 1) : compareEnd(x[1]!, y[1]!)));
    assert.equal(order, sorted);
  }
});

test('a stab visits only the intervals holding the point among many', () => {
  const tree = new IntervalTree<string>();
  for (let i = 0; i < 10_000; i++) {
    const k = `key/${String(i).padStart(5, '0')}`;
    tree.insert(k, `${k}\x00`, k);
  }
  tree.insert('key/', 'key0', 'prefix');
  tree.insert('a', '', 'from-a');
  tree.verify();
  const got: string[] = [];
  tree.stab('key/01234', (v) => got.push(v));
  assert.equal(got.sort(), ['from-a', 'key/01234', 'prefix']);
});

test.run();
