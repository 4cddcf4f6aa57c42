import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of etcd's WAL.
 *
 * `seed` is a previously returned checksum: crc32c(b, crc32c(a)) === crc32c(a ‖ b),
 * which is what makes a chain of records tamper-evident. The check value of the
 * ASCII string "123456789" is 0xE3069283.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Below this many bytes a table loop beats the cost of crossing into native code. */
const NATIVE_THRESHOLD = 64;

/** CRC-32C of data[start, end), continuing from `seed`. */
export function crc32cRange(data: Uint8Array, start: number, end: number, seed = 0): number {
  if (end - start >= NATIVE_THRESHOLD) {
    return nativeCrc32c(data.subarray(start, end), seed) >>> 0;
  }
  let c = ~seed >>> 0;
  for (let i = start; i < end; i++) {
    c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** CRC-32C of all of data, continuing from `seed`. */
export function crc32c(data: Uint8Array, seed = 0): number {
  return crc32cRange(data, 0, data.length, seed);
}
