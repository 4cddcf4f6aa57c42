import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { crc32c, crc32cRange } from '../src/util/crc32c.js';

test('check value and known vectors', () => {
  assert.is(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.is(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, 32 bytes of 0xff.
  assert.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
});

test('the table path and the native path agree, and chaining equals concatenation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffffffff }), (a, b, seed) => {
      const ab = new Uint8Array(a.length + b.length);
      ab.set(a);
      ab.set(b, a.length);
      assert.is(crc32c(b, crc32c(a, seed)), crc32c(ab, seed));
      // Force the table loop on a long input by splitting into short ranges.
      let c = seed;
      for (let i = 0; i < ab.length; i += 7) c = crc32cRange(ab, i, Math.min(ab.length, i + 7), c);
      assert.is(c, crc32c(ab, seed));
    }),
    { numRuns: 300 },
  );
});

test.run();
