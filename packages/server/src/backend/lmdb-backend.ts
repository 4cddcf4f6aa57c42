import fs from 'node:fs';
import path from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { open } from 'lmdb';
import type { Backend, Bucket, RangeOptions, WriteTx } from './backend.js';
import { Buckets } from './backend.js';
import { BackendClosedError, BackendError, EmptyKeyError, TxClosedError, UnknownBucketError } from './backend-error.js';

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
}

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
 * Buffers returned by get() and range() are copies owned by the caller.
 * transact() runs fn in one LMDB write transaction (lmdb-js transactionSync);
 * reads made through this backend inside fn see fn's writes; if fn throws the
 * transaction is aborted. A transact() inside fn joins the outer transaction.
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
  }

  #db(bucket: Bucket): BinaryDb {
    if (this.#closed) throw new BackendClosedError();
    const db = this.#dbs.get(bucket);
    if (db === undefined) throw new UnknownBucketError(bucket);
    return db;
  }

  get(bucket: Bucket, key: Uint8Array): Uint8Array | undefined {
    if (key.length === 0) return undefined;
    return this.#db(bucket).getBinary(asBuffer(key));
  }

  range(bucket: Bucket, start: Uint8Array, opts: RangeOptions = {}): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
    const db = this.#db(bucket);
    return rangeOf(db, asBuffer(start), opts.end === undefined ? undefined : asBuffer(opts.end), opts.limit ?? 0, opts.reverse ?? false);
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
    for (const { key, value } of it) {
      if (fn(key, value) === false) return;
    }
  }

  transact<T>(fn: (tx: WriteTx) => T): T {
    if (this.#closed) throw new BackendClosedError();
    if (this.#tx !== undefined) return fn(this.#tx);
    let live = true;
    const tx: WriteTx = {
      put: (bucket, key, value) => {
        if (!live) throw new TxClosedError();
        if (key.length === 0) throw new EmptyKeyError();
        const db = this.#db(bucket);
        try {
          db.putSync(asBuffer(key), asBuffer(value));
        } catch (err) {
          throw writeError('put', bucket, err);
        }
      },
      delete: (bucket, key) => {
        if (!live) throw new TxClosedError();
        if (key.length === 0) throw new EmptyKeyError();
        const db = this.#db(bucket);
        try {
          db.removeSync(asBuffer(key));
        } catch (err) {
          throw writeError('delete', bucket, err);
        }
      },
    };
    this.#tx = tx;
    try {
      return this.#env.transactionSync(() => fn(tx), this.#txnFlags);
    } finally {
      live = false;
      this.#tx = undefined;
    }
  }

  async sync(): Promise<void> {
    if (this.#closed) throw new BackendClosedError();
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

  size(): number {
    if (this.#closed) throw new BackendClosedError();
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
    const root = this.#stats(this.#env);
    const pages = (s: PageStats): number => s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages;
    let n = 2 + pages(root) + pages(root.free);
    for (const db of this.#dbs.values()) n += pages(this.#stats(db));
    return n * root.pageSize;
  }

  /** Writes a consistent copy of the database to file (compacted when compact is set). */
  async backup(file: string, compact = true): Promise<void> {
    if (this.#closed) throw new BackendClosedError();
    await this.#env.backup(file, compact);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#env.close();
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
  // descending: from just below end down to start inclusive
  const it = db.getRange({ ...(end === undefined ? {} : { start: end, exclusiveStart: true }), reverse: true });
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
