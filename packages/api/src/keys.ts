/**
 * Key-range helpers. etcd ranges are half-open [key, rangeEnd) over raw bytes
 * in unsigned lexicographic order, with these conventions for rangeEnd:
 *   empty        -> the single key `key`
 *   "\0"         -> every key >= key (from-key)
 *   "\0" with key "\0" -> every key
 */

/** The one-byte "\0" used as a range end meaning "no upper bound". Must not be written to. */
export const FROM_KEY_END: Buffer = Buffer.from([0]);
/** Range end of the all-keys range (with key ALL_KEYS_START). Must not be written to. */
export const ALL_KEYS_END: Buffer = FROM_KEY_END;
/** Key of the all-keys range. Must not be written to. */
export const ALL_KEYS_START: Buffer = FROM_KEY_END;

/** A key given as bytes or as a string (UTF-8). */
export type KeyLike = Uint8Array | string;

/** Bytes of a key, sharing memory with a Uint8Array argument. */
export function keyBytes(k: KeyLike): Buffer {
  if (typeof k === 'string') return Buffer.from(k, 'utf8');
  if (Buffer.isBuffer(k)) return k;
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength);
}

/** Unsigned lexicographic comparison: negative, 0 or positive like Buffer.compare (-1, 0, 1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length);
  // Short keys are common; a plain loop beats the native call for them.
  if (n <= 16) {
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  return Buffer.compare(a, b) as -1 | 0 | 1;
}

/** Byte equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return compareBytes(a, b) === 0;
}

/**
 * The smallest key greater than every key with the given prefix: the last
 * byte below 0xff is incremented and everything after it dropped. A prefix of
 * only 0xff bytes (or an empty one) has no such key; the result is then "\0",
 * the from-key end, as etcd's GetPrefixRangeEnd does.
 */
export function prefixEnd(prefix: KeyLike): Buffer {
  const p = keyBytes(prefix);
  for (let i = p.length - 1; i >= 0; i--) {
    const c = p[i]!;
    if (c < 0xff) {
      const end = Buffer.allocUnsafe(i + 1);
      p.copy(end, 0, 0, i);
      end[i] = c + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/**
 * [key, rangeEnd) of every key with the prefix. An empty prefix means every
 * key ("\0", "\0"), as etcd's client does for WithPrefix on an empty key.
 */
export function prefixRange(prefix: KeyLike): { key: Buffer; rangeEnd: Buffer } {
  const p = keyBytes(prefix);
  if (p.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  return { key: p, rangeEnd: prefixEnd(p) };
}

/** Whether rangeEnd selects a range rather than the single key. */
export function isRange(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length > 0;
}

/** Whether rangeEnd is "\0": no upper bound. */
export function isFromKey(rangeEnd: Uint8Array | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/** Whether [key, rangeEnd) is the all-keys range ("\0", "\0"). */
export function isAllKeys(key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
  return key.length === 1 && key[0] === 0 && isFromKey(rangeEnd);
}

/**
 * Whether k lies in the range selected by (key, rangeEnd) under etcd's
 * conventions: the single key when rangeEnd is empty, [key, +inf) when it is
 * "\0", [key, rangeEnd) otherwise.
 */
export function inRange(k: Uint8Array, key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
  if (!isRange(rangeEnd)) return equalBytes(k, key);
  if (compareBytes(k, key) < 0) return false;
  if (isFromKey(rangeEnd)) return true;
  return compareBytes(k, rangeEnd!) < 0;
}
