/**
 * The encoded bytes of one message, accepted wherever that message type is an
 * encoder input. The bytes are written verbatim as the field's body (no tag,
 * no length prefix), so they must be a valid encoding of the field's type;
 * this is not checked.
 */
export class PreEncoded {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}
