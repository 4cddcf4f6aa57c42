import type { Bucket } from './backend.js';
import { type BTree, latin1BTree, latin1Key, latin1Range } from '../util/latin1-btree.js';

/** A buffered write: the new value, or null for a delete. key and value are private copies. */
export interface BufferedWrite {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

interface Undo {
  readonly tree: BTree<string, BufferedWrite>;
  readonly key: string;
  readonly prev: BufferedWrite | undefined;
}

/**
 * The writes of backend transactions that have not reached the database yet:
 * etcd's batch transaction and its read buffer in one. Per bucket, an ordered
 * map from key to its latest buffered write; reads consult it before the
 * database, and a commit drains it into one database transaction.
 *
 * Invariants: a key appears at most once per bucket (the latest write wins);
 * the writes of a transaction become visible as they are made and are undone
 * together if it is rolled back; `pending` counts the writes buffered since the
 * last drain, overwrites included (etcd's batch limit counts operations).
 */
export class WriteBuffer {
  readonly #trees = new Map<Bucket, BTree<string, BufferedWrite>>();
  #pending = 0;
  #undo: Undo[] | undefined;

  /** Writes buffered since the last drain. */
  get pending(): number {
    return this.#pending;
  }

  /** The buffered write of key, or undefined when the database holds its latest state. */
  get(bucket: Bucket, key: Uint8Array): BufferedWrite | undefined {
    const tree = this.#trees.get(bucket);
    return tree === undefined || tree.size === 0 ? undefined : tree.get(latin1Key(key));
  }

  /** True when bucket has buffered writes: reads of it must merge them. */
  has(bucket: Bucket): boolean {
    const tree = this.#trees.get(bucket);
    return tree !== undefined && tree.size > 0;
  }

  put(bucket: Bucket, key: Uint8Array, value: Uint8Array): void {
    this.#set(bucket, key, Buffer.from(value));
  }

  delete(bucket: Bucket, key: Uint8Array): void {
    this.#set(bucket, key, null);
  }

  #set(bucket: Bucket, key: Uint8Array, value: Buffer | null): void {
    let tree = this.#trees.get(bucket);
    if (tree === undefined) {
      tree = latin1BTree<BufferedWrite>();
      this.#trees.set(bucket, tree);
    }
    const k = latin1Key(key);
    if (this.#undo !== undefined) this.#undo.push({ tree, key: k, prev: tree.get(k) });
    tree.set(k, { key: Buffer.from(key), value });
    this.#pending++;
  }

  /**
   * Buffered writes of bucket with start <= key < end (end undefined: to the
   * end of the bucket), ascending, or descending when reverse. The iteration
   * reads a copy-on-write snapshot taken by this call: later writes do not
   * disturb it.
   */
  entries(bucket: Bucket, start: Uint8Array, end: Uint8Array | undefined, reverse: boolean): IterableIterator<BufferedWrite> {
    const tree = this.#trees.get(bucket);
    if (tree === undefined || tree.size === 0) return [][Symbol.iterator]();
    return writesOf(latin1Range(tree.clone(), latin1Key(start), end === undefined ? undefined : latin1Key(end), reverse));
  }

  /** Starts recording what rollback() must restore. Transactions do not nest here. */
  begin(): void {
    this.#undo = [];
  }

  /** Keeps the writes made since begin(). */
  end(): void {
    this.#undo = undefined;
  }

  /** Undoes, newest first, every write made since begin(). */
  rollback(): void {
    const undo = this.#undo ?? [];
    this.#undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i]!;
      if (u.prev === undefined) u.tree.delete(u.key);
      else u.tree.set(u.key, u.prev);
      this.#pending--;
    }
  }

  /** Every buffered write, bucket by bucket in key order; the buffer is unchanged. */
  *all(): IterableIterator<[Bucket, BufferedWrite]> {
    for (const [bucket, tree] of this.#trees) for (const w of tree.values()) yield [bucket, w];
  }

  /** Forgets every buffered write: the database now holds them. */
  clear(): void {
    this.#trees.clear();
    this.#pending = 0;
  }
}

function* writesOf(ws: Iterable<[string, BufferedWrite]>): IterableIterator<BufferedWrite> {
  for (const [, w] of ws) yield w;
}
