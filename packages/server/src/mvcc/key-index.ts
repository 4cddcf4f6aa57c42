import { ErrRevisionNotFound, MvccInvariantError } from './mvcc-error.js';
import type { Revision, RevisionSet } from './revision.js';
import { revision, revisionGreaterThan, small } from './revision.js';

const ZERO: Revision = Object.freeze({ main: 0, sub: 0 });

/**
 * Appends x. Small arrays are replaced by an exact-size copy: V8 grows a
 * pushed-to array to at least 17 slots, which for hundreds of thousands of
 * keys with one or two revisions would dominate the index's memory.
 */
function append<T>(arr: T[], x: T): T[] {
  if (arr.length < 8) {
    const out = new Array<T>(arr.length + 1);
    for (let i = 0; i < arr.length; i++) out[i] = arr[i]!;
    out[arr.length] = x;
    return out;
  }
  arr.push(x);
  return arr;
}

/**
 * One life of a key: from the put that created it to the tombstone that
 * deleted it (or to now, for the last generation).
 *
 * Invariants: revs is strictly increasing; created === revs[0] when revs is
 * non-empty; ver counts every put of this life, including revisions already
 * removed by compaction (so ver >= revs.length); a generation that is not the
 * last of its KeyIndex is non-empty and ends with its tombstone revision.
 */
export class Generation {
  ver: number;
  created: Revision;
  revs: Revision[];

  constructor(ver = 0, created: Revision = ZERO, revs: Revision[] = []) {
    this.ver = ver;
    this.created = created;
    this.revs = revs;
  }

  isEmpty(): boolean {
    return this.revs.length === 0;
  }

  /**
   * Visits revs from newest to oldest while f returns true; returns the index
   * where f returned false, or -1 when every revision was visited.
   */
  walk(f: (rev: Revision) => boolean): number {
    for (let i = this.revs.length - 1; i >= 0; i--) {
      if (!f(this.revs[i]!)) return i;
    }
    return -1;
  }
}

export interface KeyIndexGet {
  /** The revision of the key's value at the requested point. */
  readonly modified: Revision;
  /** The revision that created the key's generation. */
  readonly created: Revision;
  /** The key's version at modified (1 for the creating put). */
  readonly ver: number;
}

/**
 * Every revision of one key still held by the store, grouped in generations
 * (etcd's keyIndex). A tombstone closes the current generation and opens a
 * new, empty one; the next put starts the key over at version 1.
 *
 * Example: put(1.0) put(2.0) tombstone(3.0) put(4.0) tombstone(5.0) gives
 *   generations [{1.0, 2.0, 3.0(t)}, {4.0, 5.0(t)}, {}] and modified 5.0.
 *
 * Invariants: generations is non-empty once the first put happened; only
 * the last generation may be empty; modified is the newest revision of all
 * generations. A KeyIndex whose only generation is empty isEmpty() and must
 * be removed from the index.
 */
export class KeyIndex {
  /** The key's bytes as a latin1 string: one char per byte, so string order is byte order. */
  readonly key: string;
  modified: Revision = ZERO;
  generations: Generation[] = [];

  constructor(key: string) {
    this.key = key;
  }

  keyBytes(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }

  put(main: number, sub: number): void {
    const rev = revision(main, sub);
    if (!revisionGreaterThan(rev, this.modified)) {
      throw new MvccInvariantError(
        `put with a revision ${main}.${sub} not above modified ${this.modified.main}.${this.modified.sub}`,
      );
    }
    let g = this.generations[this.generations.length - 1];
    if (g === undefined) {
      g = new Generation();
      this.generations = [g];
    }
    if (g.revs.length === 0) {
      g.created = rev;
      g.revs = [rev];
    } else {
      g.revs = append(g.revs, rev);
    }
    g.ver++;
    this.modified = rev;
  }

  /**
   * Starts the index of a key from a record found while scanning the
   * backend, when older revisions of the key are gone (compacted).
   */
  restore(created: Revision, modified: Revision, ver: number): void {
    if (this.generations.length !== 0) {
      throw new MvccInvariantError('restore on a non-empty KeyIndex');
    }
    const m = revision(modified.main, modified.sub);
    const c = created.main === m.main && created.sub === m.sub ? m : revision(created.main, created.sub);
    this.modified = m;
    this.generations = [new Generation(small(ver), c, [m])];
  }

  /** True when the current (last) generation has no revision: the key is deleted. */
  lastGenerationEmpty(): boolean {
    const g = this.generations[this.generations.length - 1];
    return g === undefined || g.isEmpty();
  }

  /**
   * Records a deletion at main.sub and opens a new generation. Throws
   * ErrRevisionNotFound when the key is already deleted.
   */
  tombstone(main: number, sub: number): void {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`tombstone on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    if (this.lastGenerationEmpty()) throw new ErrRevisionNotFound();
    this.put(main, sub);
    this.generations = append(this.generations, new Generation());
  }

  /**
   * The revision of the key's value at atRev, with its generation's created
   * revision and the version at that point; undefined when the key does not
   * exist at atRev.
   */
  get(atRev: number): KeyIndexGet | undefined {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`get on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    const g = this.findGeneration(atRev);
    if (g === undefined || g.isEmpty()) return undefined;
    const n = g.walk((rev) => rev.main > atRev);
    if (n === -1) return undefined;
    return { modified: g.revs[n]!, created: g.created, ver: g.ver - (g.revs.length - n - 1) };
  }

  /**
   * The revisions with main >= rev in increasing order; of several revisions
   * sharing one main revision only the one with the largest sub is kept.
   */
  since(rev: number): Revision[] {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`since on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    const since: Revision = { main: rev, sub: 0 };
    let gi = this.generations.length - 1;
    for (; gi > 0; gi--) {
      const g = this.generations[gi]!;
      if (g.isEmpty()) continue;
      if (revisionGreaterThan(since, g.created)) break;
    }
    const out: Revision[] = [];
    let last = 0;
    for (; gi < this.generations.length; gi++) {
      for (const r of this.generations[gi]!.revs) {
        if (revisionGreaterThan(since, r)) continue;
        if (r.main === last) {
          out[out.length - 1] = r;
          continue;
        }
        out.push(r);
        last = r.main;
      }
    }
    return out;
  }

  /**
   * Drops every revision with main <= atRev except the newest of them, and
   * that one too when it is a tombstone; generations left empty are dropped.
   * Adds the revisions that must stay in the backend to available.
   */
  compact(atRev: number, available: RevisionSet): void {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`compact on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    let [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx]!;
    if (!g.isEmpty()) {
      if (revIndex !== -1) g.revs = g.revs.slice(revIndex);
      if (g.revs.length === 1 && genIdx !== this.generations.length - 1) {
        // the only revision left is the generation's tombstone
        available.delete(g.revs[0]!);
        genIdx++;
      }
    }
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
  }

  /** Adds to available the revisions a compact(atRev) would keep, without changing anything. */
  keep(atRev: number, available: RevisionSet): void {
    if (this.isEmpty()) return;
    const [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx]!;
    if (!g.isEmpty() && revIndex === g.revs.length - 1 && genIdx !== this.generations.length - 1) {
      available.delete(g.revs[revIndex]!);
    }
  }

  private doCompact(atRev: number, available: RevisionSet): [genIdx: number, revIndex: number] {
    let genIdx = 0;
    let g = this.generations[0]!;
    // the first generation whose tombstone is above atRev, or the last one
    while (genIdx < this.generations.length - 1) {
      const tomb = g.revs[g.revs.length - 1]!.main;
      if (tomb > atRev) break;
      genIdx++;
      g = this.generations[genIdx]!;
    }
    const revIndex = g.walk((rev) => {
      if (rev.main <= atRev) {
        available.add(rev);
        return false;
      }
      return true;
    });
    return [genIdx, revIndex];
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0]!.isEmpty();
  }

  /** The generation alive at rev, or undefined when the key does not exist at rev. */
  findGeneration(rev: number): Generation | undefined {
    const lastg = this.generations.length - 1;
    for (let cg = lastg; cg >= 0; cg--) {
      const g = this.generations[cg]!;
      if (g.revs.length === 0) continue;
      if (cg !== lastg) {
        const tomb = g.revs[g.revs.length - 1]!.main;
        if (tomb <= rev) return undefined;
      }
      if (g.revs[0]!.main <= rev) return g;
    }
    return undefined;
  }

  equals(other: KeyIndex): boolean {
    if (this.key !== other.key) return false;
    if (this.modified.main !== other.modified.main || this.modified.sub !== other.modified.sub) return false;
    if (this.generations.length !== other.generations.length) return false;
    for (let i = 0; i < this.generations.length; i++) {
      const a = this.generations[i]!;
      const b = other.generations[i]!;
      if (a.ver !== b.ver || a.revs.length !== b.revs.length) return false;
      for (let j = 0; j < a.revs.length; j++) {
        if (a.revs[j]!.main !== b.revs[j]!.main || a.revs[j]!.sub !== b.revs[j]!.sub) return false;
      }
    }
    return true;
  }
}
