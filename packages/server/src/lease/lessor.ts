/**
 * The lessor: leases, the keys attached to each, and their expiry.
 *
 * Persistence: leases live in the backend's lease bucket (8-byte big-endian ID
 * -> leasepb.Lease), written in the same transaction as the log entry that
 * granted or revoked them. Attachments are not persisted: they are rebuilt from
 * the keys' lease field as the key-value store restores.
 *
 * Expiry (etcd's rules): only the primary (the leader's lessor) keeps
 * deadlines, on a monotonic clock; on promotion every lease gets its full TTL
 * plus `extend` again, so no lease expires because of a leader change or a
 * restart. A non-primary lessor never expires anything. Expired leases are
 * revoked through the log by the caller, so every member deletes the same keys
 * at the same revision.
 *
 * Invariants: a key is attached to at most one lease, and keyLease and each
 * lease's key set describe the same relation; expiry is finite iff primary.
 */
import { leasepb } from '@etcd-ts/api';
import type { Backend, WriteTx } from '../backend/backend.js';
import type { LeaseAttachments } from '../mvcc/lease-attachments.js';

/** etcd's MaxLeaseTTL: TTLs above it are refused. */
export const MAX_LEASE_TTL = 9_000_000_000;
/** A lease notified as expired is notified again after this long if it is still there. */
const EXPIRED_RETRY_MS = 3000;

export interface Lease {
  readonly id: bigint;
  /** Granted TTL in seconds (after the minimum TTL was applied). */
  readonly ttl: number;
  readonly keys: Set<string>;
  /** Monotonic deadline in ms; Infinity while not primary. */
  expiry: number;
  /** When the lease was last handed out as expired (monotonic ms), to pace retries. */
  notifiedAt: number;
}

/**
 * LEASE_EXPIRED: the lease is past its deadline and awaits revocation; etcd
 * does not renew it (the renewal waits for the revocation and then fails
 * with LEASE_NOT_FOUND).
 */
export type LessorErrorCode = 'LEASE_NOT_FOUND' | 'LEASE_EXISTS' | 'LEASE_TTL_TOO_LARGE' | 'NOT_PRIMARY' | 'LEASE_EXPIRED';

export class LessorError extends Error {
  override readonly name = 'LessorError';
  constructor(readonly code: LessorErrorCode) {
    super(code);
  }
}

export interface LessorOptions {
  /** Minimum TTL in seconds; shorter requests are raised to it. */
  readonly minTtl: number;
  /** Monotonic clock in ms. */
  readonly now?: () => number;
}

export class Lessor implements LeaseAttachments {
  private readonly leases = new Map<bigint, Lease>();
  private readonly keyLease = new Map<string, bigint>();
  private readonly minTtl: number;
  private readonly now: () => number;
  private primary = false;
  /** Callers waiting for a lease to be removed (or for this lessor to stop being primary). */
  private readonly removalWaiters = new Map<bigint, (() => void)[]>();

  /** Loads every persisted lease; attachments arrive as the key-value store restores. */
  constructor(backend: Backend, opts: LessorOptions) {
    this.minTtl = opts.minTtl;
    this.now = opts.now ?? (() => performance.now());
    for (const [, value] of backend.range('lease', Buffer.alloc(0))) {
      const l = leasepb.Lease.decode(value);
      this.leases.set(l.ID, { id: l.ID, ttl: l.TTL, keys: new Set(), expiry: Infinity, notifiedAt: -Infinity });
    }
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** Every lease, soonest expiry first (etcd's Leases() sorts by remaining time). */
  list(): Lease[] {
    return [...this.leases.values()].sort((a, b) => (a.expiry === b.expiry ? 0 : a.expiry < b.expiry ? -1 : 1));
  }

  /** Applies a grant (from a committed entry). */
  grant(tx: WriteTx, id: bigint, ttl: number): Lease {
    if (ttl > MAX_LEASE_TTL) throw new LessorError('LEASE_TTL_TOO_LARGE');
    if (this.leases.has(id)) throw new LessorError('LEASE_EXISTS');
    const granted = Math.max(ttl, this.minTtl);
    const lease: Lease = {
      id,
      ttl: granted,
      keys: new Set(),
      expiry: this.primary ? this.now() + granted * 1000 : Infinity,
      notifiedAt: -Infinity,
    };
    this.leases.set(id, lease);
    tx.put('lease', leaseKey(id), leasepb.Lease.encode({ ID: id, TTL: granted }));
    return lease;
  }

  /**
   * Forgets a revoked lease (from a committed entry). The caller deletes the
   * lease's keys in the same write transaction, before calling this.
   */
  remove(tx: WriteTx, id: bigint): void {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LessorError('LEASE_NOT_FOUND');
    for (const key of lease.keys) this.keyLease.delete(key);
    this.leases.delete(id);
    tx.delete('lease', leaseKey(id));
    const waiters = this.removalWaiters.get(id);
    if (waiters !== undefined) {
      this.removalWaiters.delete(id);
      for (const w of waiters) w();
    }
  }

  /** Resolves once the lease is removed, or once this lessor is demoted. */
  whenRemoved(id: bigint): Promise<void> {
    if (!this.leases.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.removalWaiters.get(id);
      if (list === undefined) this.removalWaiters.set(id, [resolve]);
      else list.push(resolve);
    });
  }

  /**
   * Extends a lease by its TTL from now; only the primary renews, and not a
   * lease already past its deadline (LEASE_EXPIRED). Returns the TTL.
   */
  renew(id: bigint): number {
    if (!this.primary) throw new LessorError('NOT_PRIMARY');
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LessorError('LEASE_NOT_FOUND');
    const now = this.now();
    if (lease.expiry <= now) throw new LessorError('LEASE_EXPIRED');
    lease.expiry = now + lease.ttl * 1000;
    lease.notifiedAt = -Infinity;
    return lease.ttl;
  }

  /** Remaining time to live in whole seconds (truncated, as etcd reports it); -1 when unknown. */
  remainingSeconds(lease: Lease): number {
    if (lease.expiry === Infinity) return lease.ttl;
    return Math.max(0, Math.trunc((lease.expiry - this.now()) / 1000));
  }

  /** Becomes primary: every lease is given its full TTL plus extendMs from now. */
  promote(extendMs: number): void {
    this.primary = true;
    const now = this.now();
    for (const l of this.leases.values()) {
      l.expiry = now + l.ttl * 1000 + extendMs;
      l.notifiedAt = -Infinity;
    }
  }

  /** Stops expiring leases: another member decides expiry now. */
  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiry = Infinity;
    const waiters = [...this.removalWaiters.values()].flat();
    this.removalWaiters.clear();
    for (const w of waiters) w();
  }

  /**
   * Leases past their deadline that should be revoked now, at most `limit`;
   * a lease handed out is not handed out again for EXPIRED_RETRY_MS.
   */
  expired(limit: number): bigint[] {
    if (!this.primary) return [];
    const now = this.now();
    const out: bigint[] = [];
    for (const l of this.leases.values()) {
      if (out.length >= limit) break;
      if (l.expiry <= now && now - l.notifiedAt >= EXPIRED_RETRY_MS) {
        l.notifiedAt = now;
        out.push(l.id);
      }
    }
    return out;
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
