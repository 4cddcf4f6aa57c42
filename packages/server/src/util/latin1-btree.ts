/**
 * Ordered maps keyed by byte strings. A byte string is held as a latin1 string
 * (one char per byte, 0..255), so JavaScript's string order is unsigned byte
 * order: the order of bbolt, LMDB and etcd's btree index.
 */
import sortedBtree from 'sorted-btree';

type BTreeClass = typeof sortedBtree.default;
export type BTree<K, V> = InstanceType<typeof sortedBtree.default<K, V>>;
// the package is CommonJS: its class is the default export's `default`, or the default export itself under CommonJS interop
export const BTree: BTreeClass =
  (sortedBtree as unknown as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);

export function compareLatin1(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An empty ordered map with byte-string (latin1) keys. */
export function latin1BTree<V>(): BTree<string, V> {
  return new BTree<string, V>(undefined, compareLatin1);
}

/** The latin1 string of a byte string, without copying a Buffer. */
export function latin1Key(b: Uint8Array): string {
  return Buffer.isBuffer(b) ? b.toString('latin1') : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/**
 * The entries of tree with start <= key < end (end undefined: to the last
 * key), ascending, or descending when reverse.
 */
export function* latin1Range<V>(tree: BTree<string, V>, start: string, end: string | undefined, reverse: boolean): IterableIterator<[string, V]> {
  if (!reverse) {
    for (const entry of tree.entries(start)) {
      if (end !== undefined && entry[0] >= end) return;
      yield entry;
    }
    return;
  }
  const it = end === undefined ? tree.entriesReversed() : tree.entriesReversed(end, undefined, true);
  for (const entry of it) {
    if (entry[0] < start) return;
    yield entry;
  }
}
