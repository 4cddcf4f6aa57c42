/**
 * How values (and keys) are turned into bytes and back. Keys and values on
 * the wire are bytes; a codec gives them a type at the API.
 */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Keys and values accepted where bytes are expected. */
export type Bytes = Uint8Array | string;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes as a Buffer (no copy when already a Buffer). */
export function toBuffer(b: Bytes): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export const bufferCodec: Codec<Buffer> = {
  encode: (v) => v,
  decode: (b) => toBuffer(b),
};

export const stringCodec: Codec<string> = {
  encode: (v) => Buffer.from(v, 'utf8'),
  decode: (b) => utf8.decode(b),
};

/** JSON values; decode throws SyntaxError on bytes that are not JSON. */
export function jsonCodec<T = unknown>(): Codec<T> {
  return {
    encode: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
    decode: (b) => JSON.parse(utf8.decode(b)) as T,
  };
}
