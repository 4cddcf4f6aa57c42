import type { KeyIndexGet } from './key-index.js';
import { KeyIndex } from './key-index.js';
import { ErrRevisionNotFound } from './mvcc-error.js';
import type { Revision } from './revision.js';
import { compareRevision, RevisionSet } from './revision.js';
import { type BTree, latin1BTree } from '../util/latin1-btree.js';

export interface IndexRange {
  /** Keys (latin1 strings) that exist at the requested revision, in key order, at most limit of them. */
  readonly keys: string[];
  /** revs[i] is the revision holding keys[i]'s value at the requested revision. */
  readonly revs: Revision[];
  /** How many keys of the range exist at the requested revision, regardless of limit. */
  readonly total: number;
}

/**
 * The in-memory ordered index of every key to its KeyIndex (etcd's
 * treeIndex). Keys are latin1 strings of the key bytes, so JavaScript string
 * order equals unsigned byte order. Values never live here: only revisions,
 * which point into the backend's key bucket.
 *
 * Range bounds follow etcd's index: end undefined selects the single key;
 * end '' selects every key >= key; otherwise [key, end).
 */
export class TreeIndex {
  #tree: BTree<string, KeyIndex> = latin1BTree<KeyIndex>();

  get size(): number {
    return this.#tree.size;
  }

  put(key: string, rev: Revision): void {
    let ki = this.#tree.get(key);
    if (ki === undefined) {
      ki = new KeyIndex(key);
      ki.put(rev.main, rev.sub);
      this.#tree.set(key, ki);
      return;
    }
    ki.put(rev.main, rev.sub);
  }

  /** Records a deletion; throws ErrRevisionNotFound when the key is absent or already deleted. */
  tombstone(key: string, rev: Revision): void {
    const ki = this.#tree.get(key);
    if (ki === undefined) throw new ErrRevisionNotFound();
    ki.tombstone(rev.main, rev.sub);
  }

  get(key: string, atRev: number): KeyIndexGet | undefined {
    const ki = this.#tree.get(key);
    return ki === undefined ? undefined : ki.get(atRev);
  }

  keyIndex(key: string): KeyIndex | undefined {
    return this.#tree.get(key);
  }

  insert(ki: KeyIndex): void {
    this.#tree.set(ki.key, ki);
  }

  #visit(key: string, end: string, f: (ki: KeyIndex) => void): void {
    if (end === '') {
      const max = this.#tree.maxKey();
      if (max === undefined || max < key) return;
      this.#tree.forRange(key, max, true, (_k, ki) => f(ki));
      return;
    }
    if (end <= key) return;
    this.#tree.forRange(key, end, false, (_k, ki) => f(ki));
  }

  /** The keys of [key, end) existing at atRev and their revisions; limit <= 0 means no limit. */
  range(key: string, end: string | undefined, atRev: number, limit = 0): IndexRange {
    if (end === undefined) {
      const rev = this.#tree.get(key)?.modifiedAt(atRev);
      if (rev === undefined) return { keys: [], revs: [], total: 0 };
      return { keys: [key], revs: [rev], total: 1 };
    }
    const keys: string[] = [];
    const revs: Revision[] = [];
    const max = limit > 0 ? limit : Number.POSITIVE_INFINITY;
    let total = 0;
    this.#visit(key, end, (ki) => {
      if (keys.length < max) {
        const rev = ki.modifiedAt(atRev);
        if (rev === undefined) return;
        keys.push(ki.key);
        revs.push(rev);
        total++;
      } else if (ki.existsAt(atRev)) {
        total++;
      }
    });
    return { keys, revs, total };
  }

  /** The number of keys of the range existing at atRev (etcd's len(Revisions(...))). */
  countRevisions(key: string, end: string | undefined, atRev: number): number {
    if (end === undefined) return this.#tree.get(key)?.existsAt(atRev) === true ? 1 : 0;
    let n = 0;
    this.#visit(key, end, (ki) => {
      if (ki.existsAt(atRev)) n++;
    });
    return n;
  }

  /**
   * Every revision with main >= rev of the keys of the range, in revision
   * order (one per key and main revision: the largest sub).
   */
  rangeSince(key: string, end: string | undefined, rev: number): Revision[] {
    if (end === undefined) {
      const ki = this.#tree.get(key);
      return ki === undefined ? [] : ki.since(rev);
    }
    const out: Revision[] = [];
    this.#visit(key, end, (ki) => {
      for (const r of ki.since(rev)) out.push(r);
    });
    out.sort(compareRevision);
    return out;
  }

  /**
   * Compacts every KeyIndex at rev, removes the keys left empty, and returns
   * the revisions <= rev that stay (the newest revision <= rev of every key
   * that exists at rev).
   */
  compact(rev: number): RevisionSet {
    const available = new RevisionSet();
    this.#tree.editAll((_k, ki) => {
      ki.compact(rev, available);
      if (ki.isEmpty()) return { delete: true };
      return undefined;
    });
    return available;
  }

  /** The revisions a compact(rev) would keep, without changing the index. */
  keep(rev: number): RevisionSet {
    const available = new RevisionSet();
    this.#tree.forEachPair((_k, ki) => {
      ki.keep(rev, available);
    });
    return available;
  }

  /** Every KeyIndex in key order. */
  *keyIndexes(): IterableIterator<KeyIndex> {
    for (const [, ki] of this.#tree.entries()) yield ki;
  }

  equals(other: TreeIndex): boolean {
    if (this.size !== other.size) return false;
    for (const ki of this.keyIndexes()) {
      const o = other.keyIndex(ki.key);
      if (o === undefined || !ki.equals(o)) return false;
    }
    return true;
  }
}
