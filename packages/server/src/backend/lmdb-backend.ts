import fs from 'node:fs';
import path from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { open } from 'lmdb';
import type { Backend, Bucket, RangeOptions, WriteTx } from './backend.js';
import { Buckets } from './backend.js';
import { BackendClosedError, BackendError, EmptyKeyError, TxClosedError, UnknownBucketError } from './backend-error.js';
import { mergeBuffered } from './merge-buffered.js';
import { type BufferedWrite, WriteBuffer } from './write-buffer.js';

/**
 * How commits reach the disk.
 * - 'nosync': commits are not flushed; sync() flushes. A process crash loses
 *   nothing; an OS crash may lose (or, on file systems that reorder writes,
 *   damage) what was committed since the last sync(). The WAL replays it.
 * - 'overlapping': commits return before their flush, which LMDB performs
 *   in the background while keeping the previous committed state intact
 *   until it completes (lmdb-js overlappingSync).
 * - 'sync': every commit is flushed before transact() returns.
 */
export type LmdbDurability = 'nosync' | 'overlapping' | 'sync';

export interface LmdbBackendOptions {
  /** Database file path; defaults to <dataDir>/member/snap/db, where etcd keeps its bolt file. */
  readonly path?: string;
  readonly durability?: LmdbDurability;
  /**
   * Initial map size in bytes (address space, not disk; LMDB grows it as
   * needed). Default 10 GiB, etcd's initial bolt mmap size: growing the map
   * remaps the file and leaves the old mapping's pages resident.
   */
  readonly mapSize?: number;
  /**
   * Longest time, in ms, a committed transaction waits in the write buffer
   * before the buffer is written to LMDB (etcd's --backend-batch-interval;
   * default 100). 0 writes every transaction to LMDB before transact() returns.
   */
  readonly batchIntervalMs?: number;
  /** Most buffered writes before the buffer is written at once (etcd's --backend-batch-limit; default 10000). */
  readonly batchLimit?: number;
}

/** etcd's defaultBatchInterval and defaultBatchLimit. */
export const DEFAULT_BATCH_INTERVAL_MS = 100;
export const DEFAULT_BATCH_LIMIT = 10_000;
/** lmdb-js's longest key with its default page size. */
const DEFAULT_MAX_KEY_SIZE = 1978;

/** Where etcd keeps the backend database inside a data directory. */
export function backendPath(dataDir: string): string {
  return path.join(dataDir, 'member', 'snap', 'db');
}

const DEFAULT_MAP_SIZE = 10 * 1024 ** 3;
const TXN_ABORTABLE = 1;
const TXN_SYNCHRONOUS_COMMIT = 2;
const TXN_NO_SYNC_FLUSH = 0x10000;

type BinaryDb = Database<Buffer, Buffer>;
type DatabaseOptionsWithEncoder = Parameters<RootDatabase['openDB']>[1] & { encoder: object };

function writeError(op: string, bucket: Bucket, err: unknown): BackendError {
  return new BackendError('ErrBackendWrite', `backend: ${op} in ${bucket} failed: ${(err as Error).message}`, { cause: err });
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The LMDB backend: one environment (a single file plus its lock file) with
 * one named database per bucket; keys and values are raw bytes ordered by
 * unsigned byte comparison (LMDB's default memcmp order).
 *
 * Writes are batched as etcd batches bbolt's: transact() records fn's writes
 * in a write buffer, and the buffer goes to LMDB in one write transaction once
 * batchIntervalMs passed since its first write, once it holds batchLimit
 * writes, and before sync(), backup(), size() and close(). Reads (get, range, scan)
 * see LMDB through the buffer, so a committed transaction is visible at once.
 * This keeps LMDB's commit, several page writes, off each request's path; the
 * WAL holds every applied entry past the consistent index LMDB has, and a
 * restart applies them again.
 *
 * Buffers returned by get() and range() are copies owned by the caller. If fn
 * throws, its writes are undone. A transact() inside fn joins the outer
 * transaction. A failed write to LMDB is kept and thrown by every later
 * transact(), sync() and close(): the server must stop (fail-stop).
 */
export class LmdbBackend implements Backend {
  readonly kind = 'lmdb' as const;
  readonly path: string;
  readonly durability: LmdbDurability;
  readonly #env: RootDatabase;
  readonly #dbs = new Map<Bucket, BinaryDb>();
  /** Second handles on the same databases whose reads hand out lmdb-js's reused buffers, for scan(). */
  readonly #scanDbs = new Map<Bucket, Database<Buffer, Buffer>>();
  readonly #txnFlags: number;
  readonly #buffer = new WriteBuffer();
  readonly #batchIntervalMs: number;
  readonly #batchLimit: number;
  readonly #maxKeySize: number;
  /** Armed while the buffer holds writes and batchIntervalMs > 0. */
  #batchTimer: NodeJS.Timeout | undefined;
  /** The failure of a write of the buffer to LMDB; the buffer still holds what failed. */
  #writeFailure: BackendError | undefined;
  #closed = false;
  #tx: WriteTx | undefined;

  constructor(file: string, opts: LmdbBackendOptions = {}) {
    this.path = file;
    this.durability = opts.durability ?? 'nosync';
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.#env = open(file, {
        noSubdir: true,
        maxDbs: Buckets.length + 2,
        noSync: this.durability === 'nosync',
        overlappingSync: this.durability === 'overlapping',
        mapSize: opts.mapSize ?? DEFAULT_MAP_SIZE,
      });
      for (const b of Buckets) {
        this.#dbs.set(b, this.#env.openDB<Buffer, Buffer>(b, { keyEncoding: 'binary', encoding: 'binary' }));
      }
    } catch (err) {
      throw new BackendError('ErrBackendOpen', `backend: cannot open ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.#txnFlags =
      TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT | (this.durability === 'overlapping' ? TXN_NO_SYNC_FLUSH : 0);
    this.#batchIntervalMs = opts.batchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS;
    this.#batchLimit = opts.batchLimit ?? DEFAULT_BATCH_LIMIT;
    this.#maxKeySize = (this.#dbs.get('key') as unknown as { maxKeySize?: number }).maxKeySize ?? DEFAULT_MAX_KEY_SIZE;
  }

  #db(bucket: Bucket): BinaryDb {
    if (this.#closed) throw new BackendClosedError();
    const db = this.#dbs.get(bucket);
    if (db === undefined) throw new UnknownBucketError(bucket);
    return db;
  }

  get(bucket: Bucket, key: Uint8Array): Uint8Array | undefined {
    const db = this.#db(bucket);
    if (key.length === 0) return undefined;
    const w = this.#buffer.get(bucket, key);
    if (w !== undefined) return w.value === null ? undefined : Buffer.from(w.value);
    return db.getBinary(asBuffer(key));
  }

  range(bucket: Bucket, start: Uint8Array, opts: RangeOptions = {}): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
    const db = this.#db(bucket);
    const s = asBuffer(start);
    const e = opts.end === undefined ? undefined : asBuffer(opts.end);
    const limit = opts.limit ?? 0;
    const reverse = opts.reverse ?? false;
    if (!this.#buffer.has(bucket)) return rangeOf(db, s, e, limit, reverse);
    return mergeBuffered(rangeOf(db, s, e, 0, reverse), copies(this.#buffer.entries(bucket, s, e, reverse)), reverse, limit);
  }

  #scanDb(bucket: Bucket): Database<Buffer, Buffer> {
    this.#db(bucket);
    let db = this.#scanDbs.get(bucket);
    if (db === undefined) {
      // values: a decoder that lmdb-js trusts to copy gets the shared read buffer itself
      const volatileValues = {
        encode: (v: Buffer): Buffer => v,
        decode: (b: Buffer, size: number): Buffer => b.subarray(0, size),
      };
      db = this.#env.openDB<Buffer, Buffer>(bucket, { keyEncoding: 'binary', encoder: volatileValues } as DatabaseOptionsWithEncoder);
      // keys: a view of the shared key buffer instead of a copy
      (db as unknown as { readKey: (t: Buffer, s: number, e: number) => Buffer }).readKey = (t, s, e) => t.subarray(s, e);
      this.#scanDbs.set(bucket, db);
    }
    return db;
  }

  scan(bucket: Bucket, start: Uint8Array, end: Uint8Array | undefined, fn: (key: Buffer, value: Buffer) => boolean | void): void {
    const db = this.#scanDb(bucket);
    const s = asBuffer(start);
    const e = end === undefined ? undefined : asBuffer(end);
    if (e !== undefined && Buffer.compare(e, s) <= 0) return;
    const it = db.getRange({ ...(s.length > 0 ? { start: s } : {}), ...(e === undefined ? {} : { end: e }) });
    const stored = entriesOf(it);
    const entries = this.#buffer.has(bucket) ? mergeBuffered(stored, this.#buffer.entries(bucket, s, e, false), false, 0) : stored;
    for (const [key, value] of entries) {
      if (fn(key, value) === false) return;
    }
  }

  transact<T>(fn: (tx: WriteTx) => T): T {
    if (this.#closed) throw new BackendClosedError();
    if (this.#writeFailure !== undefined) throw this.#writeFailure;
    if (this.#tx !== undefined) return fn(this.#tx);
    let live = true;
    const check = (bucket: Bucket, key: Uint8Array, op: string): void => {
      if (!live) throw new TxClosedError();
      if (key.length === 0) throw new EmptyKeyError();
      this.#db(bucket);
      if (key.length > this.#maxKeySize) {
        throw writeError(op, bucket, new Error(`key of ${key.length} bytes exceeds the limit of ${this.#maxKeySize}`));
      }
    };
    const tx: WriteTx = {
      put: (bucket, key, value) => {
        check(bucket, key, 'put');
        this.#buffer.put(bucket, key, value);
      },
      delete: (bucket, key) => {
        check(bucket, key, 'delete');
        this.#buffer.delete(bucket, key);
      },
    };
    this.#tx = tx;
    this.#buffer.begin();
    let result: T;
    try {
      result = fn(tx);
      this.#buffer.end();
    } catch (err) {
      this.#buffer.rollback();
      throw err;
    } finally {
      live = false;
      this.#tx = undefined;
    }
    this.#scheduleWrite();
    return result;
  }

  /** Writes the buffer now when it is full or batching is off, else arms the batch timer. */
  #scheduleWrite(): void {
    const pending = this.#buffer.pending;
    if (pending === 0) return;
    if (pending >= this.#batchLimit || this.#batchIntervalMs <= 0) {
      this.#writeBuffer();
      return;
    }
    if (this.#batchTimer !== undefined) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      try {
        this.#writeBuffer();
      } catch {
        // kept in #writeFailure: the next transact(), sync() or close() throws it
      }
    }, this.#batchIntervalMs);
    this.#batchTimer.unref();
  }

  /**
   * Writes every buffered write to LMDB in one transaction, then empties the
   * buffer. On failure nothing of it is in LMDB, the buffer keeps serving
   * reads, and the backend refuses further writes.
   */
  #writeBuffer(): void {
    if (this.#batchTimer !== undefined) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = undefined;
    }
    if (this.#writeFailure !== undefined) throw this.#writeFailure;
    if (this.#buffer.pending === 0) return;
    try {
      this.#env.transactionSync(() => {
        for (const [bucket, w] of this.#buffer.all()) {
          const db = this.#dbs.get(bucket)!;
          try {
            if (w.value === null) db.removeSync(w.key);
            else db.putSync(w.key, w.value);
          } catch (err) {
            throw writeError(w.value === null ? 'delete' : 'put', bucket, err);
          }
        }
      }, this.#txnFlags);
    } catch (err) {
      this.#writeFailure =
        err instanceof BackendError ? err : new BackendError('ErrBackendWrite', `backend: commit failed: ${(err as Error).message}`, { cause: err });
      throw this.#writeFailure;
    }
    this.#buffer.clear();
  }

  async sync(): Promise<void> {
    if (this.#closed) throw new BackendClosedError();
    this.#writeBuffer();
    await this.#env.flushed;
    await new Promise<void>((resolve, reject) => {
      (this.#env as unknown as { sync(cb: (err?: Error) => void): void }).sync((err) => {
        if (err) reject(new BackendError('ErrBackendSync', `backend: sync failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  #stats(db: { getStats(): object }): LmdbStats {
    return db.getStats() as LmdbStats;
  }

  /** The file's size once every committed transaction reached it. */
  size(): number {
    if (this.#closed) throw new BackendClosedError();
    this.#writeBuffer();
    const st = this.#stats(this.#env);
    let fileSize = 0;
    try {
      fileSize = fs.statSync(this.path).size;
    } catch {
      fileSize = 0;
    }
    return Math.max(fileSize, (st.lastPageNumber + 1) * st.pageSize);
  }

  sizeInUse(): number {
    if (this.#closed) throw new BackendClosedError();
    this.#writeBuffer();
    const root = this.#stats(this.#env);
    const pages = (s: PageStats): number => s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    let n = 2 + pages(root) + pages(root.free);
    for (const db of this.#dbs.values()) n += pages(this.#stats(db));
    return n * root.pageSize;
  }

  /** Writes a consistent copy of the database to file (compacted when compact is set). */
  async backup(file: string, compact = true): Promise<void> {
    if (this.#closed) throw new BackendClosedError();
    this.#writeBuffer();
    await this.#env.backup(file, compact);
  }

  /**
   * Writes the buffer to LMDB and closes the environment. The environment is
   * closed even when that write fails, and the failure is then thrown: the
   * WAL still holds what the buffer did.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: unknown;
    try {
      this.#writeBuffer();
    } catch (err) {
      failure = err;
    }
    this.#closed = true;
    await this.#env.close();
    if (failure !== undefined) throw failure;
  }
}

interface PageStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  entryCount: number;
}

interface LmdbStats extends PageStats {
  lastPageNumber: number;
  free: PageStats;
}

const NO_KEY = Buffer.alloc(0);

function* entriesOf<K, V>(it: Iterable<{ key: K; value: V }>): IterableIterator<[K, V]> {
  for (const { key, value } of it) yield [key, value];
}

/** Buffered writes as copies the caller owns (the buffer's own are shared with later reads). */
function* copies(it: Iterable<BufferedWrite>): IterableIterator<BufferedWrite> {
  for (const w of it) yield w.value === null ? w : { key: Buffer.from(w.key), value: Buffer.from(w.value) };
}

function* rangeOf(
  db: BinaryDb,
  start: Buffer,
  end: Buffer | undefined,
  limit: number,
  reverse: boolean,
): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
  if (end !== undefined && Buffer.compare(end, start) <= 0) return;
  let n = 0;
  if (!reverse) {
    const it = db.getRange({
      ...(start.length > 0 ? { start } : {}),
      ...(end === undefined ? {} : { end }),
      ...(limit > 0 ? { limit } : {}),
    });
    for (const { key, value } of it) {
      yield [key, value];
    }
    return;
  }
  // descending: from just below end down to start inclusive. lmdb-js's default lower
  // bound for a reverse range leaves out the one-byte key 0x00; the empty key does not.
  const it = db.getRange({ ...(end === undefined ? {} : { start: end, exclusiveStart: true }), end: NO_KEY, reverse: true });
  for (const { key, value } of it) {
    if (Buffer.compare(key, start) < 0) return;
    if (limit > 0 && n >= limit) return;
    n++;
    yield [key, value];
  }
}

/** Opens (creating if needed) the LMDB backend of a data directory. */
export function openLmdbBackend(dataDir: string, opts: LmdbBackendOptions = {}): LmdbBackend {
  return new LmdbBackend(opts.path ?? backendPath(dataDir), opts);
}
