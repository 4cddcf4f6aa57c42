import { ErrRevisionNotFound, MvccInvariantError } from './mvcc-error.js';
import type { Revision, RevisionSet } from './revision.js';
import { revision } from './revision.js';

const ZERO: Revision = Object.freeze({ main: 0, sub: 0 });

/**
 * One life of a key: from the put that created it to the tombstone that
 * deleted it (or to now, for the last generation). A read-only view; the
 * KeyIndex stores its generations packed.
 */
export interface Generation {
  /** Puts in this life, including revisions already removed by compaction. */
  readonly ver: number;
  /** The revision of the put that started this life. */
  readonly created: Revision;
  /** Increasing; a generation that is not the last ends with its tombstone. */
  readonly revs: readonly Revision[];
}

export interface KeyIndexGet {
  /** The revision of the key's value at the requested point. */
  readonly modified: Revision;
  /** The revision that created the key's generation. */
  readonly created: Revision;
  /** The key's version at modified (1 for the creating put). */
  readonly ver: number;
}

// Layout of one generation in KeyIndex.data, starting at offset o.
const VER = 0;
const CREATED_MAIN = 1;
const CREATED_SUB = 2;
const COUNT = 3;
const HEADER = 4;

/**
 * Returns data followed by the given numbers. Short arrays are replaced by
 * an exact-size copy: V8 grows an array that is pushed to by at least 16
 * slots, which for hundreds of thousands of keys holding one or two
 * revisions would dominate the index's memory. Long arrays (keys with many
 * uncompacted revisions) are pushed to, for amortised growth.
 */
function append(data: number[], a: number, b: number, c?: number, d?: number): number[] {
  const extra = c === undefined ? 2 : 4;
  if (data.length >= 32) {
    if (c === undefined) data.push(a, b);
    else data.push(a, b, c, d!);
    return data;
  }
  const out = new Array<number>(data.length + extra);
  for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  out[data.length] = a;
  out[data.length + 1] = b;
  if (c !== undefined) {
    out[data.length + 2] = c;
    out[data.length + 3] = d!;
  }
  return out;
}

/**
 * Every revision of one key still held by the store, grouped in generations
 * (etcd's keyIndex). A tombstone closes the current generation and opens a
 * new, empty one; the next put starts the key over at version 1.
 *
 * Example: put(1.0) put(2.0) tombstone(3.0) put(4.0) tombstone(5.0) gives
 *   generations [{1.0, 2.0, 3.0(t)}, {4.0, 5.0(t)}, {}] and modified 5.0.
 *
 * Storage: all generations are packed in one array of numbers (values never
 * live here), oldest first; each generation is
 *   [ver, created.main, created.sub, n, main_0, sub_0, ..., main_n-1, sub_n-1].
 * The empty last generation opened by a tombstone is [0, t.main, t.sub, 0]
 * where t is that tombstone, so that modified is known without it.
 * A key with one revision thus costs one small array instead of a graph of
 * generation, revision and array objects.
 *
 * Invariants: once the first put happened there is at least one
 * generation; only the last generation may be empty; revisions increase
 * strictly across the whole array; lastOffset is the offset of the last
 * generation (-1 before the first put). A KeyIndex whose only generation is
 * empty isEmpty() and must be removed from the index.
 */
export class KeyIndex {
  /** The key's bytes as a latin1 string: one char per byte, so string order is byte order. */
  readonly key: string;
  private data: number[] = [];
  private lastOffset = -1;

  constructor(key: string) {
    this.key = key;
  }

  keyBytes(): Buffer {
    return Buffer.from(this.key, 'latin1');
  }

  /** The newest revision of the key (its last put or tombstone); zero before the first put. */
  get modified(): Revision {
    const d = this.data;
    const o = this.lastOffset;
    if (o < 0) return ZERO;
    if (d[o + COUNT]! > 0) return revision(d[d.length - 2]!, d[d.length - 1]!);
    return revision(d[o + CREATED_MAIN]!, d[o + CREATED_SUB]!);
  }

  /** True when main.sub is not above modified. */
  #notAboveModified(main: number, sub: number): boolean {
    const d = this.data;
    const o = this.lastOffset;
    if (o < 0) return main <= 0 && sub <= 0;
    let mm: number;
    let ms: number;
    if (d[o + COUNT]! > 0) {
      mm = d[d.length - 2]!;
      ms = d[d.length - 1]!;
    } else {
      mm = d[o + CREATED_MAIN]!;
      ms = d[o + CREATED_SUB]!;
    }
    return mm > main || (mm === main && ms >= sub);
  }

  /** The generations, oldest first (a copy; for inspection). */
  get generations(): Generation[] {
    const out: Generation[] = [];
    const d = this.data;
    for (let o = 0; o < d.length; o += HEADER + 2 * d[o + COUNT]!) {
      const n = d[o + COUNT]!;
      const revs: Revision[] = [];
      for (let i = 0; i < n; i++) revs.push(revision(d[o + HEADER + 2 * i]!, d[o + HEADER + 2 * i + 1]!));
      out.push({ ver: d[o + VER]!, created: n > 0 ? revision(d[o + CREATED_MAIN]!, d[o + CREATED_SUB]!) : ZERO, revs });
    }
    return out;
  }

  put(main: number, sub: number): void {
    if (this.#notAboveModified(main, sub)) {
      const m = this.modified;
      throw new MvccInvariantError(`put with a revision ${main}.${sub} not above modified ${m.main}.${m.sub}`);
    }
    const o = this.lastOffset;
    if (o < 0) {
      this.data = [1, main, sub, 1, main, sub];
      this.lastOffset = 0;
      return;
    }
    const d = append(this.data, main, sub);
    const n = d[o + COUNT]!;
    if (n === 0) {
      d[o + CREATED_MAIN] = main;
      d[o + CREATED_SUB] = sub;
    }
    d[o + COUNT] = n + 1;
    d[o + VER] = d[o + VER]! + 1;
    this.data = d;
  }

  /**
   * Starts the index of a key from a record found while scanning the
   * backend, when older revisions of the key are gone (compacted).
   */
  restore(created: Revision, modified: Revision, ver: number): void {
    if (this.lastOffset >= 0) throw new MvccInvariantError('restore on a non-empty KeyIndex');
    this.data = [ver, created.main, created.sub, 1, modified.main, modified.sub];
    this.lastOffset = 0;
  }

  /** True when the current (last) generation has no revision: the key is deleted. */
  lastGenerationEmpty(): boolean {
    return this.lastOffset < 0 || this.data[this.lastOffset + COUNT] === 0;
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
    const at = this.data.length;
    // an empty generation's created fields hold the tombstone: modified survives compaction
    this.data = append(this.data, 0, main, sub, 0);
    this.lastOffset = at;
  }

  /**
   * The revision of the key's value at atRev, with its generation's created
   * revision and the version at that point; undefined when the key does not
   * exist at atRev.
   */
  get(atRev: number): KeyIndexGet | undefined {
    const d = this.data;
    const o = this.#findGeneration(atRev);
    if (o < 0) return undefined;
    const n = d[o + COUNT]!;
    for (let i = n - 1; i >= 0; i--) {
      const main = d[o + HEADER + 2 * i]!;
      if (main <= atRev) {
        return {
          modified: revision(main, d[o + HEADER + 2 * i + 1]!),
          created: revision(d[o + CREATED_MAIN]!, d[o + CREATED_SUB]!),
          ver: d[o + VER]! - (n - i - 1),
        };
      }
    }
    return undefined;
  }

  /** Like get(atRev).modified, without allocating the rest. */
  modifiedAt(atRev: number): Revision | undefined {
    const d = this.data;
    const o = this.#findGeneration(atRev);
    if (o < 0) return undefined;
    for (let i = d[o + COUNT]! - 1; i >= 0; i--) {
      const main = d[o + HEADER + 2 * i]!;
      if (main <= atRev) return revision(main, d[o + HEADER + 2 * i + 1]!);
    }
    return undefined;
  }

  /** True when the key exists at atRev. */
  existsAt(atRev: number): boolean {
    const d = this.data;
    const o = this.#findGeneration(atRev);
    if (o < 0) return false;
    return d[o + HEADER]! <= atRev;
  }

  /** The offsets of the generations, oldest first. */
  #offsets(): number[] {
    const d = this.data;
    if (this.lastOffset === 0) return [0];
    const out: number[] = [];
    for (let o = 0; o < d.length; o += HEADER + 2 * d[o + COUNT]!) out.push(o);
    return out;
  }

  /**
   * The offset of the generation alive at rev, or -1 when the key does not
   * exist at rev (etcd's findGeneration; the generation's first revision may
   * still be above rev, which get() then reports as absent).
   */
  #findGeneration(rev: number): number {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`get on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    const d = this.data;
    const last = this.lastOffset;
    if (last < 0) return -1;
    // fast path: the last generation holds rev
    const ln = d[last + COUNT]!;
    if (ln > 0 && d[last + HEADER]! <= rev) return last;
    if (last === 0) return -1;
    const offs = this.#offsets();
    for (let gi = offs.length - 1; gi >= 0; gi--) {
      const o = offs[gi]!;
      const n = d[o + COUNT]!;
      if (n === 0) continue;
      if (o !== last) {
        const tomb = d[o + HEADER + 2 * (n - 1)]!;
        if (tomb <= rev) return -1;
      }
      if (d[o + HEADER]! <= rev) return o;
    }
    return -1;
  }

  /**
   * The revisions with main >= rev in increasing order; of several revisions
   * sharing one main revision only the one with the largest sub is kept.
   */
  since(rev: number): Revision[] {
    if (this.isEmpty()) {
      throw new MvccInvariantError(`since on an empty KeyIndex ${JSON.stringify(this.key)}`);
    }
    const d = this.data;
    const offs = this.#offsets();
    // the newest non-empty generation created before rev.0, or the first
    let gi = offs.length - 1;
    for (; gi > 0; gi--) {
      const o = offs[gi]!;
      if (d[o + COUNT] === 0) continue;
      const cm = d[o + CREATED_MAIN]!;
      if (rev > cm) break;
    }
    const out: Revision[] = [];
    let last = 0;
    for (; gi < offs.length; gi++) {
      const o = offs[gi]!;
      const n = d[o + COUNT]!;
      for (let i = 0; i < n; i++) {
        const main = d[o + HEADER + 2 * i]!;
        if (main < rev) continue;
        const r = revision(main, d[o + HEADER + 2 * i + 1]!);
        if (main === last) {
          out[out.length - 1] = r;
          continue;
        }
        out.push(r);
        last = main;
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
    const d = this.data;
    const offs = this.#offsets();
    let [gi, revIndex] = this.#doCompact(offs, atRev, available);
    let o = offs[gi]!;
    let n = d[o + COUNT]!;
    let drop = 0; // revisions dropped from the front of generation gi
    if (n > 0) {
      if (revIndex !== -1) {
        drop = revIndex;
        n -= revIndex;
      }
      if (n === 1 && gi !== offs.length - 1) {
        // the only revision left is the generation's tombstone
        const tombAt = o + HEADER + 2 * (d[o + COUNT]! - 1);
        available.delete({ main: d[tombAt]!, sub: d[tombAt + 1]! });
        gi++;
        o = offs[gi]!;
        drop = 0;
      }
    }
    if (gi === 0 && drop === 0) return;
    const keptFirst = d[o + COUNT]! - drop;
    const out: number[] = new Array<number>(d.length - o - 2 * drop);
    out[VER] = d[o + VER]!;
    out[CREATED_MAIN] = d[o + CREATED_MAIN]!;
    out[CREATED_SUB] = d[o + CREATED_SUB]!;
    out[COUNT] = keptFirst;
    let w = HEADER;
    for (let i = o + HEADER + 2 * drop; i < d.length; i++) out[w++] = d[i]!;
    this.data = out;
    // generation gi now starts at 0; the ones after it moved by what was cut
    this.lastOffset = this.lastOffset === o ? 0 : this.lastOffset - (o + 2 * drop);
  }

  /** Adds to available the revisions a compact(atRev) would keep, without changing anything. */
  keep(atRev: number, available: RevisionSet): void {
    if (this.isEmpty()) return;
    const d = this.data;
    const offs = this.#offsets();
    const [gi, revIndex] = this.#doCompact(offs, atRev, available);
    const o = offs[gi]!;
    const n = d[o + COUNT]!;
    if (n > 0 && revIndex === n - 1 && gi !== offs.length - 1) {
      available.delete({ main: d[o + HEADER + 2 * revIndex]!, sub: d[o + HEADER + 2 * revIndex + 1]! });
    }
  }

  /**
   * Finds the first generation whose tombstone is above atRev (or the last
   * generation), and in it the newest revision <= atRev, which it adds to
   * available. Returns the generation's position and that revision's index
   * in it (-1 when every revision of the generation is above atRev).
   */
  #doCompact(offs: number[], atRev: number, available: RevisionSet): [gi: number, revIndex: number] {
    const d = this.data;
    let gi = 0;
    while (gi < offs.length - 1) {
      const o = offs[gi]!;
      const tomb = d[o + HEADER + 2 * (d[o + COUNT]! - 1)]!;
      if (tomb > atRev) break;
      gi++;
    }
    const o = offs[gi]!;
    for (let i = d[o + COUNT]! - 1; i >= 0; i--) {
      const main = d[o + HEADER + 2 * i]!;
      if (main <= atRev) {
        available.addMainSub(main, d[o + HEADER + 2 * i + 1]!);
        return [gi, i];
      }
    }
    return [gi, -1];
  }

  isEmpty(): boolean {
    return this.lastOffset === 0 && this.data[COUNT] === 0;
  }

  /** Same key, same newest revision, and generations with the same versions and revisions (etcd's equal). */
  equals(other: KeyIndex): boolean {
    if (this.key !== other.key) return false;
    const a = this.modified;
    const b = other.modified;
    if (a.main !== b.main || a.sub !== b.sub) return false;
    const ga = this.generations;
    const gb = other.generations;
    if (ga.length !== gb.length) return false;
    for (let i = 0; i < ga.length; i++) {
      const x = ga[i]!;
      const y = gb[i]!;
      if (x.ver !== y.ver || x.revs.length !== y.revs.length) return false;
      for (let j = 0; j < x.revs.length; j++) {
        if (x.revs[j]!.main !== y.revs[j]!.main || x.revs[j]!.sub !== y.revs[j]!.sub) return false;
      }
    }
    return true;
  }
}
