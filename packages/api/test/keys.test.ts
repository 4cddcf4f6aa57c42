import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_KEYS_END,
  FROM_KEY_END,
  compareBytes,
  equalBytes,
  inRange,
  isAllKeys,
  isFromKey,
  isRange,
  keyBytes,
  prefixEnd,
  prefixRange,
} from '../src/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const B = (...xs: number[]): Buffer => Buffer.from(xs);

test('prefixEnd as etcd GetPrefixRangeEnd', () => {
  assert.is(prefixEnd('foo').toString(), 'fop');
  assert.is(prefixEnd('a').toString(), 'b');
  assert.is(hex(prefixEnd(B(0x61, 0xff))), '62');
  assert.is(hex(prefixEnd(B(0x61, 0xfe, 0xff, 0xff))), '61ff');
  assert.is(hex(prefixEnd(B(0xff))), '00');
  assert.is(hex(prefixEnd(B(0xff, 0xff))), '00');
  assert.is(hex(prefixEnd(B())), '00');
  assert.is(hex(prefixEnd(B(0))), '01');
  const input = B(1, 0xff);
  prefixEnd(input);
  assert.is(hex(input), '01ff', 'input is not modified');
});

test('prefixRange', () => {
  const r = prefixRange('svc/');
  assert.is(r.key.toString(), 'svc/');
  assert.is(r.rangeEnd.toString(), 'svc0');
  const all = prefixRange('');
  assert.ok(isAllKeys(all.key, all.rangeEnd));
});

test('compareBytes is unsigned lexicographic', () => {
  assert.is(compareBytes(B(1), B(2)), -1);
  assert.is(compareBytes(B(0x80), B(0x7f)), 1);
  assert.is(compareBytes(B(1, 2), B(1)), 1);
  assert.is(compareBytes(B(), B()), 0);
  assert.is(compareBytes(B(), B(0)), -1);
  const long1 = Buffer.alloc(40, 7);
  const long2 = Buffer.alloc(40, 7);
  long2[39] = 0xff;
  assert.is(compareBytes(long1, long2), -1);
  assert.is(compareBytes(long2, long1), 1);
  assert.is(compareBytes(long1, Buffer.from(long1)), 0);
  assert.ok(equalBytes(keyBytes('ab'), new Uint8Array([0x61, 0x62])));
  assert.not.ok(equalBytes(B(1), B(1, 2)));
});

test('range conventions', () => {
  assert.not.ok(isRange(undefined));
  assert.not.ok(isRange(B()));
  assert.ok(isRange(B(0)));
  assert.ok(isFromKey(FROM_KEY_END));
  assert.not.ok(isFromKey(B(0, 0)));
  assert.ok(isAllKeys(B(0), ALL_KEYS_END));
  assert.not.ok(isAllKeys(B(1), ALL_KEYS_END));
  const k = keyBytes('b');
  assert.ok(inRange(k, keyBytes('b'), B()));
  assert.not.ok(inRange(k, keyBytes('a'), B()));
  assert.ok(inRange(k, keyBytes('a'), keyBytes('c')));
  assert.not.ok(inRange(k, keyBytes('a'), keyBytes('b')));
  assert.ok(inRange(k, keyBytes('b'), FROM_KEY_END));
  assert.not.ok(inRange(k, keyBytes('c'), FROM_KEY_END));
  assert.ok(inRange(k, B(0), ALL_KEYS_END));
});

test.run();
