/**
 * A partial reader of stored mvccpb.KeyValue bytes for the restore scan: it
 * extracts only what rebuilding the index needs, without allocating the value.
 *
 * Field numbers (mvccpb.KeyValue): 1 key, 2 create_revision, 3 mod_revision,
 * 4 version, 5 value, 6 lease.
 */
export interface ScannedKeyValue {
  /** The key bytes as a latin1 string. */
  key: string;
  createRevision: number;
  version: number;
  /** 0n when the key carries no lease. */
  lease: bigint;
}

export class KeyValueScanError extends Error {
  readonly code = 'ErrCorruptKeyValue';
  constructor(message: string) {
    super(`mvcc: corrupt stored KeyValue: ${message}`);
    this.name = 'KeyValueScanError';
  }
}

/** Reads key, create_revision, version and lease from b into out (reused between calls). */
export function scanKeyValue(b: Buffer, out: ScannedKeyValue): ScannedKeyValue {
  out.key = '';
  out.createRevision = 0;
  out.version = 0;
  out.lease = 0n;
  let pos = 0;
  const len = b.length;
  while (pos < len) {
    const tag = b[pos++]!;
    if (tag > 0x7f) throw new KeyValueScanError('unexpected multi-byte tag');
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      // varint: fast path for values below 2^28, then the general case
      let lo = 0;
      let shift = 0;
      let byte: number;
      let n = 0;
      do {
        if (pos >= len) throw new KeyValueScanError('truncated varint');
        byte = b[pos++]!;
        if (shift < 28) lo |= (byte & 0x7f) << shift;
        else n += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      if (field === 6) {
        out.lease = shift <= 28 ? BigInt(lo) : readLease(b, pos);
        continue;
      }
      const v = n + (lo >>> 0);
      if (field === 2) out.createRevision = v;
      else if (field === 4) out.version = v;
    } else if (wire === 2) {
      let l = 0;
      let shift = 0;
      let byte: number;
      do {
        if (pos >= len) throw new KeyValueScanError('truncated length');
        byte = b[pos++]!;
        l += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      if (pos + l > len) throw new KeyValueScanError('truncated bytes');
      if (field === 1) out.key = b.toString('latin1', pos, pos + l);
      pos += l;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new KeyValueScanError(`unexpected wire type ${wire}`);
    }
  }
  return out;
}

/** Re-reads the varint that ends just before end as a 64-bit two's complement int64. */
function readLease(b: Buffer, end: number): bigint {
  let start = end - 1;
  while (start > 0 && (b[start - 1]! & 0x80) !== 0) start--;
  let v = 0n;
  let shift = 0n;
  for (let i = start; i < end; i++) {
    v |= BigInt(b[i]! & 0x7f) << shift;
    shift += 7n;
  }
  return BigInt.asIntN(64, v);
}
