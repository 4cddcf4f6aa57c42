/**
 * The persisted state machine's storage: named buckets of byte keys to byte
 * values, ordered by unsigned byte comparison of keys (as bbolt and LMDB do).
 *
 * Durability contract: the write-ahead log is the source of durability. A backend
 * may acknowledge transact() before its data reaches the disk; sync() makes every
 * committed transaction durable, and must be awaited before WAL segments covering
 * those transactions are released.
 */

export const Buckets = [
  'key', // revision bytes -> mvccpb.KeyValue
  'meta', // consistent_index, scheduledCompactRev, finishedCompactRev, ...
  'lease', // lease ID (8 bytes BE) -> leasepb.Lease
  'members', // member ID -> JSON member
  'members_removed', // member ID -> "removed"
  'cluster', // clusterVersion, ...
  'alarm', // alarm member/type -> empty
  'auth', // authEnabled, authRevision
  'authUsers',
  'authRoles',
] as const;
export type Bucket = (typeof Buckets)[number];

export interface RangeOptions {
  /** Exclusive upper bound; undefined means to the end of the bucket. */
  readonly end?: Uint8Array;
  readonly limit?: number;
  readonly reverse?: boolean;
}

export interface WriteTx {
  put(bucket: Bucket, key: Uint8Array, value: Uint8Array): void;
  delete(bucket: Bucket, key: Uint8Array): void;
}

export interface Backend {
  readonly kind: 'lmdb' | 'memory';
  get(bucket: Bucket, key: Uint8Array): Uint8Array | undefined;
  /** Entries with start <= key < end in key order (reverse: descending). */
  range(bucket: Bucket, start: Uint8Array, opts?: RangeOptions): IterableIterator<[key: Uint8Array, value: Uint8Array]>;
  /**
   * Calls fn for each entry with start <= key < end (end undefined: to the
   * end of the bucket) in key order, until fn returns false. key and value
   * are views valid only until fn returns: nothing is copied, which makes
   * full scans (restore, hashing) several times faster than range(). fn must
   * not write to the backend.
   */
  scan(bucket: Bucket, start: Uint8Array, end: Uint8Array | undefined, fn: (key: Buffer, value: Buffer) => boolean | void): void;
  /**
   * Runs fn inside one atomic write transaction and commits it. Reads made
   * inside fn (through this backend) see fn's own writes. Synchronous; fn must
   * not await. If fn throws, nothing of it is committed.
   */
  transact<T>(fn: (tx: WriteTx) => T): T;
  /** Makes every committed transaction durable on disk. */
  sync(): Promise<void>;
  /** Size of the database file in bytes (etcd's dbSize). */
  size(): number;
  /** Bytes actually used by live pages (etcd's dbSizeInUse). */
  sizeInUse(): number;
  close(): Promise<void>;
}
