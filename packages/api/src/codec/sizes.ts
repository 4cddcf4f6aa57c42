/**
 * Encoded sizes of field values, matching Writer byte for byte. Invalid
 * values (which the Writer rejects) get some size; the Writer throws first.
 */

/** Size of the varint of v taken as an unsigned 32-bit integer (as Writer.uint32 takes it). */
export function varint32Size(v: number): number {
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}


export function sint32Size(v: number): number {
  return varint32Size(((v << 1) ^ (v >> 31)) >>> 0);
}

/** Size of the varint of a non-negative safe integer. */
function varintNumberSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x10000000) return v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
  return v < 0x800000000 ? 5 : v < 0x40000000000 ? 6 : v < 0x2000000000000 ? 7 : 8;
}

export function int64NumberSize(v: number): number {
  return v < 0 ? 10 : varintNumberSize(v);
}

export function uint64NumberSize(v: number): number {
  return v < 0 ? 10 : varintNumberSize(v);
}

export function sint64NumberSize(v: number): number {
  // Zigzag: 2v or -2v-1; both exact below 2^54, where the buckets are.
  return varintNumberSize(v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Size of the varint of a bigint in [0, 2^64); negative values (int64) take 10 bytes. */
export function varintBigSize(v: bigint): number {
  if (v < 0n) return 10;
  if (v < 0x10000000n) return varint32Size(Number(v));
  if (v < 0x800000000n) return 5;
  if (v < 0x40000000000n) return 6;
  if (v < 0x2000000000000n) return 7;
  if (v < 0x100000000000000n) return 8;
  if (v < 0x8000000000000000n) return 9;
  return 10;
}

export function uint64Size(v: number | bigint): number {
  return typeof v === 'number' ? uint64NumberSize(v) : varintBigSize(v);
}

export function int64Size(v: number | bigint): number {
  return typeof v === 'number' ? int64NumberSize(v) : varintBigSize(v);
}

export function sint64Size(v: number | bigint): number {
  if (typeof v === 'number') return sint64NumberSize(v);
  return varintBigSize(v >= 0n ? v << 1n : (-v << 1n) - 1n);
}

/** UTF-8 length of s (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 4;
        i++;
      } else {
        len += 3;
      }
    } else len += 3;
  }
  return len;
}

/** Size of a length-prefixed string. */
export function stringSize(s: string): number {
  const n = utf8Length(s);
  return varint32Size(n) + n;
}

/** Size of length-prefixed bytes (a string as its UTF-8 encoding). */
export function bytesSize(v: Uint8Array | string): number {
  if (typeof v === 'string') return stringSize(v);
  const n = v.length;
  return varint32Size(n) + n;
}

/** Size of a length prefix plus a body of n bytes. */
export function delimitedSize(n: number): number {
  return varint32Size(n) + n;
}
