import { constants as fsConstants, readdirSync } from 'node:fs';
import { open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { EntryType, type Entry, type HardState } from '../raft/types.js';
import { fsyncDir, mkdirDurable } from '../util/fs-sync.js';
import { frameBytes, MAX_PAYLOAD_BYTES } from './record-frame.js';
import { ENTRY_FIXED_BYTES, HARD_STATE_BYTES, SNAPSHOT_BYTES, type WalSnapshot } from './record-payload.js';
import { RecordEncoder } from './record-encoder.js';
import { readWal, type SegmentFile } from './read-wal.js';
import { parseSegmentName, segmentName } from './segment-name.js';
import {
  WalClosedError,
  WalError,
  WalExistsError,
  WalFatalError,
  WalInvalidArgumentError,
  WalIoError,
  WalNotFoundError,
} from './wal-errors.js';
import { WalLock } from './wal-lock.js';
import { InlineWritePolicy } from './inline-write-policy.js';
import { writeAt, writeAtSync } from './write-at.js';

export type { WalSnapshot } from './record-payload.js';

/** etcd's segment size: a segment is cut once it reaches 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface WalOptions {
  /** Cut a new segment once the current one holds at least this many bytes. */
  readonly segmentBytes?: number;
  /** etcd's --unsafe-no-fsync: never fsync. Acknowledged writes may be lost on power failure. */
  readonly unsafeNoFsync?: boolean;
  /**
   * Replaces the fsync/fdatasync of segment files (not of directories); a rejection
   * is treated as an fsync failure. For fault injection.
   */
  readonly syncFile?: (file: FileHandle) => Promise<void>;
}

export interface WalStats {
  /** fsync/fdatasync calls issued, on segment files and directories. */
  fsyncs: number;
  /** Write+fsync rounds of the group commit. */
  batches: number;
  /** save() and saveSnapshot() calls acknowledged. */
  saves: number;
  bytesWritten: number;
  segmentsCut: number;
}

/** What open() cut off the end of the last segment. */
export interface WalRepair {
  readonly file: string;
  readonly offset: number;
  readonly bytesRemoved: number;
  /** Why the tail was not a complete record; undefined when only zero fill was removed. */
  readonly reason: string | undefined;
}

export interface WalOpenResult {
  readonly wal: Wal;
  readonly metadata: Uint8Array;
  /** The last hard state recorded; emptyHardState when none was. */
  readonly hardState: HardState;
  /** The log after the snapshot: entries[i].index === snapshot.index + 1 + i. */
  readonly entries: Entry[];
  readonly repaired: WalRepair | undefined;
}

interface Pending {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: WalSnapshot | undefined;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface TailState {
  fh: FileHandle;
  seq: number;
  /** Bytes of the tail segment; every byte before it is covered by an fsync. */
  offset: number;
  /** Chained crc of the last record written. */
  crc: number;
}

const MAX_U64 = (1n << 64n) - 1n;

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function validateEntries(entries: readonly Entry[]): string | undefined {
  let prev = -1;
  for (const e of entries) {
    if (!isIndex(e.index) || e.index < 1) return `entry index ${e.index} is not a positive safe integer`;
    if (!isIndex(e.term)) return `entry term ${e.term} is not a non-negative safe integer`;
    if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange && e.type !== EntryType.ConfChangeV2) {
      return `entry type ${String(e.type)} is unknown`;
    }
    if (ENTRY_FIXED_BYTES + e.data.length > MAX_PAYLOAD_BYTES) return `entry ${e.index} is too large`;
    if (prev >= 0 && e.index !== prev + 1) return `entries are not contiguous: ${e.index} follows ${prev}`;
    prev = e.index;
  }
  return undefined;
}

function validateHardState(hs: HardState): string | undefined {
  if (!isIndex(hs.term) || !isIndex(hs.commit)) return 'hard state term and commit must be non-negative safe integers';
  if (hs.vote < 0n || hs.vote > MAX_U64) return 'hard state vote must be a uint64';
  return undefined;
}

function wrapIo(message: string, err: unknown): WalError {
  return err instanceof WalError ? err : new WalIoError(`${message}: ${(err as Error).message}`, err);
}

/**
 * The write-ahead log: raft entries, hard states and snapshot markers appended to
 * CRC-32C-chained segment files in one directory (format: docs/wal-format.md).
 *
 * Invariants:
 * - a save() resolves only after an fsync covering its records has completed; saves
 *   resolve in call order; saves issued while a write+fsync is in flight are written
 *   together and covered by a single fsync (group commit);
 * - after any write or fsync failure every pending and later save rejects with
 *   WalFatalError: nothing unacknowledged is assumed durable;
 * - only one Wal holds a directory at a time (WalLock).
 */
export class Wal {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly opts: WalOptions;
  private readonly metadata: Uint8Array;
  private readonly lock: WalLock;
  /** Segment files from oldest to newest; the last one is the tail being appended. */
  private readonly segments: SegmentFile[];
  private tail: TailState;
  private durableLastIndex: number;
  /** Largest durable snapshot marker index; releaseTo never removes the segment needed to open from it. */
  private snapshotIndex: number;
  /** The last hard state written; recorded again at the head of each new segment. */
  private lastHardState: HardState | undefined;
  private queue: Pending[] = [];
  private flushing = false;
  private fatal: WalFatalError | undefined;
  private closing: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly counters: WalStats;
  private readonly inlinePolicy = new InlineWritePolicy();

  private constructor(init: {
    dir: string;
    options: WalOptions;
    metadata: Uint8Array;
    lock: WalLock;
    segments: SegmentFile[];
    tail: TailState;
    lastIndex: number;
    snapshotIndex: number;
    hardState: HardState | undefined;
    stats: WalStats;
  }) {
    this.dir = init.dir;
    this.segmentBytes = segmentBytesOf(init.options);
    this.opts = init.options;
    this.metadata = init.metadata;
    this.lock = init.lock;
    this.segments = init.segments;
    this.tail = init.tail;
    this.durableLastIndex = init.lastIndex;
    this.snapshotIndex = init.snapshotIndex;
    this.lastHardState = init.hardState;
    this.counters = init.stats;
  }

  /** True when `dir` holds at least one segment file. */
  static exists(dir: string): boolean {
    try {
      return readdirSync(dir).some((name) => parseSegmentName(name) !== undefined);
    } catch {
      return false;
    }
  }

  /**
   * Creates a WAL in `dir` whose first segment holds `metadata` and the snapshot
   * marker {index: 0, term: 0}. The segment is written and fsynced in `<dir>.tmp`,
   * which is then renamed to `dir`, so a crash never leaves a partial WAL in `dir`.
   */
  static async create(dir: string, metadata: Uint8Array, options: WalOptions = {}): Promise<Wal> {
    const abs = path.resolve(dir);
    segmentBytesOf(options);
    if (Wal.exists(abs)) throw new WalExistsError(abs);
    const tmp = `${abs}.tmp`;
    const stats = newStats();
    await rm(tmp, { recursive: true, force: true }).catch((err: unknown) => {
      throw wrapIo(`removing ${tmp}`, err);
    });
    await mkdirDurable(tmp).catch((err: unknown) => {
      throw wrapIo(`creating ${tmp}`, err);
    });
    const lock = await WalLock.acquire(abs, tmp);
    let fh: FileHandle | undefined;
    try {
      const name = segmentName(0, 0);
      fh = await open(path.join(tmp, name), appendFlags(options, 'create'), 0o600);
      const enc = new RecordEncoder(0, 256 + metadata.length);
      enc.addCrc({ prevCrc: 0, seq: 0, index: 0 });
      enc.addMetadata(metadata);
      enc.addSnapshot({ index: 0, term: 0 });
      await writeAt(fh.fd, enc.bytes(), 0);
      await syncNewFile(fh, options, stats);
      await syncDirCounted(tmp, options, stats);
      await rm(abs, { recursive: true, force: true });
      await rename(tmp, abs);
      lock.relocated();
      await syncDirCounted(path.dirname(abs), options, stats);
      stats.bytesWritten += enc.length;
      return new Wal({
        dir: abs,
        options,
        metadata: new Uint8Array(metadata),
        lock,
        segments: [{ name, seq: 0, index: 0 }],
        tail: { fh, seq: 0, offset: enc.length, crc: enc.crc },
        lastIndex: 0,
        snapshotIndex: 0,
        hardState: undefined,
        stats,
      });
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await lock.release();
      throw wrapIo(`creating wal in ${abs}`, err);
    }
  }

  /**
   * Opens the WAL in `dir` for appending and reads it from the snapshot marker
   * `snapshot` (default {index: 0, term: 0}), which must be present. A torn write at
   * the end of the last segment is cut off and the file fsynced; any other damage
   * throws WalCorruptError.
   */
  static async open(
    dir: string,
    snapshot: WalSnapshot = { index: 0, term: 0 },
    options: WalOptions = {},
  ): Promise<WalOpenResult> {
    const abs = path.resolve(dir);
    if (!isIndex(snapshot.index) || !isIndex(snapshot.term)) {
      throw new WalInvalidArgumentError('snapshot index and term must be non-negative safe integers');
    }
    segmentBytesOf(options);
    if (!Wal.exists(abs)) throw new WalNotFoundError(abs);
    const lock = await WalLock.acquire(abs);
    let fh: FileHandle | undefined;
    try {
      await removeTempSegments(abs);
      const r = await readWal(abs, snapshot);
      const stats = newStats();
      const tailPath = path.join(abs, r.tail.file.name);
      fh = await open(tailPath, appendFlags(options, 'existing'));
      let repaired: WalRepair | undefined;
      if (r.tail.validEnd < r.tail.size) {
        await fh.truncate(r.tail.validEnd);
        await syncNewFile(fh, options, stats);
        repaired = {
          file: tailPath,
          offset: r.tail.validEnd,
          bytesRemoved: r.tail.size - r.tail.validEnd,
          reason: r.tail.tear?.reason,
        };
      }
      const wal = new Wal({
        dir: abs,
        options,
        metadata: r.metadata,
        lock,
        segments: r.segments,
        tail: { fh, seq: r.tail.file.seq, offset: r.tail.validEnd, crc: r.crc },
        lastIndex: r.lastIndex,
        snapshotIndex: r.snapshotIndex,
        hardState: r.lastHardState,
        stats,
      });
      return { wal, metadata: r.metadata, hardState: r.hardState, entries: r.entries, repaired };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await lock.release();
      throw wrapIo(`opening wal in ${abs}`, err);
    }
  }

  /** Index of the last entry durably saved (raised by snapshot markers); may drop after an overwrite. */
  get lastIndex(): number {
    return this.durableLastIndex;
  }

  get stats(): Readonly<WalStats> {
    return { ...this.counters };
  }

  /**
   * Appends `entries` (contiguous indexes) then `hardState`, resolving once they are
   * durable. An entry at index i supersedes any earlier entry at i and after it.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void> {
    const invalid = validateEntries(entries) ?? (hardState === undefined ? undefined : validateHardState(hardState));
    if (invalid !== undefined) return Promise.reject(new WalInvalidArgumentError(invalid));
    return this.enqueue(hardState, entries, undefined);
  }

  /** Records a snapshot marker durably, so that open() can start from it. */
  saveSnapshot(snapshot: WalSnapshot): Promise<void> {
    if (!isIndex(snapshot.index) || !isIndex(snapshot.term)) {
      return Promise.reject(new WalInvalidArgumentError('snapshot index and term must be non-negative safe integers'));
    }
    return this.enqueue(undefined, [], { index: snapshot.index, term: snapshot.term });
  }

  /**
   * Removes the segments that precede the last segment whose first index is <=
   * min(index, latest snapshot marker index): every entry still in the log from
   * them is <= index, and open() from the latest marker still finds it. Call only
   * once the state machine covering `index` is durable. The tail is never removed.
   */
  async releaseTo(index: number): Promise<void> {
    if (this.closing !== undefined) throw new WalClosedError();
    const limit = Math.min(index, this.snapshotIndex);
    let keep = -1;
    for (let i = 0; i < this.segments.length; i++) {
      if ((this.segments[i] as SegmentFile).index <= limit) keep = i;
    }
    if (keep <= 0) return;
    const victims = this.segments.splice(0, keep);
    try {
      // Oldest first: an interruption leaves a gap-free suffix of the sequence.
      for (const v of victims) {
        await unlink(path.join(this.dir, v.name)).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        });
      }
      await syncDirCounted(this.dir, this.opts, this.counters);
    } catch (err) {
      throw wrapIo(`releasing segments up to index ${index}`, err);
    }
  }

  /** Waits for queued saves, then closes the tail segment and releases the directory. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = (async () => {
        await this.idle();
        try {
          await this.tail.fh.close();
        } finally {
          await this.lock.release();
        }
      })();
    }
    return this.closing;
  }

  private enqueue(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    snapshot: WalSnapshot | undefined,
  ): Promise<void> {
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.closing !== undefined) return Promise.reject(new WalClosedError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ hardState, entries, snapshot, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Start on a later tick so that saves issued in the same turn share one batch.
        queueMicrotask(() => void this.flushLoop());
      }
    });
  }

  private idle(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.fatal === undefined) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
        } catch (err) {
          this.fail('write or fsync failed', err, batch);
          break;
        }
        this.counters.saves += batch.length;
        for (const p of batch) p.resolve();
      }
    } finally {
      this.flushing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private fail(message: string, cause: unknown, batch: readonly Pending[]): void {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    this.fatal = new WalFatalError(`${message}${detail}`, cause);
    const pending = [...batch, ...this.queue];
    this.queue = [];
    for (const p of pending) p.reject(this.fatal);
  }

  private async writeBatch(batch: readonly Pending[]): Promise<void> {
    let size = 0;
    for (const p of batch) {
      for (const e of p.entries) size += frameBytes(ENTRY_FIXED_BYTES + e.data.length);
      if (p.hardState !== undefined) size += frameBytes(HARD_STATE_BYTES);
      if (p.snapshot !== undefined) size += frameBytes(SNAPSHOT_BYTES);
    }
    if (size === 0) return;
    // A segment is cut before the first write that finds it at or past the limit.
    if (this.tail.offset >= this.segmentBytes) await this.cut();
    const enc = new RecordEncoder(this.tail.crc, size);
    let lastIndex = this.durableLastIndex;
    let snapshotIndex = this.snapshotIndex;
    let hardState = this.lastHardState;
    for (const p of batch) {
      for (const e of p.entries) enc.addEntry(e);
      if (p.entries.length > 0) lastIndex = (p.entries[p.entries.length - 1] as Entry).index;
      if (p.hardState !== undefined) {
        enc.addHardState(p.hardState);
        hardState = p.hardState;
      }
      if (p.snapshot !== undefined) {
        enc.addSnapshot(p.snapshot);
        if (p.snapshot.index > lastIndex) lastIndex = p.snapshot.index;
        if (p.snapshot.index > snapshotIndex) snapshotIndex = p.snapshot.index;
      }
    }
    const tail = this.tail;
    const start = performance.now();
    // O_DSYNC makes the write its own sync; a hook (or no sync at all) leaves nothing to gain inline.
    if (this.opts.syncFile === undefined && this.opts.unsafeNoFsync !== true && this.inlinePolicy.inline(start)) {
      writeAtSync(tail.fh.fd, enc.bytes(), tail.offset);
    } else {
      await writeAt(tail.fh.fd, enc.bytes(), tail.offset);
    }
    this.inlinePolicy.wrote(start, performance.now());
    this.counters.bytesWritten += enc.length;
    await this.syncAppend(tail.fh);
    this.counters.batches++;
    tail.offset += enc.length;
    tail.crc = enc.crc;
    this.durableLastIndex = lastIndex;
    this.snapshotIndex = snapshotIndex;
    this.lastHardState = hardState;
  }

  /**
   * Starts segment seq+1 named after lastIndex+1: its crc record continues the chain,
   * followed by the metadata and the last hard state. It is written and fsynced under
   * a temporary name and renamed into place, so every segment file is complete
   * through its leading records.
   */
  private async cut(): Promise<void> {
    const seq = this.tail.seq + 1;
    const index = this.durableLastIndex + 1;
    const name = segmentName(seq, index);
    const final = path.join(this.dir, name);
    const tmp = `${final}.tmp`;
    const enc = new RecordEncoder(this.tail.crc, 256 + this.metadata.length);
    enc.addCrc({ prevCrc: this.tail.crc, seq, index });
    enc.addMetadata(this.metadata);
    if (this.lastHardState !== undefined) enc.addHardState(this.lastHardState);
    const fh = await open(tmp, appendFlags(this.opts, 'create'), 0o600);
    try {
      await writeAt(fh.fd, enc.bytes(), 0);
      this.counters.bytesWritten += enc.length;
      await syncNewFile(fh, this.opts, this.counters);
      await rename(tmp, final);
      await syncDirCounted(this.dir, this.opts, this.counters);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    const old = this.tail.fh;
    this.tail = { fh, seq, offset: enc.length, crc: enc.crc };
    this.segments.push({ name, seq, index });
    this.counters.segmentsCut++;
    await old.close();
  }

  private async syncAppend(fh: FileHandle): Promise<void> {
    if (this.opts.unsafeNoFsync === true) return;
    this.counters.fsyncs++;
    const hook = this.opts.syncFile;
    // Segment files are opened O_DSYNC unless a hook replaces the sync: the write
    // that just returned was already durable, with one system call instead of two.
    if (hook !== undefined) await hook(fh);
  }
}

/**
 * Flags for a segment file that records are appended to. With O_DSYNC every
 * write returns only once its data (and the metadata needed to read it back)
 * is on stable storage, which is what an fdatasync after the write would give.
 */
function appendFlags(options: WalOptions, mode: 'create' | 'existing'): number {
  const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_DSYNC } = fsConstants;
  const base = mode === 'create' ? O_WRONLY | O_CREAT | O_TRUNC : O_RDWR;
  return options.unsafeNoFsync === true || options.syncFile !== undefined ? base : base | O_DSYNC;
}

function segmentBytesOf(options: WalOptions): number {
  const n = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(n) || n <= 0) throw new WalInvalidArgumentError(`segmentBytes ${n} must be a positive integer`);
  return n;
}

function newStats(): WalStats {
  return { fsyncs: 0, batches: 0, saves: 0, bytesWritten: 0, segmentsCut: 0 };
}

/** fsync (not fdatasync) of a file just created or truncated: its size and allocation must be durable. */
async function syncNewFile(fh: FileHandle, options: WalOptions, stats: WalStats): Promise<void> {
  if (options.unsafeNoFsync === true) return;
  stats.fsyncs++;
  await (options.syncFile !== undefined ? options.syncFile(fh) : fh.sync());
}

async function syncDirCounted(dir: string, options: WalOptions, stats: WalStats): Promise<void> {
  if (options.unsafeNoFsync === true) return;
  stats.fsyncs++;
  await fsyncDir(dir);
}

/** Removes segment files left half-written by a cut that crashed before its rename. */
async function removeTempSegments(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.endsWith('.wal.tmp') && parseSegmentName(name.slice(0, -4)) !== undefined) {
      await unlink(path.join(dir, name)).catch(() => undefined);
    }
  }
}
