/** Raised when bytes are not a valid encoding or a value cannot be encoded. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  /** Stable machine-readable reason. */
  readonly code: CodecErrorCode;

  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type CodecErrorCode =
  /** The input ended inside a field. */
  | 'TRUNCATED'
  /** A varint longer than 10 bytes. */
  | 'VARINT_TOO_LONG'
  /** Wire type 6 or 7, an unmatched end-group, or field number 0. */
  | 'INVALID_WIRE_FORMAT'
  /** A sub-message's fields run past its declared length. */
  | 'LENGTH_MISMATCH'
  /** A 64-bit value does not fit the field's JavaScript type. */
  | 'INTEGER_RANGE'
  /** More than one member of a oneof is set. */
  | 'ONEOF_CONFLICT';
