/**
 * The narrow view of the lessor the store needs (etcd's lease.Lessor as used
 * by mvcc): which lease a key is attached to. Keys are latin1 strings of the
 * key bytes. Lease 0n means no lease.
 *
 * The store calls these inside its write transactions: put detaches the
 * key's previous lease and attaches the new one; a deletion detaches; open()
 * attaches every live key that carries a lease.
 */
export interface LeaseAttachments {
  getLease(key: string): bigint;
  attach(lease: bigint, key: string): void;
  detach(lease: bigint, key: string): void;
}
