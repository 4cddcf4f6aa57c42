import { CodecError } from './codec-error.js';
import { utf8Length, varint32Size } from './sizes.js';

const TWO_32 = 4294967296;
const MAX_U64 = 0xffffffffffffffffn;
const MIN_I64 = -0x8000000000000000n;
const MAX_I64 = 0x7fffffffffffffffn;
const DEFAULT_CAPACITY = 1024;

// Splits bigints into 32-bit halves without allocating: storing a bigint into
// a BigUint64Array wraps it modulo 2^64 (two's complement for negatives).
const SPLIT64 = new BigUint64Array(1);
const SPLIT32 = new Uint32Array(SPLIT64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  return hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
}

/**
 * Protocol-buffers encoder into one growable buffer.
 *
 * Invariant: bytes [0, pos) are the output so far; buf.length >= pos.
 * Generated codecs know every sub-message's size before writing it, so they
 * write length prefixes directly. fork()/join() serve bodies of unknown
 * length: fork reserves one length byte, join writes the real length and,
 * only if it needs more than one byte, moves the body right.
 */
export class Writer {
  buf: Buffer;
  pos = 0;

  /** A writer into a new buffer of the given capacity, or into `target` from offset 0. */
  constructor(initialCapacityOrTarget: number | Buffer = DEFAULT_CAPACITY) {
    this.buf =
      typeof initialCapacityOrTarget === 'number'
        ? Buffer.allocUnsafe(Math.max(16, initialCapacityOrTarget))
        : initialCapacityOrTarget;
  }

  /** Number of bytes written. */
  get length(): number {
    return this.pos;
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of the bytes written so far, owned by the caller. */
  finish(): Buffer {
    const n = this.pos;
    const out = Buffer.allocUnsafe(n);
    out.set(this.buf.subarray(0, n), 0);
    return out;
  }

  /** A view of the bytes written so far; invalidated by the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = Math.max(64, this.buf.length * 2);
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** One raw byte. */
  u8(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A field key. */
  tag(fieldNumber: number, wireType: number): void {
    this.uint32(((fieldNumber << 3) | wireType) >>> 0);
  }

  /** Varint of v taken as an unsigned 32-bit integer. */
  uint32(v: number): void {
    v >>>= 0;
    if (v < 128) {
      if (this.pos >= this.buf.length) this.ensure(1);
      this.buf[this.pos++] = v;
      return;
    }
    // Capacity checks are exact so that a buffer sized by the size functions never grows.
    if (this.pos + 5 > this.buf.length) this.ensure(varint32Size(v));
    const b = this.buf;
    let p = this.pos;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** int32 varint: negative values are sign-extended to 10 bytes. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.varint64(v >>> 0, 0xffffffff);
  }

  sint32(v: number): void {
    this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** Varint of the 64-bit value hi:lo (both unsigned 32-bit). */
  varint64(lo: number, hi: number): void {
    if (this.pos + 10 > this.buf.length) this.ensure(varint64Size(lo, hi));
    const b = this.buf;
    let p = this.pos;
    while (hi !== 0) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  /** uint64 from a non-negative safe integer. */
  uint64Number(v: number): void {
    if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) {
      this.uint32(v);
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new CodecError('INTEGER_RANGE', `uint64 value ${v} is not a non-negative safe integer`);
    }
    this.varint64(v >>> 0, Math.floor(v / TWO_32) >>> 0);
  }

  /** int64 from a safe integer; negative values are 10-byte two's complement. */
  int64Number(v: number): void {
    if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) {
      this.uint32(v);
      return;
    }
    if (!Number.isSafeInteger(v)) {
      throw new CodecError('INTEGER_RANGE', `int64 value ${v} is not a safe integer`);
    }
    this.varint64(v >>> 0, Math.floor(v / TWO_32) >>> 0);
  }

  sint64Number(v: number): void {
    if (!Number.isSafeInteger(v)) {
      throw new CodecError('INTEGER_RANGE', `sint64 value ${v} is not a safe integer`);
    }
    // zigzag: 2v for v >= 0, -2v-1 for v < 0; |2v| may exceed 2^53, so split first.
    const neg = v < 0;
    const a = neg ? -v - 1 : v;
    const lo = a >>> 0;
    const hi = Math.floor(a / TWO_32) >>> 0;
    const zlo = ((lo << 1) | (neg ? 1 : 0)) >>> 0;
    const zhi = ((hi << 1) | (lo >>> 31)) >>> 0;
    this.varint64(zlo, zhi);
  }

  /** uint64 from a bigint in [0, 2^64). */
  uint64Big(v: bigint): void {
    if (v >= 0n && v <= 0x7fffffffn) {
      this.uint32(Number(v));
      return;
    }
    if (v < 0n || v > MAX_U64) {
      throw new CodecError('INTEGER_RANGE', `uint64 value ${v} is outside [0, 2^64)`);
    }
    SPLIT64[0] = v;
    this.varint64(SPLIT32[LO]!, SPLIT32[HI]!);
  }

  /** int64 from a bigint in [-2^63, 2^63); negative values are 10-byte two's complement. */
  int64Big(v: bigint): void {
    if (v >= 0n && v <= 0x7fffffffn) {
      this.uint32(Number(v));
      return;
    }
    if (v < MIN_I64 || v > MAX_I64) {
      throw new CodecError('INTEGER_RANGE', `int64 value ${v} is outside [-2^63, 2^63)`);
    }
    SPLIT64[0] = v;
    this.varint64(SPLIT32[LO]!, SPLIT32[HI]!);
  }

  sint64Big(v: bigint): void {
    if (v < MIN_I64 || v > MAX_I64) {
      throw new CodecError('INTEGER_RANGE', `sint64 value ${v} is outside [-2^63, 2^63)`);
    }
    SPLIT64[0] = (v << 1n) ^ (v >> 63n);
    this.varint64(SPLIT32[LO]!, SPLIT32[HI]!);
  }

  /** uint64 from either representation. */
  uint64(v: number | bigint): void {
    if (typeof v === 'number') this.uint64Number(v);
    else this.uint64Big(v);
  }

  /** int64 from either representation. */
  int64(v: number | bigint): void {
    if (typeof v === 'number') this.int64Number(v);
    else this.int64Big(v);
  }

  sint64(v: number | bigint): void {
    if (typeof v === 'number') this.sint64Number(v);
    else this.sint64Big(v);
  }

  fixed32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  sfixed32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    this.buf.writeInt32LE(v | 0, this.pos);
    this.pos += 4;
  }

  /** fixed64/sfixed64: little-endian two's complement of a safe integer or a 64-bit bigint. */
  fixed64(v: number | bigint): void {
    let lo: number;
    let hi: number;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) {
        throw new CodecError('INTEGER_RANGE', `fixed64 value ${v} is not a safe integer`);
      }
      lo = v >>> 0;
      hi = Math.floor(v / TWO_32) >>> 0;
    } else {
      if (v < MIN_I64 || v > MAX_U64) {
        throw new CodecError('INTEGER_RANGE', `fixed64 value ${v} does not fit 64 bits`);
      }
      SPLIT64[0] = v;
      lo = SPLIT32[LO]!;
      hi = SPLIT32[HI]!;
    }
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
  }

  float(v: number): void {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    this.buf.writeFloatLE(v, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Length-prefixed bytes; a string is written as its UTF-8 encoding. */
  bytes(v: Uint8Array | string): void {
    if (typeof v === 'string') {
      this.string(v);
      return;
    }
    const n = v.length;
    this.uint32(n);
    this.raw(v);
  }

  /** Bytes with no length prefix. */
  raw(v: Uint8Array): void {
    const n = v.length;
    if (this.pos + n > this.buf.length) this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    // A native copy costs about as much as 16 single-byte stores.
    if (n <= 16) {
      for (let i = 0; i < n; i++) b[p++] = v[i]!;
    } else {
      b.set(v, p);
      p += n;
    }
    this.pos = p;
  }

  /** Length-prefixed UTF-8; lone surrogates become U+FFFD, as Buffer does. */
  string(s: string): void {
    const n = s.length;
    if (n <= 64) {
      const len = utf8Length(s);
      this.uint32(len);
      if (this.pos + len > this.buf.length) this.ensure(len);
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) {
          b[p++] = c;
        } else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 63);
        } else {
          if (c >= 0xd800 && c <= 0xdfff) {
            const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
            if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
              c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
              i++;
              b[p++] = 0xf0 | (c >> 18);
              b[p++] = 0x80 | ((c >> 12) & 63);
              b[p++] = 0x80 | ((c >> 6) & 63);
              b[p++] = 0x80 | (c & 63);
              continue;
            }
            c = 0xfffd;
          }
          b[p++] = 0xe0 | (c >> 12);
          b[p++] = 0x80 | ((c >> 6) & 63);
          b[p++] = 0x80 | (c & 63);
        }
      }
      this.pos = p;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.uint32(len);
    if (this.pos + len > this.buf.length) this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  /** Starts a length-delimited body; returns the mark to pass to join(). */
  fork(): number {
    if (this.pos >= this.buf.length) this.ensure(1);
    return this.pos++;
  }

  /** Ends the body started by fork(), writing its length before it. */
  join(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    const extra = len < 0x4000 ? 1 : len < 0x200000 ? 2 : len < 0x10000000 ? 3 : 4;
    this.ensure(extra);
    const b = this.buf;
    b.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    let p = mark;
    let v = len;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p] = v;
    this.pos += extra;
  }
}

/**
 * Encodes one top-level message into a new Buffer of exactly `size` bytes,
 * `size` having been computed by the message's size function.
 */
export function encodeExact<M>(m: M, size: number, encodeTo: (m: M, w: Writer) => void): Buffer {
  const buf = Buffer.allocUnsafe(size);
  const w = new Writer(buf);
  encodeTo(m, w);
  if (w.pos !== size || w.buf !== buf) {
    throw new Error(`internal codec error: computed size ${size}, wrote ${w.pos} bytes`);
  }
  return buf;
}
