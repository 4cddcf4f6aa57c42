import type { Backend, WriteTx } from '../backend/backend.js';
import type { HashKVResult } from './hash.js';
import { hashByRev } from './hash.js';
import type { KeyValue } from './key-value-codec.js';
import { decodeKeyValue, encodeKeyValue } from './key-value-codec.js';
import type { ScannedKeyValue } from './key-value-scan.js';
import { scanKeyValue } from './key-value-scan.js';
import { KeyIndex } from './key-index.js';
import type { LeaseAttachments } from './lease-attachments.js';
import { CONSISTENT_INDEX_KEY, FINISHED_COMPACT_KEY, SCHEDULED_COMPACT_KEY } from './meta-keys.js';
import { ErrClosed, ErrCompacted, ErrFutureRev, ErrTxnState, MvccInvariantError } from './mvcc-error.js';
import type { Revision } from './revision.js';
import {
  bytesToMain,
  bytesToSub,
  bytesToUint64,
  isTombstoneKey,
  revToBytes,
  uint64ToBytes,
} from './revision.js';
import type { RevisionSet } from './revision.js';
import { TreeIndex } from './tree-index.js';

export interface KVStoreOptions {
  /** Key-bucket records examined per batch while compacting (etcd's CompactionBatchLimit). */
  readonly compactionBatchLimit?: number;
  /** The lessor's attachments, kept in step with puts and deletions. */
  readonly leases?: LeaseAttachments;
}

export interface RangeOptions {
  /** Revision to read at; 0 or absent reads at the transaction's revision. */
  readonly rev?: number;
  /** Maximum number of keys returned; 0 or absent means no limit. count is not limited. */
  readonly limit?: number;
  /** Return only the count. */
  readonly countOnly?: boolean;
}

export interface RangeResult {
  /** The key-values of the range at the requested revision, in key order. */
  readonly kvs: KeyValue[];
  /** How many keys the range holds at the requested revision (ignores limit). */
  readonly count: number;
  /** The revision of the transaction (not the requested revision), as etcd's header revision. */
  readonly rev: number;
}

export interface RangeRawResult {
  /** The stored mvccpb.KeyValue bytes of each key-value, in key order. */
  readonly kvs: Buffer[];
  readonly count: number;
  readonly rev: number;
}

export interface DeleteRangeResult {
  /** Number of keys deleted. */
  readonly deleted: number;
  /** The transaction's revision after the deletion (unchanged when nothing was deleted and nothing else written). */
  readonly rev: number;
}

export interface MvccEvent {
  readonly type: 'put' | 'delete';
  /** For a delete: the key, and modRevision = the deleting revision; other fields zero. */
  readonly kv: KeyValue;
}

/** Receives the revision and the changes (as TxnWrite.changes()) of an ended write transaction. */
export type WriteListener = (rev: number, changes: readonly KeyValue[]) => void;

/** A read at one revision (etcd's TxnRead). */
export interface TxnRead {
  /** The revision this transaction reads at. */
  readonly rev: number;
  /** The compacted revision when the transaction began. */
  readonly firstRev: number;
  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult;
  rangeRaw(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeRawResult;
  end(): void;
}

/**
 * A write transaction (etcd's TxnWrite): every change gets main revision
 * rev + 1 and increasing sub revisions from 0. Reads see the transaction's
 * own earlier writes.
 */
export interface TxnWrite {
  /** The store's revision when the transaction began. */
  readonly rev: number;
  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult;
  rangeRaw(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeRawResult;
  /** Writes key = value with lease (0n: none); returns the revision of the change. */
  put(key: Uint8Array, value: Uint8Array, lease?: bigint): number;
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): DeleteRangeResult;
  /** The changes made so far, in order: puts as stored, deletes as key + modRevision. */
  changes(): readonly KeyValue[];
  /** Publishes the changes: the store's revision advances by one when there were any. */
  end(): void;
}

/** What the transactions need from their store; not part of the store's public surface. */
interface StoreCore {
  rangeKeys(
    key: Uint8Array,
    end: Uint8Array | undefined,
    curRev: number,
    opts: RangeOptions,
    raw: boolean,
  ): { kvs: (KeyValue | Buffer)[]; count: number; rev: number };
  putKey(w: StoreTxnWrite, tx: WriteTx, key: Uint8Array, value: Uint8Array, lease: bigint): KeyValue;
  deleteKeys(w: StoreTxnWrite, tx: WriteTx, key: Uint8Array, end: Uint8Array | undefined): number;
  endWrite(w: StoreTxnWrite): void;
}

const DEFAULT_COMPACTION_BATCH_LIMIT = 1000;
const EMPTY = Buffer.alloc(0);
const GTE_RANGE_END = 0;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function latin1(b: Uint8Array): string {
  return asBuffer(b).toString('latin1');
}

/**
 * etcd's range end convention at the store boundary: undefined or empty
 * selects the single key; a single zero byte selects every key >= key
 * (index end ''); anything else is the exclusive end.
 */
function indexEnd(end: Uint8Array | undefined): string | undefined {
  if (end === undefined || end.length === 0) return undefined;
  if (end.length === 1 && end[0] === GTE_RANGE_END) return '';
  return latin1(end);
}

function revisionFromMeta(b: Uint8Array | undefined): number | undefined {
  return b === undefined || b.length < 8 ? undefined : bytesToMain(b);
}

/**
 * The multi-version key-value store (etcd's mvcc store).
 *
 * Layout: the backend's key bucket maps a revision key (17 bytes; 18 with
 * the tombstone mark) to the mvccpb.KeyValue bytes of that change; the
 * in-memory TreeIndex maps each key to its revisions. Values are only ever
 * read from the backend.
 *
 * Invariants:
 * - currentRev is the main revision of the last completed write transaction
 *   (1 for an empty store); every record in the key bucket has main <=
 *   currentRev once no write transaction is open.
 * - compactMainRev is the revision of the last compaction (-1 if none);
 *   reads below it fail with ErrCompacted. Once no compaction is pending,
 *   the key bucket holds, for revisions <= compactMainRev, only the newest
 *   non-tombstone record of each key that exists at compactMainRev; while
 *   one is pending, records it will delete may remain, and nothing reads
 *   them (the index no longer points to them).
 * - At most one TxnWrite is open, and its writes go through the WriteTx of
 *   the enclosing backend.transact(). If that transaction fails after a
 *   write, the in-memory state no longer matches the backend: the store must
 *   be discarded (fail-stop), as etcd panics on backend errors.
 */
export class KVStore {
  readonly backend: Backend;
  readonly #leases: LeaseAttachments | undefined;
  readonly #compactionBatchLimit: number;
  #index = new TreeIndex();
  #currentRev = 1;
  #compactMainRev = -1;
  #consistentIndex = 0;
  #activeWrite: StoreTxnWrite | undefined;
  /** A compaction whose index part is done and whose key-bucket deletions continue from start. */
  #pending: { readonly rev: number; readonly keep: RevisionSet; start: Buffer } | undefined;
  #closed = false;
  /** Told of every write transaction that changed something, as it ends. */
  #writeListener: WriteListener | undefined;
  readonly #core: StoreCore = {
    rangeKeys: (key, end, curRev, opts, raw) => this.#rangeKeys(key, end, curRev, opts, raw),
    putKey: (w, tx, key, value, lease) => this.#putKey(w, tx, key, value, lease),
    deleteKeys: (w, tx, key, end) => this.#deleteKeys(w, tx, key, end),
    endWrite: (w) => this.#endWrite(w),
  };

  constructor(backend: Backend, opts: KVStoreOptions = {}) {
    this.backend = backend;
    this.#leases = opts.leases;
    this.#compactionBatchLimit = opts.compactionBatchLimit ?? DEFAULT_COMPACTION_BATCH_LIMIT;
    this.#restore();
  }

  /** Opens the store over backend, rebuilding the index from the key bucket. */
  static open(backend: Backend, opts: KVStoreOptions = {}): KVStore {
    return new KVStore(backend, opts);
  }

  get currentRev(): number {
    return this.#currentRev;
  }

  /** The revision of the last compaction, -1 if the store was never compacted. */
  get compactRev(): number {
    return this.#compactMainRev;
  }

  /** The in-memory index (read-only use: watch and tests). */
  get index(): TreeIndex {
    return this.#index;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ErrClosed();
  }

  read(): TxnRead {
    this.#checkOpen();
    return new StoreTxnRead(this.#core, this.#currentRev, this.#compactMainRev);
  }

  /** Begins a write transaction whose writes go through tx; end() it before tx's transact() returns. */
  write(tx: WriteTx): TxnWrite {
    this.#checkOpen();
    if (this.#activeWrite !== undefined) throw new ErrTxnState('a write transaction is already open');
    const w = new StoreTxnWrite(this.#core, tx, this.#currentRev);
    this.#activeWrite = w;
    return w;
  }

  /**
   * Sets the one listener told, as each write transaction with changes ends
   * (still inside its backend transaction), of its revision and changes.
   */
  setWriteListener(fn: WriteListener | undefined): void {
    this.#writeListener = fn;
  }

  /** The raft index of the last entry applied to this backend (0 if none). */
  consistentIndex(): number {
    return this.#consistentIndex;
  }

  /** Records index as applied, in the same backend transaction as the changes it applied. */
  setConsistentIndex(tx: WriteTx, index: number): void {
    this.#checkOpen();
    tx.put('meta', CONSISTENT_INDEX_KEY, uint64ToBytes(index));
    this.#consistentIndex = index;
  }

  /**
   * Compacts the history at rev: every revision <= rev except the newest
   * revision <= rev of each key that exists at rev is removed, from the
   * index and from the key bucket, inside tx.
   */
  compact(tx: WriteTx, rev: number): void {
    this.scheduleCompaction(tx, rev);
    while (this.#pending !== undefined) this.#compactionBatch(tx);
  }

  /**
   * The first half of compact(): validates rev, records scheduledCompactRev
   * in tx and compacts the index, after which reads below rev fail with
   * ErrCompacted. The key-bucket records to delete are left for
   * compactionStep(), which removes them in batches, each in a backend
   * transaction of its own (as etcd does in the background). If the process
   * stops before the last batch, open() finishes the work.
   */
  scheduleCompaction(tx: WriteTx, rev: number): void {
    this.#checkOpen();
    if (this.#activeWrite !== undefined) throw new ErrTxnState('compact while a write transaction is open');
    if (rev <= this.#compactMainRev) throw new ErrCompacted(this.#compactMainRev);
    if (rev > this.#currentRev) throw new ErrFutureRev(this.#currentRev);
    // one compaction at a time: a pending one is completed first, in tx
    while (this.#pending !== undefined) this.#compactionBatch(tx);
    tx.put('meta', SCHEDULED_COMPACT_KEY, revToBytes({ main: rev, sub: 0 }));
    this.#compactMainRev = rev;
    const keep = this.#index.compact(rev);
    this.#pending = { rev, keep, start: revToBytes({ main: 0, sub: 0 }) };
  }

  /** The revision of a compaction whose key-bucket deletions are not finished, if any. */
  get pendingCompaction(): number | undefined {
    return this.#pending?.rev;
  }

  /**
   * Deletes one batch (compactionBatchLimit records examined) of the pending
   * compaction in its own backend transaction. Returns true when no
   * compaction is pending any more.
   */
  compactionStep(): boolean {
    this.#checkOpen();
    if (this.#pending === undefined) return true;
    this.backend.transact((tx) => this.#compactionBatch(tx));
    return this.#pending === undefined;
  }

  /**
   * Deletes, among the next compactionBatchLimit records with main <= rev,
   * those the compaction does not keep; records finishedCompactRev after the
   * last batch.
   */
  #compactionBatch(tx: WriteTx): void {
    const p = this.#pending;
    if (p === undefined) return;
    const limit = this.#compactionBatchLimit;
    const doomed: Buffer[] = [];
    let n = 0;
    let lastMain = 0;
    let lastSub = 0;
    this.backend.scan('key', p.start, uint64ToBytes(p.rev + 1), (k) => {
      n++;
      lastMain = bytesToMain(k);
      lastSub = bytesToSub(k);
      if (!p.keep.hasMainSub(lastMain, lastSub)) doomed.push(Buffer.from(k));
      return n < limit;
    });
    for (const k of doomed) tx.delete('key', k);
    if (n < limit) {
      tx.put('meta', FINISHED_COMPACT_KEY, revToBytes({ main: p.rev, sub: 0 }));
      this.#pending = undefined;
    } else {
      p.start = revToBytes({ main: lastMain, sub: lastSub + 1 });
    }
  }

  /** etcd's HashKV at rev (0: current revision). */
  hashByRev(rev: number): HashKVResult {
    this.#checkOpen();
    return hashByRev(this.backend, this.#index, this.#currentRev, this.#compactMainRev, rev);
  }

  /**
   * The events of main revisions [startRev, endRev) read from the key
   * bucket in revision order (at most limit of them when limit > 0), as
   * watchers catching up receive them. Throws ErrCompacted when startRev is
   * below the compacted revision.
   */
  events(startRev: number, endRev: number, limit = 0): MvccEvent[] {
    this.#checkOpen();
    if (startRev < this.#compactMainRev) throw new ErrCompacted(this.#compactMainRev);
    const out: MvccEvent[] = [];
    if (endRev <= startRev) return out;
    const opts = limit > 0 ? { end: uint64ToBytes(endRev), limit } : { end: uint64ToBytes(endRev) };
    for (const [k, v] of this.backend.range('key', uint64ToBytes(Math.max(startRev, 0)), opts)) {
      const kv = decodeKeyValue(v);
      if (isTombstoneKey(k)) {
        kv.modRevision = bytesToMain(k);
        out.push({ type: 'delete', kv });
      } else {
        out.push({ type: 'put', kv });
      }
    }
    return out;
  }

  close(): void {
    this.#closed = true;
  }

  // --- used by the transactions, through #core ---

  #rangeKeys(
    key: Uint8Array,
    end: Uint8Array | undefined,
    curRev: number,
    opts: RangeOptions,
    raw: boolean,
  ): { kvs: (KeyValue | Buffer)[]; count: number; rev: number } {
    this.#checkOpen();
    let rev = opts.rev ?? 0;
    if (rev > curRev) throw new ErrFutureRev(curRev);
    if (rev <= 0) rev = curRev;
    if (rev < this.#compactMainRev) throw new ErrCompacted(this.#compactMainRev);
    const k = latin1(key);
    const e = indexEnd(end);
    if (opts.countOnly === true) {
      return { kvs: [], count: this.#index.countRevisions(k, e, rev), rev: curRev };
    }
    const r = this.#index.range(k, e, rev, opts.limit ?? 0);
    const kvs: (KeyValue | Buffer)[] = new Array(r.revs.length);
    for (let i = 0; i < r.revs.length; i++) {
      const rv = r.revs[i]!;
      const v = this.backend.get('key', revToBytes(rv));
      if (v === undefined) {
        throw new MvccInvariantError(`range cannot find revision ${rv.main}.${rv.sub} of an indexed key`);
      }
      kvs[i] = raw ? asBuffer(v) : decodeKeyValue(v);
    }
    return { kvs, count: r.total, rev: curRev };
  }

  #putKey(w: StoreTxnWrite, tx: WriteTx, key: Uint8Array, value: Uint8Array, lease: bigint): KeyValue {
    const rev = w.rev + 1;
    const k = latin1(key);
    const prior = this.#index.get(k, rev);
    let createRevision = rev;
    let version = 1;
    let oldLease = 0n;
    if (prior !== undefined) {
      createRevision = prior.created.main;
      version = prior.ver + 1;
      if (this.#leases !== undefined) oldLease = this.#leases.getLease(k);
    }
    const idxRev: Revision = { main: rev, sub: w.changeCount };
    const kv: KeyValue = { key: asBuffer(key), createRevision, modRevision: rev, version, value: asBuffer(value), lease };
    tx.put('key', revToBytes(idxRev), encodeKeyValue(kv));
    this.#index.put(k, idxRev);
    if (this.#leases !== undefined) {
      if (oldLease !== 0n) this.#leases.detach(oldLease, k);
      if (lease !== 0n) this.#leases.attach(lease, k);
    }
    return kv;
  }

  #deleteKeys(w: StoreTxnWrite, tx: WriteTx, key: Uint8Array, end: Uint8Array | undefined): number {
    const rrev = w.changeCount > 0 ? w.rev + 1 : w.rev;
    const { keys } = this.#index.range(latin1(key), indexEnd(end), rrev);
    for (const k of keys) {
      const idxRev: Revision = { main: w.rev + 1, sub: w.changeCount };
      const keyBytes = Buffer.from(k, 'latin1');
      tx.put('key', revToBytes(idxRev, true), encodeKeyValue({ key: keyBytes }));
      this.#index.tombstone(k, idxRev);
      w.recordChange({ key: keyBytes, createRevision: 0, modRevision: idxRev.main, version: 0, value: EMPTY, lease: 0n });
      if (this.#leases !== undefined) {
        const lease = this.#leases.getLease(k);
        if (lease !== 0n) this.#leases.detach(lease, k);
      }
    }
    return keys.length;
  }

  #endWrite(w: StoreTxnWrite): void {
    if (this.#activeWrite !== w) throw new ErrTxnState('ending a write transaction that is not open');
    this.#activeWrite = undefined;
    if (w.changeCount > 0) {
      this.#currentRev++;
      this.#writeListener?.(this.#currentRev, w.changes());
    }
  }

  // --- restore ---

  #restore(): void {
    const be = this.backend;
    const finished = revisionFromMeta(be.get('meta', FINISHED_COMPACT_KEY));
    if (finished !== undefined) this.#compactMainRev = finished;
    let scheduled = revisionFromMeta(be.get('meta', SCHEDULED_COMPACT_KEY));
    const ci = be.get('meta', CONSISTENT_INDEX_KEY);
    this.#consistentIndex = ci !== undefined && ci.length === 8 ? bytesToUint64(ci) : 0;

    const index = this.#index;
    const keyToLease = this.#leases !== undefined ? new Map<string, bigint>() : undefined;
    const sc: ScannedKeyValue = { key: '', createRevision: 0, version: 0, lease: 0n };
    let currentRev = 1;
    be.scan('key', revToBytes({ main: 1, sub: 0 }), undefined, (rk, v) => {
      const main = bytesToMain(rk);
      const sub = bytesToSub(rk);
      const tomb = isTombstoneKey(rk);
      scanKeyValue(v, sc);
      const key = sc.key;
      if (keyToLease !== undefined) {
        if (tomb || sc.lease === 0n) keyToLease.delete(key);
        else keyToLease.set(key, sc.lease);
      }
      currentRev = main;
      const ki = index.keyIndex(key);
      if (ki !== undefined) {
        if (tomb) {
          if (!ki.lastGenerationEmpty()) ki.tombstone(main, sub);
        } else {
          ki.put(main, sub);
        }
      } else if (!tomb) {
        const nki = new KeyIndex(key);
        nki.restore({ main: sc.createRevision, sub: 0 }, { main, sub }, sc.version);
        index.insert(nki);
      }
    });
    if (scheduled !== undefined && scheduled <= this.#compactMainRev) scheduled = undefined;
    // a compaction (finished, or interrupted between batches) may have removed
    // every record of the newest revisions; the revision never goes back
    this.#currentRev = Math.max(currentRev, this.#compactMainRev, scheduled ?? 0);
    if (keyToLease !== undefined && this.#leases !== undefined) {
      for (const [key, lease] of keyToLease) this.#leases.attach(lease, key);
    }
    if (scheduled !== undefined) {
      // finish the compaction that was interrupted
      const rev = scheduled;
      be.transact((tx) => this.compact(tx, rev));
    }
  }
}

class StoreTxnRead implements TxnRead {
  readonly #store: StoreCore;
  readonly rev: number;
  readonly firstRev: number;

  constructor(store: StoreCore, rev: number, firstRev: number) {
    this.#store = store;
    this.rev = rev;
    this.firstRev = firstRev;
  }

  range(key: Uint8Array, end: Uint8Array | undefined, opts: RangeOptions = {}): RangeResult {
    return this.#store.rangeKeys(key, end, this.rev, opts, false) as RangeResult;
  }

  rangeRaw(key: Uint8Array, end: Uint8Array | undefined, opts: RangeOptions = {}): RangeRawResult {
    return this.#store.rangeKeys(key, end, this.rev, opts, true) as RangeRawResult;
  }

  end(): void {}
}

class StoreTxnWrite implements TxnWrite {
  readonly #store: StoreCore;
  readonly #tx: WriteTx;
  /** The store's revision at begin; changes are written at rev + 1. */
  readonly rev: number;
  readonly #changes: KeyValue[] = [];
  #ended = false;

  constructor(store: StoreCore, tx: WriteTx, rev: number) {
    this.#store = store;
    this.#tx = tx;
    this.rev = rev;
  }

  get changeCount(): number {
    return this.#changes.length;
  }

  recordChange(kv: KeyValue): void {
    this.#changes.push(kv);
  }

  #check(): void {
    if (this.#ended) throw new ErrTxnState('write transaction already ended');
  }

  #readRev(): number {
    return this.#changes.length > 0 ? this.rev + 1 : this.rev;
  }

  range(key: Uint8Array, end: Uint8Array | undefined, opts: RangeOptions = {}): RangeResult {
    this.#check();
    return this.#store.rangeKeys(key, end, this.#readRev(), opts, false) as RangeResult;
  }

  rangeRaw(key: Uint8Array, end: Uint8Array | undefined, opts: RangeOptions = {}): RangeRawResult {
    this.#check();
    return this.#store.rangeKeys(key, end, this.#readRev(), opts, true) as RangeRawResult;
  }

  put(key: Uint8Array, value: Uint8Array, lease = 0n): number {
    this.#check();
    this.#changes.push(this.#store.putKey(this, this.#tx, key, value, lease));
    return this.rev + 1;
  }

  deleteRange(key: Uint8Array, end: Uint8Array | undefined): DeleteRangeResult {
    this.#check();
    const n = this.#store.deleteKeys(this, this.#tx, key, end);
    return { deleted: n, rev: n !== 0 || this.#changes.length > 0 ? this.rev + 1 : this.rev };
  }

  changes(): readonly KeyValue[] {
    return this.#changes;
  }

  end(): void {
    this.#check();
    this.#ended = true;
    this.#store.endWrite(this);
  }
}
