import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/**
 * The codec of one message type. `T` is the decoded shape (every field
 * present), `I` the encoder input (every field optional); every `T` is a
 * valid `I`.
 */
export interface MessageType<T, I> {
  /** `package.Message`, nested types joined with dots. */
  readonly fullName: string;
  /** A decoded-shape value from an input, defaults filled in. */
  create(init?: I): T;
  /** The encoding of `m` in a new Buffer. */
  encode(m: I): Buffer;
  /** Number of bytes encode(m) produces. */
  encodedSize(m: I): number;
  /** Appends the fields of `m` (no length prefix) to `w`. */
  encodeTo(m: I, w: Writer): void;
  /** Decodes a whole buffer. Bytes fields are views into `b`. */
  decode(b: Uint8Array): T;
  /** Decodes the fields between `r.pos` and `end`, leaving `r.pos === end`. */
  decodeFrom(r: Reader, end: number): T;
}
