import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IdGenerator,
  IdParseError,
  formatId,
  formatLeaseId,
  isInt64,
  isUint64,
  parseDecimalId,
  parseHexId,
  parseId,
  parseLeaseId,
  randomId,
  randomLeaseId,
} from '../src/index.js';

test('formatting as etcdctl prints IDs', () => {
  assert.is(formatId(0x8e9e05c52164694dn), '8e9e05c52164694d');
  assert.is(formatId(0xffffffffffffffffn), 'ffffffffffffffff');
  assert.is(formatId(0x1an), '1a');
  assert.is(formatId(0n), '0');
  assert.is(formatId(-5n), '-5');
  assert.is(formatLeaseId(0x694d7a5c3e2f1a0bn), '694d7a5c3e2f1a0b');
  assert.is(formatLeaseId(0x1an), '000000000000001a');
  assert.is(formatLeaseId(-1n), '-000000000000001');
});

test('parsing', () => {
  assert.is(parseHexId('8e9e05c52164694d'), 0x8e9e05c52164694dn);
  assert.is(parseHexId('0xFF'), 255n);
  assert.is(parseId('ffffffffffffffff'), 0xffffffffffffffffn);
  assert.is(parseId('18446744073709551615', 10), 0xffffffffffffffffn);
  assert.is(parseDecimalId('42'), 42n);
  assert.is(parseLeaseId('694d7a5c3e2f1a0b'), 0x694d7a5c3e2f1a0bn);
  assert.is(parseLeaseId('-1'), -1n);
  assert.throws(() => parseHexId(''), (e: unknown) => e instanceof IdParseError);
  assert.throws(() => parseHexId('xyz'), (e: unknown) => e instanceof IdParseError);
  assert.throws(() => parseHexId('1ffffffffffffffff'), (e: unknown) => e instanceof IdParseError);
  assert.throws(() => parseDecimalId('18446744073709551616'), (e: unknown) => e instanceof IdParseError);
  assert.throws(() => parseLeaseId('8000000000000000'), (e: unknown) => e instanceof IdParseError);
  for (let i = 0; i < 100; i++) {
    const id = randomId();
    assert.is(parseHexId(formatId(id)), id);
    const l = randomLeaseId();
    assert.is(parseLeaseId(formatLeaseId(l)), l);
  }
});

test('random IDs', () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const id = randomId();
    assert.ok(id !== 0n && isUint64(id));
    const l = randomLeaseId();
    assert.ok(l > 0n && isInt64(l));
    seen.add(id);
  }
  assert.is(seen.size, 1000);
});

test('IdGenerator layout', () => {
  const now = Date.UTC(2024, 0, 1);
  const g = new IdGenerator(0x1234abcdn, now);
  const a = g.next();
  const b = g.next();
  assert.is(b - a, 1n);
  assert.is(a >> 48n, 0xabcdn);
  assert.is((a >> 8n) & ((1n << 40n) - 1n), BigInt(now) & ((1n << 40n) - 1n));
  assert.is(a & 0xffn, 1n);
  const other = new IdGenerator(0x1n, now);
  assert.ok(other.next() !== a);
});

test.run();
