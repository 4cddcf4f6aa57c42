import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bytesToMain,
  bytesToRev,
  bytesToSub,
  bytesToUint64,
  compareRevision,
  isTombstoneKey,
  revisionGreaterThan,
  RevisionSet,
  revToBytes,
  uint64ToBytes,
} from '../src/mvcc/revision.js';

test('17-byte layout: 8-byte BE main, underscore, 8-byte BE sub', () => {
  assert.is(revToBytes({ main: 1, sub: 0 }).toString('hex'), '0000000000000001' + '5f' + '0000000000000000');
  assert.is(revToBytes({ main: 0x0102030405, sub: 7 }).toString('hex'), '0000000102030405' + '5f' + '0000000000000007');
  assert.is(revToBytes({ main: 2, sub: 1 }, true).toString('hex'), '0000000000000002' + '5f' + '0000000000000001' + '74');
});

test('round trip up to 2^53 - 1', () => {
  for (const main of [0, 1, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
    for (const sub of [0, 1, 2 ** 32 + 5]) {
      const b = revToBytes({ main, sub });
      assert.equal(bytesToRev(b), { main, sub });
      assert.is(bytesToMain(b), main);
      assert.is(bytesToSub(b), sub);
      assert.equal(bytesToRev(revToBytes({ main, sub }, true)), { main, sub });
    }
  }
  assert.is(bytesToUint64(uint64ToBytes(2 ** 40 + 9)), 2 ** 40 + 9);
  assert.is(uint64ToBytes(7).toString('hex'), '0000000000000007');
});

test('byte order of encodings equals revision order', () => {
  const revs = [
    { main: 1, sub: 0 },
    { main: 1, sub: 1 },
    { main: 1, sub: 256 },
    { main: 2, sub: 0 },
    { main: 255, sub: 3 },
    { main: 256, sub: 0 },
    { main: 2 ** 33, sub: 0 },
  ];
  for (let i = 0; i < revs.length; i++) {
    for (let j = 0; j < revs.length; j++) {
      const byBytes = Math.sign(Buffer.compare(revToBytes(revs[i]!), revToBytes(revs[j]!)));
      assert.is(byBytes, Math.sign(compareRevision(revs[i]!, revs[j]!)));
      assert.is(revisionGreaterThan(revs[i]!, revs[j]!), i > j);
    }
  }
  // a tombstone key sorts right after the plain key of the same revision
  assert.ok(Buffer.compare(revToBytes({ main: 3, sub: 0 }, true), revToBytes({ main: 3, sub: 1 })) < 0);
});

test('tombstone mark', () => {
  assert.ok(isTombstoneKey(revToBytes({ main: 5, sub: 0 }, true)));
  assert.not.ok(isTombstoneKey(revToBytes({ main: 5, sub: 0 })));
  const odd = Buffer.concat([revToBytes({ main: 5, sub: 0 }), Buffer.from('x')]);
  assert.not.ok(isTombstoneKey(odd));
});

test('RevisionSet compares by value', () => {
  const s = new RevisionSet();
  s.add({ main: 3, sub: 1 });
  s.add({ main: 3, sub: 1 });
  assert.is(s.size, 1);
  assert.ok(s.has({ main: 3, sub: 1 }));
  assert.ok(s.hasMainSub(3, 1));
  assert.not.ok(s.has({ main: 31, sub: 0 }));
  s.delete({ main: 3, sub: 1 });
  assert.is(s.size, 0);
  s.add({ main: 12, sub: 3 });
  assert.equal([...s], [{ main: 12, sub: 3 }]);
});

test.run();
