import { randomBytes } from 'node:crypto';

const U64_MAX = 0xffffffffffffffffn;
const I64_MAX = 0x7fffffffffffffffn;
const I64_MIN = -0x8000000000000000n;

/** Thrown by the ID parsers for malformed or out-of-range input. */
export class IdParseError extends Error {
  override readonly name = 'IdParseError';
  readonly input: string;

  constructor(input: string, reason: string) {
    super(`invalid ID ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

/**
 * An ID as etcd prints member and cluster IDs (Go `%x`): lowercase hex, no
 * padding, no prefix; negative values (int64 fields) get a leading '-'.
 */
export function formatId(id: bigint): string {
  return id < 0n ? `-${(-id).toString(16)}` : id.toString(16);
}

/**
 * A lease ID as etcdctl prints it (Go `%016x`): lowercase hex zero-padded to
 * 16 characters, the sign counting toward the width.
 */
export function formatLeaseId(id: bigint): string {
  if (id < 0n) return `-${(-id).toString(16).padStart(15, '0')}`;
  return id.toString(16).padStart(16, '0');
}

/** Unsigned 64-bit ID from hex (as etcdctl reads member IDs), an optional 0x prefix allowed. */
export function parseHexId(s: string): bigint {
  const t = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) throw new IdParseError(s, 'expected 1 to 16 hex digits');
  return BigInt(`0x${t}`);
}

/** Unsigned 64-bit ID from decimal. */
export function parseDecimalId(s: string): bigint {
  if (!/^[0-9]{1,20}$/.test(s)) throw new IdParseError(s, 'expected decimal digits');
  const v = BigInt(s);
  if (v > U64_MAX) throw new IdParseError(s, 'exceeds 2^64-1');
  return v;
}

/**
 * A lease ID (int64) from hex, as etcdctl reads lease arguments: an optional
 * '-' sign and 0x prefix, value within int64.
 */
export function parseLeaseId(s: string): bigint {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const t = body.startsWith('0x') || body.startsWith('0X') ? body.slice(2) : body;
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) throw new IdParseError(s, 'expected 1 to 16 hex digits');
  const v = neg ? -BigInt(`0x${t}`) : BigInt(`0x${t}`);
  if (v > I64_MAX || v < I64_MIN) throw new IdParseError(s, 'outside the int64 range');
  return v;
}

/** An ID in hex (default, as etcdctl) or decimal. */
export function parseId(s: string, base: 16 | 10 = 16): bigint {
  return base === 16 ? parseHexId(s) : parseDecimalId(s);
}

/** A uniformly random non-zero uint64. */
export function randomId(): bigint {
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE(0);
    if (v !== 0n) return v;
  }
}

/** A uniformly random positive int64, suitable as a lease ID. */
export function randomLeaseId(): bigint {
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE(0) & I64_MAX;
    if (v !== 0n) return v;
  }
}

/** Whether v fits uint64. */
export function isUint64(v: bigint): boolean {
  return v >= 0n && v <= U64_MAX;
}

/** Whether v fits int64. */
export function isInt64(v: bigint): boolean {
  return v >= I64_MIN && v <= I64_MAX;
}
