import { CodecError } from './codec-error.js';

const TWO_32 = 4294967296;

// Joins 32-bit halves into a bigint with one allocation (the result).
const JOIN64 = new BigUint64Array(1);
const JOIN64_SIGNED = new BigInt64Array(JOIN64.buffer);
const JOIN32 = new Uint32Array(JOIN64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const MAX_HI_SAFE = 0x1fffff;

function truncated(): CodecError {
  return new CodecError('TRUNCATED', 'unexpected end of input');
}

/**
 * Protocol-buffers decoder over one buffer.
 *
 * Invariant: 0 <= pos <= len after every successful read; a read that would
 * pass len throws CodecError('TRUNCATED') instead. Bytes values are views of
 * the input, never copies.
 */
export class Reader {
  readonly buf: Buffer;
  readonly len: number;
  pos = 0;
  /** Low and high 32 bits (unsigned) of the last 64-bit value read. */
  private lo = 0;
  private hi = 0;

  constructor(b: Uint8Array) {
    this.buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.len = b.length;
  }

  /** Varint, keeping its low 32 bits, as an unsigned number. */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    // Bytes past the end read as undefined, which fails every comparison and
    // ends the varint; the position check below turns that into TRUNCATED.
    const c = b[p++]!;
    if (c < 128) {
      this.pos = p;
      return c;
    }
    return this.uint32Slow(c, p);
  }

  private uint32Slow(c: number, p: number): number {
    const b = this.buf;
    let v = c & 127;
    if (c >= 128) {
      c = b[p++]!;
      v |= (c & 127) << 7;
      if (c >= 128) {
        c = b[p++]!;
        v |= (c & 127) << 14;
        if (c >= 128) {
          c = b[p++]!;
          v |= (c & 127) << 21;
          if (c >= 128) {
            c = b[p++]!;
            v |= c << 28;
            if (c >= 128) {
              let i = 5;
              while (b[p++]! >= 128) {
                if (++i === 10) {
                  if (p > this.len) throw truncated();
                  throw new CodecError('VARINT_TOO_LONG', 'varint longer than 10 bytes');
                }
              }
            }
          }
        }
      }
    }
    if (p > this.len) throw truncated();
    this.pos = p;
    return v >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /**
   * A varint of at most 4 bytes (value < 2^28), or -1 with pos unchanged if
   * it is longer or truncated. A byte read past the end is undefined, which
   * fails `< 128`, so a returned value never extends past len.
   */
  private varint28(): number {
    const b = this.buf;
    let p = this.pos;
    let c = b[p++]!;
    if (c < 128) {
      this.pos = p;
      return c;
    }
    let v = c & 127;
    c = b[p++]!;
    v |= (c & 127) << 7;
    if (c < 128) {
      this.pos = p;
      return v;
    }
    c = b[p++]!;
    v |= (c & 127) << 14;
    if (c < 128) {
      this.pos = p;
      return v;
    }
    c = b[p++]!;
    v |= (c & 127) << 21;
    if (c < 128) {
      this.pos = p;
      return v;
    }
    return -1;
  }

  /** Reads a varint of up to 64 bits into lo/hi. */
  private varint64(): void {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let c = 0;
    for (let s = 0; s < 28; s += 7) {
      c = b[p++]!;
      lo |= (c & 127) << s;
      if (c < 128) return this.done64(p, lo, hi);
    }
    c = b[p++]!;
    lo |= (c & 127) << 28;
    hi = (c & 127) >>> 4;
    if (c < 128) return this.done64(p, lo, hi);
    for (let s = 3; s < 32; s += 7) {
      c = b[p++]!;
      hi |= (c & 127) << s;
      if (c < 128) return this.done64(p, lo, hi);
    }
    if (p > this.len) throw truncated();
    throw new CodecError('VARINT_TOO_LONG', 'varint longer than 10 bytes');
  }

  private done64(p: number, lo: number, hi: number): void {
    if (p > this.len) throw truncated();
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  private unsignedNumber(kind: string): number {
    const hi = this.hi;
    if (hi > MAX_HI_SAFE) {
      throw new CodecError('INTEGER_RANGE', `${kind} value exceeds Number.MAX_SAFE_INTEGER`);
    }
    return hi * TWO_32 + this.lo;
  }

  private signedNumber(kind: string): number {
    const hi = this.hi | 0;
    const v = hi * TWO_32 + this.lo;
    if (hi > MAX_HI_SAFE || hi < -MAX_HI_SAFE - 1 || v < Number.MIN_SAFE_INTEGER) {
      throw new CodecError('INTEGER_RANGE', `${kind} value is outside the safe integer range`);
    }
    return v;
  }

  private unsignedBig(): bigint {
    if (this.hi === 0) return BigInt(this.lo);
    JOIN32[LO] = this.lo;
    JOIN32[HI] = this.hi;
    return JOIN64[0]!;
  }

  private signedBig(): bigint {
    if (this.hi === 0) return BigInt(this.lo);
    JOIN32[LO] = this.lo;
    JOIN32[HI] = this.hi;
    return JOIN64_SIGNED[0]!;
  }

  /** uint64 varint as a number; throws INTEGER_RANGE above 2^53-1. */
  uint64Number(): number {
    const v = this.varint28();
    if (v >= 0) return v;
    this.varint64();
    return this.unsignedNumber('uint64');
  }

  /** int64 varint as a number; throws INTEGER_RANGE outside the safe range. */
  int64Number(): number {
    const v = this.varint28();
    if (v >= 0) return v;
    this.varint64();
    return this.signedNumber('int64');
  }

  sint64Number(): number {
    this.varint64();
    const lo = this.lo;
    const hi = this.hi;
    const neg = lo & 1;
    // Un-zigzag: (z >>> 1) ^ -(z & 1), done on 32-bit halves.
    let rlo = ((lo >>> 1) | (hi << 31)) >>> 0;
    let rhi = hi >>> 1;
    if (neg) {
      rlo = ~rlo >>> 0;
      rhi = ~rhi >>> 0;
    }
    this.lo = rlo;
    this.hi = rhi;
    return this.signedNumber('sint64');
  }

  uint64Big(): bigint {
    const v = this.varint28();
    if (v >= 0) return BigInt(v);
    this.varint64();
    return this.unsignedBig();
  }

  int64Big(): bigint {
    const v = this.varint28();
    if (v >= 0) return BigInt(v);
    this.varint64();
    return this.signedBig();
  }

  sint64Big(): bigint {
    this.varint64();
    const z = this.unsignedBig();
    return (z >> 1n) ^ -(z & 1n);
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.len) throw truncated();
    this.pos = p + n;
    return p;
  }

  fixed32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }

  sfixed32(): number {
    return this.buf.readInt32LE(this.need(4));
  }

  private fixed64Halves(): void {
    const p = this.need(8);
    this.lo = this.buf.readUInt32LE(p);
    this.hi = this.buf.readUInt32LE(p + 4);
  }

  fixed64Number(): number {
    this.fixed64Halves();
    return this.unsignedNumber('fixed64');
  }

  sfixed64Number(): number {
    this.fixed64Halves();
    return this.signedNumber('sfixed64');
  }

  fixed64Big(): bigint {
    this.fixed64Halves();
    return this.unsignedBig();
  }

  sfixed64Big(): bigint {
    this.fixed64Halves();
    return this.signedBig();
  }

  float(): number {
    return this.buf.readFloatLE(this.need(4));
  }

  double(): number {
    return this.buf.readDoubleLE(this.need(8));
  }

  /** Reads a length prefix; returns the end offset of the body that follows. */
  end(): number {
    const n = this.uint32();
    const e = this.pos + n;
    if (e > this.len) throw truncated();
    return e;
  }

  /** Length-prefixed bytes as a view of the input. */
  bytes(): Buffer {
    const e = this.end();
    const s = this.pos;
    this.pos = e;
    return this.buf.subarray(s, e);
  }

  /** Length-prefixed UTF-8; invalid sequences become U+FFFD. */
  string(): string {
    const e = this.end();
    const s = this.pos;
    this.pos = e;
    const n = e - s;
    if (n === 0) return '';
    if (n <= 16) {
      const b = this.buf;
      let out = '';
      for (let i = s; i < e; i++) {
        const c = b[i]!;
        if (c >= 128) return b.toString('utf8', s, e);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return this.buf.toString('utf8', s, e);
  }

  /** Skips the value of a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.need(8);
        return;
      case 2:
        this.pos = this.end();
        return;
      case 3:
        this.skipGroup(-1);
        return;
      case 5:
        this.need(4);
        return;
      default:
        throw new CodecError('INVALID_WIRE_FORMAT', `invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  /** Skips the field whose key was just read. */
  skipTag(tag: number): void {
    if (tag >>> 3 === 0) throw new CodecError('INVALID_WIRE_FORMAT', `invalid field number 0 at offset ${this.pos}`);
    const wt = tag & 7;
    if (wt === 4) throw new CodecError('INVALID_WIRE_FORMAT', `unmatched end-group at offset ${this.pos}`);
    if (wt === 3) this.skipGroup(tag >>> 3);
    else this.skip(wt);
  }

  /** Skips a group's fields through its end-group key (for field, or any field if -1). */
  private skipGroup(field: number): void {
    for (;;) {
      const t = this.uint32();
      if ((t & 7) === 4) {
        if (field !== -1 && t >>> 3 !== field) {
          throw new CodecError('INVALID_WIRE_FORMAT', `mismatched end-group at offset ${this.pos}`);
        }
        return;
      }
      this.skipTag(t);
    }
  }

  /** Throws unless the body that should end at `end` ended exactly there. */
  checkEnd(end: number): void {
    if (this.pos !== end) {
      throw new CodecError('LENGTH_MISMATCH', `field overruns its message (at ${this.pos}, message ends at ${end})`);
    }
  }
}
