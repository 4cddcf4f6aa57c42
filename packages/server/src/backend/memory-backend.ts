import type { Backend, Bucket, RangeOptions, WriteTx } from './backend.js';
import { Buckets } from './backend.js';
import { BackendClosedError, EmptyKeyError, TxClosedError, UnknownBucketError } from './backend-error.js';
import { type BTree, latin1BTree, latin1Key as toKey, latin1Range } from '../util/latin1-btree.js';


interface UndoEntry {
  readonly tree: BTree<string, Buffer>;
  readonly key: string;
  readonly prev: Buffer | undefined;
}

/**
 * A Backend held entirely in memory, for the embedded test mode. Keys are
 * kept as latin1 strings (one char per byte) so that string order is
 * unsigned byte order. Stored values are private copies that are never
 * mutated, so the buffers handed out by get() and range() stay valid; callers
 * must not modify them. range() iterates a copy-on-write snapshot taken when
 * it is called, as an LMDB read transaction would.
 *
 * transact() applies writes in place and keeps an undo log, replayed in
 * reverse when fn throws. A transact() inside fn joins the outer transaction.
 */
export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly #trees = new Map<Bucket, BTree<string, Buffer>>();
  #bytes = 0;
  #closed = false;
  #tx: WriteTx | undefined;

  constructor() {
    for (const b of Buckets) this.#trees.set(b, latin1BTree<Buffer>());
  }

  #tree(bucket: Bucket): BTree<string, Buffer> {
    if (this.#closed) throw new BackendClosedError();
    const t = this.#trees.get(bucket);
    if (t === undefined) throw new UnknownBucketError(bucket);
    return t;
  }

  get(bucket: Bucket, key: Uint8Array): Uint8Array | undefined {
    return this.#tree(bucket).get(toKey(key));
  }

  range(bucket: Bucket, start: Uint8Array, opts: RangeOptions = {}): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
    const snapshot = this.#tree(bucket).clone();
    return iterate(snapshot, toKey(start), opts.end === undefined ? undefined : toKey(opts.end), opts.limit ?? 0, opts.reverse ?? false);
  }

  scan(bucket: Bucket, start: Uint8Array, end: Uint8Array | undefined, fn: (key: Buffer, value: Buffer) => boolean | void): void {
    const tree = this.#tree(bucket);
    for (const [k, v] of latin1Range(tree, toKey(start), end === undefined ? undefined : toKey(end), false)) {
      if (fn(Buffer.from(k, 'latin1'), v) === false) return;
    }
  }

  transact<T>(fn: (tx: WriteTx) => T): T {
    if (this.#closed) throw new BackendClosedError();
    if (this.#tx !== undefined) return fn(this.#tx);
    const undo: UndoEntry[] = [];
    let live = true;
    const put = (bucket: Bucket, key: Uint8Array, value: Uint8Array): void => {
      if (!live) throw new TxClosedError();
      if (key.length === 0) throw new EmptyKeyError();
      const tree = this.#tree(bucket);
      const k = toKey(key);
      const prev = tree.get(k);
      undo.push({ tree, key: k, prev });
      this.#bytes += value.length - (prev === undefined ? -key.length : prev.length);
      tree.set(k, Buffer.from(value));
    };
    const del = (bucket: Bucket, key: Uint8Array): void => {
      if (!live) throw new TxClosedError();
      if (key.length === 0) throw new EmptyKeyError();
      const tree = this.#tree(bucket);
      const k = toKey(key);
      const prev = tree.get(k);
      if (prev === undefined) return;
      undo.push({ tree, key: k, prev });
      this.#bytes -= key.length + prev.length;
      tree.delete(k);
    };
    const tx: WriteTx = { put, delete: del };
    this.#tx = tx;
    try {
      return fn(tx);
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) {
        const u = undo[i]!;
        const cur = u.tree.get(u.key);
        this.#bytes -= cur === undefined ? 0 : u.key.length + cur.length;
        if (u.prev === undefined) u.tree.delete(u.key);
        else {
          u.tree.set(u.key, u.prev);
          this.#bytes += u.key.length + u.prev.length;
        }
      }
      throw err;
    } finally {
      live = false;
      this.#tx = undefined;
    }
  }

  async sync(): Promise<void> {
    if (this.#closed) throw new BackendClosedError();
  }

  size(): number {
    return this.#bytes;
  }

  sizeInUse(): number {
    return this.#bytes;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#trees.clear();
  }
}

function* iterate(
  tree: BTree<string, Buffer>,
  start: string,
  end: string | undefined,
  limit: number,
  reverse: boolean,
): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
  let n = 0;
  for (const [k, v] of latin1Range(tree, start, end, reverse)) {
    if (limit > 0 && n >= limit) return;
    n++;
    yield [Buffer.from(k, 'latin1'), v];
  }
}
