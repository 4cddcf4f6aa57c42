import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeKeyValue, encodeKeyValue } from '../src/mvcc/key-value-codec.js';
import type { ScannedKeyValue } from '../src/mvcc/key-value-scan.js';
import { KeyValueScanError, scanKeyValue } from '../src/mvcc/key-value-scan.js';

const fresh = (): ScannedKeyValue => ({ key: 'stale', createRevision: 9, version: 9, lease: 9n });

test('scanKeyValue reads what the codec wrote', () => {
  const rev = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      rev,
      rev,
      rev,
      fc.uint8Array({ maxLength: 200 }),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 63n), max: -1n })),
      (key, c, m, v, value, lease) => {
        const bytes = encodeKeyValue({ key, createRevision: c, modRevision: m, version: v, value, lease });
        const want = decodeKeyValue(bytes);
        const got = scanKeyValue(bytes, fresh());
        assert.equal(got, { key: want.key.toString('latin1'), createRevision: want.createRevision, version: want.version, lease: want.lease });
        assert.is(got.createRevision, c);
        assert.is(got.version, v);
        assert.is(got.lease, lease);
      },
    ),
    { numRuns: 2000 },
  );
});

test('a tombstone record holds only the key', () => {
  const got = scanKeyValue(encodeKeyValue({ key: Buffer.from('gone') }), fresh());
  assert.equal(got, { key: 'gone', createRevision: 0, version: 0, lease: 0n });
});

test('truncated records are refused', () => {
  const bytes = encodeKeyValue({ key: Buffer.from('k'), createRevision: 300, value: Buffer.from('vvvv') });
  assert.throws(() => scanKeyValue(bytes.subarray(0, bytes.length - 2), fresh()), (e: unknown) => e instanceof KeyValueScanError);
  assert.throws(() => scanKeyValue(bytes.subarray(0, 4), fresh()), (e: unknown) => e instanceof KeyValueScanError);
});

test.run();
