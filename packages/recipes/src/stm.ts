import { compare, op, rangeKvs, type Bytes, type Cmp, type Op, type RangeQuery, type RangeResult, type TxnBuilder } from '@etcd-ts/client';
import { checksWriteSet, comparesReadSet, readsAtSnapshot, type StmIsolation } from './stm-isolation.js';

export { STM_ISOLATION_LEVELS, type StmIsolation } from './stm-isolation.js';

type KeyValue = RangeResult['kvs'][number];

/** What the STM needs from a client (a Client or a Namespace). */
export interface StmClient {
  get(key: Bytes, opts?: { revision?: number; serializable?: boolean; signal?: AbortSignal | undefined }): RangeQuery;
  txn(): TxnBuilder;
}

export interface StmOptions {
  /** Default 'serializable-snapshot'. See StmIsolation. */
  readonly isolation?: StmIsolation;
  /** Keys read in one round trip at the start of every attempt (they join the read set). */
  readonly prefetch?: readonly string[];
  /** Aborts the transaction: no further attempt starts, pending calls are canceled, and stm() rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Attempts after the first before giving up with StmConflictError. Default: unlimited. */
  readonly maxRetries?: number;
  /** Called before each retry with the number of the attempt about to start (2, 3, ...). */
  readonly onRetry?: (info: { readonly attempt: number; readonly reason: 'conflict' | 'compacted' }) => void;
}

/** The handle the transaction function reads and writes through. Valid only during its attempt. */
export interface StmTx {
  /** 1 for the first attempt, then 2, 3, ... after each conflict. */
  readonly attempt: number;
  /** Value of key as UTF-8 (undefined when absent). Sees this attempt's own writes. */
  get(key: string): Promise<string | undefined>;
  /** Value of key as bytes (undefined when absent). */
  getBuffer(key: string): Promise<Buffer | undefined>;
  /** Value of key parsed as JSON (undefined when absent). */
  getJson<T = unknown>(key: string): Promise<T | undefined>;
  /** Mod revision of key as read by this attempt (0 when absent); the key joins the read set. */
  rev(key: string): Promise<number>;
  /** Buffers a put; nothing is written before the commit. */
  put(key: string, value: Bytes, opts?: { lease?: bigint | { readonly id: bigint } }): void;
  putJson(key: string, value: unknown, opts?: { lease?: bigint | { readonly id: bigint } }): void;
  /** Buffers a delete of key. */
  delete(key: string): void;
}

export interface StmResult<T> {
  /** What the transaction function returned in the attempt that committed. */
  readonly value: T;
  /** Store revision of the commit. */
  readonly revision: number;
  /** Number of attempts that were thrown away (conflicts and compacted snapshots). */
  readonly retries: number;
}

/** The transaction conflicted more often than maxRetries allowed. */
export class StmConflictError extends Error {
  override readonly name = 'StmConflictError';
  readonly code = 'STM_CONFLICT';
  constructor(readonly attempts: number) {
    super(`stm: transaction still conflicting after ${attempts} attempts`);
  }
}

/** A read the attempt cannot use (its snapshot was compacted): the attempt is restarted. */
class StmRestart extends Error {
  override readonly name = 'StmRestart';
  constructor(cause: unknown) {
    super('stm: snapshot revision compacted, restarting', { cause });
  }
}

/** The attempt a handle belonged to is over. */
export class StmTxClosedError extends Error {
  override readonly name = 'StmTxClosedError';
  readonly code = 'STM_TX_CLOSED';
  constructor() {
    super('stm: transaction handle used after its attempt ended');
  }
}

/** One read of one key: what it returned and the store revision it was served at. */
interface ReadEntry {
  readonly kv: KeyValue | undefined;
  readonly revision: number;
}

interface WriteEntry {
  /** undefined for a delete. */
  readonly value: Buffer | undefined;
  readonly op: Op;
}

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

const toBuf = (b: Bytes): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b));

/**
 * One attempt of an STM transaction: its read set, write set and snapshot.
 *
 * Invariants: a key is in `reads` at most once, and its entry never changes
 * during the attempt (repeatable reads at every level); for the serializable
 * levels every read after the first is served at `snapshot`, and `snapshot`
 * is the revision of the first read (or of the first prefetched entry used).
 */
class Attempt implements StmTx {
  readonly reads = new Map<string, ReadEntry>();
  readonly writes = new Map<string, WriteEntry>();
  /** Revision of the first read (serializable levels); undefined before it. */
  snapshot: number | undefined;
  /** The in-flight first read, which later reads wait for to learn the snapshot. */
  private firstRead: Promise<unknown> | undefined;
  private readonly pending = new Map<string, Promise<ReadEntry>>();
  /** Set when a read failed in a way that requires a new attempt. */
  restart: StmRestart | undefined;
  ended = false;

  constructor(
    private readonly client: StmClient,
    private readonly level: StmIsolation,
    /** Entries read by the failed commit of the previous attempt (served as if read now). */
    private readonly prefetched: Map<string, ReadEntry>,
    private readonly signal: AbortSignal | undefined,
    readonly attempt: number,
  ) {}

  /** Smallest revision any read of this attempt was served at (Go's readSet.first()). */
  firstRevision(): number | undefined {
    let min: number | undefined;
    for (const e of this.reads.values()) if (min === undefined || e.revision < min) min = e.revision;
    return min;
  }

  async get(key: string): Promise<string | undefined> {
    const b = await this.getBuffer(key);
    return b === undefined ? undefined : b.toString('utf8');
  }

  async getJson<T = unknown>(key: string): Promise<T | undefined> {
    const s = await this.get(key);
    return s === undefined ? undefined : (JSON.parse(s) as T);
  }

  async getBuffer(key: string): Promise<Buffer | undefined> {
    this.check();
    const w = this.writes.get(key);
    if (w) return w.value;
    const e = await this.read([key]);
    // A put issued while the read was in flight wins, as it would have sequentially.
    const later = this.writes.get(key);
    if (later) return later.value;
    return e[0]?.kv?.value;
  }

  async rev(key: string): Promise<number> {
    this.check();
    const [e] = await this.read([key]);
    return e?.kv?.modRevision ?? 0;
  }

  put(key: string, value: Bytes, opts?: { lease?: bigint | { readonly id: bigint } }): void {
    this.check();
    const v = toBuf(value);
    this.writes.set(key, { value: v, op: op.put(key, v, opts?.lease === undefined ? undefined : { lease: opts.lease }) });
  }

  putJson(key: string, value: unknown, opts?: { lease?: bigint | { readonly id: bigint } }): void {
    this.put(key, JSON.stringify(value), opts);
  }

  delete(key: string): void {
    this.check();
    this.writes.set(key, { value: undefined, op: op.delete(key) });
  }

  private check(): void {
    if (this.ended) throw new StmTxClosedError();
    if (this.restart) throw this.restart;
  }

  /** Reads keys into the read set (one round trip for those not read yet) and returns their entries. */
  async read(keys: readonly string[]): Promise<ReadEntry[]> {
    const missing: string[] = [];
    for (const k of keys) {
      if (this.reads.has(k) || this.pending.has(k) || missing.includes(k)) continue;
      const pre = this.prefetched.get(k);
      if (pre) {
        this.prefetched.delete(k);
        this.reads.set(k, pre);
        this.snapshot ??= pre.revision;
        continue;
      }
      missing.push(k);
    }
    if (missing.length > 0) {
      const fetching = this.fetch(missing);
      const each = missing.map((k, i) => fetching.then((es) => es[i] as ReadEntry));
      // Awaited only by concurrent reads of the same keys, if any; the error reaches the caller through `fetching`.
      for (const e of each) e.catch(() => {});
      missing.forEach((k, i) => this.pending.set(k, each[i] as Promise<ReadEntry>));
      try {
        const entries = await fetching;
        this.check();
        missing.forEach((k, i) => {
          if (!this.reads.has(k)) this.reads.set(k, entries[i] as ReadEntry);
        });
      } finally {
        for (const k of missing) this.pending.delete(k);
      }
    }
    return Promise.all(keys.map((k) => this.reads.get(k) ?? (this.pending.get(k) as Promise<ReadEntry>)));
  }

  /** Fetches keys from the server, as the isolation level reads. */
  private async fetch(keys: readonly string[]): Promise<ReadEntry[]> {
    if (!readsAtSnapshot(this.level)) return this.fetchAt(keys, undefined, true);
    // Serializable levels: the first read fixes the snapshot; the others wait for it.
    while (this.snapshot === undefined && this.firstRead !== undefined) {
      await this.firstRead.catch(() => undefined);
      this.check();
    }
    if (this.snapshot === undefined) {
      const first = this.fetchAt(keys, undefined, false);
      this.firstRead = first;
      try {
        const entries = await first;
        this.snapshot ??= entries[0]?.revision;
        return entries;
      } finally {
        if (this.firstRead === first) this.firstRead = undefined;
      }
    }
    const snapshot = this.snapshot;
    try {
      return await this.fetchAt(keys, snapshot, true);
    } catch (err) {
      // A member-local read on a member that has not applied the snapshot yet:
      // ask again through the leader (linearizable), which has.
      if (codeOf(err) === 'FUTURE_REV') return this.fetchAt(keys, snapshot, false);
      throw err;
    }
  }

  private async fetchAt(keys: readonly string[], revision: number | undefined, serializable: boolean): Promise<ReadEntry[]> {
    try {
      const opts = { ...(revision === undefined ? {} : { revision }), ...(serializable ? { serializable: true } : {}) };
      if (keys.length === 1) {
        const r = await this.client.get(keys[0] as string, { ...opts, signal: this.signal });
        return [{ kv: r.kvs[0], revision: revision ?? r.revision }];
      }
      const res = await this.client
        .txn()
        .then(...keys.map((k) => op.get(k, opts)))
        .commit({ signal: this.signal });
      return keys.map((_, i) => ({ kv: rangeKvs(res, i)[0], revision: revision ?? res.revision }));
    } catch (err) {
      if (codeOf(err) === 'COMPACTED') {
        this.restart ??= new StmRestart(err);
        throw this.restart;
      }
      throw err;
    }
  }

  /** The commit's conditions (see StmIsolation). */
  conflicts(): Cmp[] {
    const cmps: Cmp[] = [];
    if (comparesReadSet(this.level)) {
      for (const [k, e] of this.reads) cmps.push(compare.modRevision(k, '=', e.kv?.modRevision ?? 0));
    }
    const snapshot = this.firstRevision();
    if (checksWriteSet(this.level) && snapshot !== undefined) {
      // Not modified after the snapshot: mod revision < R + 1 (etcd's own formulation).
      for (const k of this.writes.keys()) cmps.push(compare.modRevision(k, '<', snapshot + 1));
    }
    return cmps;
  }
}

/**
 * Runs `fn` as a software-transactional-memory transaction over etcd, with
 * the semantics of etcd's clientv3/concurrency STM: reads are recorded, writes
 * are buffered, and one Txn commits the writes if the isolation level's
 * conditions still hold (see StmIsolation); otherwise `fn` runs again on
 * fresh data. `fn` must not have side effects outside `tx`: it may run
 * several times. If `fn` throws, nothing is written and the error is thrown.
 *
 * ```ts
 * const { retries } = await stm(client, async (tx) => {
 *   const a = Number(await tx.get('accounts/a'));
 *   const b = Number(await tx.get('accounts/b'));
 *   tx.put('accounts/a', String(a - 10));
 *   tx.put('accounts/b', String(b + 10));
 * });
 * ```
 */
export async function stm<T>(client: StmClient, fn: (tx: StmTx) => Promise<T> | T, opts: StmOptions = {}): Promise<StmResult<T>> {
  const level = opts.isolation ?? 'serializable-snapshot';
  const signal = opts.signal;
  const maxRetries = opts.maxRetries ?? Number.POSITIVE_INFINITY;
  let prefetched = new Map<string, ReadEntry>();
  for (let attemptNo = 1; ; attemptNo++) {
    signal?.throwIfAborted();
    const tx = new Attempt(client, level, prefetched, signal, attemptNo);
    prefetched = new Map();
    let value: T;
    let reason: 'conflict' | 'compacted';
    try {
      if (opts.prefetch && opts.prefetch.length > 0) await tx.read(opts.prefetch);
      value = await fn(tx);
      if (tx.restart) throw tx.restart;
      tx.ended = true;
      const keys = [...tx.reads.keys()];
      const txn = client
        .txn()
        .if(...tx.conflicts())
        .then(...[...tx.writes.values()].map((w) => w.op));
      // On a conflict the serializable levels get the read set's current values
      // back in the same round trip, to start the next attempt with.
      if (readsAtSnapshot(level)) txn.else(...keys.map((k) => op.get(k)));
      const res = await txn.commit({ signal });
      if (res.succeeded) return { value, revision: res.revision, retries: attemptNo - 1 };
      if (readsAtSnapshot(level)) {
        keys.forEach((k, i) => prefetched.set(k, { kv: rangeKvs(res, i)[0], revision: res.revision }));
      }
      reason = 'conflict';
    } catch (err) {
      // A call canceled by the signal reports the caller's reason, as the first check does.
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof StmRestart) || tx.restart !== err) throw err;
      reason = 'compacted';
    } finally {
      tx.ended = true;
    }
    if (attemptNo > maxRetries) throw new StmConflictError(attemptNo);
    opts.onRetry?.({ attempt: attemptNo + 1, reason });
  }
}
