/** The shared default of decoded bytes fields. Zero-length, so it cannot be written through. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** A Buffer over the same memory as `v`, or the UTF-8 encoding of a string. */
export function toBuffer(v: Uint8Array | string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
