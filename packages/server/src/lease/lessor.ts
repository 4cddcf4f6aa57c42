/**
 * The lessor: the set of leases and the keys attached to each. Leases are
 * persisted in the backend's lease bucket (8-byte big-endian ID ->
 * leasepb.Lease) in the same transaction as the change that granted or revoked
 * them; attachments are not persisted, they are rebuilt from the keys' lease
 * field when the store is restored.
 *
 * Invariant: a key is attached to at most one lease, and keyLease and each
 * lease's key set describe the same relation.
 */
import { leasepb } from '@etcd-ts/api';
import type { Backend, WriteTx } from '../backend/backend.js';
import type { LeaseAttachments } from '../mvcc/lease-attachments.js';

export interface Lease {
  readonly id: bigint;
  /** Granted TTL in seconds. */
  readonly ttl: number;
  readonly keys: Set<string>;
}

export class Lessor implements LeaseAttachments {
  private readonly leases = new Map<bigint, Lease>();
  private readonly keyLease = new Map<string, bigint>();

  /** Loads every persisted lease; attachments arrive as the key-value store restores. */
  constructor(backend: Backend) {
    for (const [, value] of backend.range('lease', Buffer.alloc(0))) {
      const l = leasepb.Lease.decode(value);
      this.leases.set(l.ID, { id: l.ID, ttl: l.TTL, keys: new Set() });
    }
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  list(): Lease[] {
    return [...this.leases.values()];
  }

  grant(tx: WriteTx, id: bigint, ttl: number): Lease {
    const lease: Lease = { id, ttl, keys: new Set() };
    this.leases.set(id, lease);
    tx.put('lease', leaseKey(id), leasepb.Lease.encode({ ID: id, TTL: ttl }));
    return lease;
  }

  /** Forgets a lease; the caller deletes its keys in the same write transaction. */
  remove(tx: WriteTx, id: bigint): void {
    const lease = this.leases.get(id);
    if (lease === undefined) return;
    for (const key of lease.keys) this.keyLease.delete(key);
    this.leases.delete(id);
    tx.delete('lease', leaseKey(id));
  }

  getLease(key: string): bigint {
    return this.keyLease.get(key) ?? 0n;
  }

  attach(lease: bigint, key: string): void {
    const l = this.leases.get(lease);
    // A key restored with a lease that no longer exists stays unattached, as etcd does.
    if (l === undefined) return;
    l.keys.add(key);
    this.keyLease.set(key, lease);
  }

  detach(lease: bigint, key: string): void {
    this.leases.get(lease)?.keys.delete(key);
    if (this.keyLease.get(key) === lease) this.keyLease.delete(key);
  }
}

function leaseKey(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(id);
  return b;
}
