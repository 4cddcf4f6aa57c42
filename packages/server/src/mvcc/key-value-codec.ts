import { mvccpb } from '@etcd-ts/api';

/**
 * The one place where the store meets mvccpb.KeyValue's wire encoding.
 * Stored values in the key bucket are exactly these bytes (etcd stores the
 * marshalled KeyValue), so that HashKV matches etcd's and range responses
 * can embed them unchanged (PreEncoded).
 */
export type KeyValue = mvccpb.KeyValue;
export type KeyValueInit = mvccpb.KeyValueInit;

/** Encodes kv as mvccpb.KeyValue: fields in number order, zero values omitted. */
export function encodeKeyValue(kv: KeyValueInit): Buffer {
  return mvccpb.KeyValue.encode(kv);
}

/** Decodes stored KeyValue bytes; key and value are views into b. */
export function decodeKeyValue(b: Uint8Array): KeyValue {
  return mvccpb.KeyValue.decode(b);
}
