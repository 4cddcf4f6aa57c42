import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, Reader, Writer } from '../src/index.js';

function bytes(f: (w: Writer) => void): string {
  const w = new Writer(16);
  f(w);
  return w.finish().toString('hex');
}

function reader(hex: string): Reader {
  return new Reader(Buffer.from(hex, 'hex'));
}

function throwsCode(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, CodecError);
    assert.is((e as CodecError).code, code);
    return;
  }
  assert.unreachable(`expected CodecError ${code}`);
}

test('uint32 varint boundaries', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [0xffffffff, 'ffffffff0f'],
  ];
  for (const [v, hex] of cases) {
    assert.is(bytes((w) => w.uint32(v)), hex, `encode ${v}`);
    assert.is(reader(hex).uint32(), v, `decode ${v}`);
  }
});

test('int32 negative values are 10-byte varints', () => {
  assert.is(bytes((w) => w.int32(-1)), 'ffffffffffffffffff01');
  assert.is(reader('ffffffffffffffffff01').int32(), -1);
  assert.is(reader(bytes((w) => w.int32(-2147483648))).int32(), -2147483648);
  assert.is(reader(bytes((w) => w.sint32(-3))).sint32(), -3);
  assert.is(bytes((w) => w.sint32(-1)), '01');
});

test('int64/uint64 as numbers', () => {
  const values = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 1234567890123];
  for (const v of values) {
    assert.is(reader(bytes((w) => w.int64Number(v))).int64Number(), v);
    assert.is(reader(bytes((w) => w.uint64Number(v))).uint64Number(), v);
    assert.is(reader(bytes((w) => w.sint64Number(v))).sint64Number(), v);
    assert.is(reader(bytes((w) => w.sint64Number(-v))).sint64Number(), -v);
    assert.is(reader(bytes((w) => w.int64Number(-v))).int64Number(), -v);
    assert.is(reader(bytes((w) => w.fixed64(v))).fixed64Number(), v);
    assert.is(reader(bytes((w) => w.fixed64(-v))).sfixed64Number(), -v);
  }
  assert.is(bytes((w) => w.int64Number(-1)), 'ffffffffffffffffff01');
  assert.is(bytes((w) => w.int64Number(2 ** 53 - 1)), 'ffffffffffffff0f');
  throwsCode(() => bytes((w) => w.int64Number(2 ** 53)), 'INTEGER_RANGE');
  throwsCode(() => bytes((w) => w.int64Number(1.5)), 'INTEGER_RANGE');
  throwsCode(() => bytes((w) => w.uint64Number(-1)), 'INTEGER_RANGE');
  throwsCode(() => reader('8080808080808010').uint64Number(), 'INTEGER_RANGE');
  throwsCode(() => reader('ffffffffffffffffff01').uint64Number(), 'INTEGER_RANGE');
  // -2^53 is one below the safe range.
  throwsCode(() => reader(bytes((w) => w.int64Big(-(2n ** 53n)))).int64Number(), 'INTEGER_RANGE');
  assert.is(reader(bytes((w) => w.int64Big(-(2n ** 53n) + 1n))).int64Number(), -(2 ** 53) + 1);
});

test('int64/uint64 as bigints', () => {
  const u = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 63n, 2n ** 63n + 5n, 2n ** 64n - 1n];
  for (const v of u) {
    assert.is(reader(bytes((w) => w.uint64Big(v))).uint64Big(), v);
    assert.is(reader(bytes((w) => w.fixed64(v))).fixed64Big(), v);
  }
  const s = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), -0x100000000n, 123456789012345678n];
  for (const v of s) {
    assert.is(reader(bytes((w) => w.int64Big(v))).int64Big(), v);
    assert.is(reader(bytes((w) => w.sint64Big(v))).sint64Big(), v);
    assert.is(reader(bytes((w) => w.fixed64(v))).sfixed64Big(), v);
  }
  assert.is(bytes((w) => w.uint64Big(2n ** 64n - 1n)), 'ffffffffffffffffff01');
  assert.is(bytes((w) => w.int64Big(-1n)), 'ffffffffffffffffff01');
  assert.is(bytes((w) => w.int64Big(-(2n ** 63n))), '80808080808080808001');
  throwsCode(() => bytes((w) => w.uint64Big(2n ** 64n)), 'INTEGER_RANGE');
  throwsCode(() => bytes((w) => w.uint64Big(-1n)), 'INTEGER_RANGE');
  throwsCode(() => bytes((w) => w.int64Big(2n ** 63n)), 'INTEGER_RANGE');
  // Mixed entry points.
  assert.is(reader(bytes((w) => w.uint64(5))).uint64Big(), 5n);
  assert.is(reader(bytes((w) => w.int64(-5))).int64Big(), -5n);
});

test('floats, fixed32 and bool', () => {
  assert.is(reader(bytes((w) => w.double(Math.PI))).double(), Math.PI);
  assert.is(reader(bytes((w) => w.float(1.5))).float(), 1.5);
  assert.is(reader(bytes((w) => w.fixed32(0xfffffffe))).fixed32(), 0xfffffffe);
  assert.is(reader(bytes((w) => w.sfixed32(-2))).sfixed32(), -2);
  assert.is(reader(bytes((w) => w.bool(true))).bool(), true);
  assert.is(reader('00').bool(), false);
});

test('strings: UTF-8 identical to Buffer for all lengths and code points', () => {
  const samples = [
    '',
    'a',
    'é',
    '€',
    '😀',
    '\ud800',
    'x\udc00y',
    '\ud83d',
    'a'.repeat(42),
    '€'.repeat(42),
    '😀'.repeat(21),
    '€'.repeat(43),
    'z'.repeat(200),
    'mixed ascii é € 😀 \u0000 end'.repeat(5),
  ];
  for (const s of samples) {
    const hex = bytes((w) => w.string(s));
    const r = reader(hex);
    const expected = Buffer.from(s, 'utf8');
    assert.is(r.uint32(), expected.length, `length of ${JSON.stringify(s)}`);
    assert.is(Buffer.from(hex, 'hex').subarray(r.pos).toString('hex'), expected.toString('hex'));
    assert.is(reader(hex).string(), expected.toString('utf8'));
  }
});

test('bytes are views of the input', () => {
  const buf = Buffer.from(bytes((w) => w.bytes(Buffer.from('hello'))), 'hex');
  const v = new Reader(buf).bytes();
  assert.is(v.toString(), 'hello');
  assert.is(v.buffer, buf.buffer);
  buf[1] = 0x48;
  assert.is(v.toString(), 'Hello');
  const u8 = new Uint8Array([2, 0x61, 0x62]);
  const v2 = new Reader(u8).bytes();
  assert.ok(Buffer.isBuffer(v2));
  assert.is(v2.buffer, u8.buffer);
});

test('fork/join for every length-prefix size', () => {
  for (const n of [0, 1, 127, 128, 16383, 16384, 2097151, 2097152]) {
    const w = new Writer(8);
    w.u8(0xaa);
    const mark = w.fork();
    for (let i = 0; i < n; i++) w.u8(i & 0xff);
    w.join(mark);
    w.u8(0xbb);
    const out = w.finish();
    const r = new Reader(out);
    assert.is(out[0], 0xaa);
    r.pos = 1;
    const body = r.bytes();
    assert.is(body.length, n);
    if (n > 0) assert.is(body[n - 1], (n - 1) & 0xff);
    assert.is(out[r.pos], 0xbb);
    assert.is(r.pos, out.length - 1);
  }
});

test('nested forks', () => {
  const w = new Writer(4);
  const a = w.fork();
  const b = w.fork();
  w.raw(Buffer.alloc(200, 7));
  w.join(b);
  w.raw(Buffer.alloc(3, 9));
  w.join(a);
  const r = new Reader(w.finish());
  const outer = r.end();
  const inner = r.bytes();
  assert.is(inner.length, 200);
  assert.is(outer - r.pos, 3);
});

test('truncation and malformed input', () => {
  throwsCode(() => reader('').uint32(), 'TRUNCATED');
  throwsCode(() => reader('80').uint32(), 'TRUNCATED');
  throwsCode(() => reader('8080').int64Number(), 'TRUNCATED');
  throwsCode(() => reader('0561').bytes(), 'TRUNCATED');
  throwsCode(() => reader('0561').string(), 'TRUNCATED');
  throwsCode(() => reader('000000').fixed64Number(), 'TRUNCATED');
  throwsCode(() => reader('ffffffffffffffffffff01').int64Number(), 'VARINT_TOO_LONG');
  throwsCode(() => reader('ffffffffffffffffffff01').uint32(), 'VARINT_TOO_LONG');
  throwsCode(() => reader('').skip(6), 'INVALID_WIRE_FORMAT');
  throwsCode(() => reader('').skipTag(0), 'INVALID_WIRE_FORMAT');
  throwsCode(() => reader('').skipTag((1 << 3) | 4), 'INVALID_WIRE_FORMAT');
});

test('skip every wire type, including groups', () => {
  const w = new Writer();
  w.tag(1, 0);
  w.uint64Big(2n ** 64n - 1n);
  w.tag(2, 1);
  w.fixed64(1);
  w.tag(3, 2);
  w.bytes('abc');
  w.tag(4, 3);
  w.tag(5, 0);
  w.uint32(1);
  w.tag(4, 4);
  w.tag(6, 5);
  w.fixed32(1);
  const r = new Reader(w.finish());
  while (r.pos < r.len) r.skipTag(r.uint32());
  assert.is(r.pos, r.len);
  const w2 = new Writer();
  w2.tag(4, 3);
  w2.tag(5, 4);
  throwsCode(() => {
    const r2 = new Reader(w2.finish());
    r2.skipTag(r2.uint32());
  }, 'INVALID_WIRE_FORMAT');
});

test('writer grows from a tiny buffer', () => {
  const w = new Writer(1);
  for (let i = 0; i < 10000; i++) w.uint32(i * 1000);
  const r = new Reader(w.finish());
  for (let i = 0; i < 10000; i++) assert.is(r.uint32(), i * 1000);
});

test.run();
