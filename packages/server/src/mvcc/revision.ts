/**
 * A revision names one change of the key space. All changes of one write
 * transaction share its main revision and are numbered by sub, from 0.
 * Revisions are safe integers: a store never reaches 2^53 transactions.
 */
export interface Revision {
  readonly main: number;
  readonly sub: number;
}

/** Byte length of a revision key in the key bucket: 8-byte BE main, '_', 8-byte BE sub. */
export const REV_BYTES_LEN = 17;
/** A revision key followed by one mark byte. */
export const MARKED_REV_BYTES_LEN = REV_BYTES_LEN + 1;
/** Mark byte of a revision key whose record is a tombstone (a deletion). */
export const MARK_TOMBSTONE = 0x74; // 't'

const SEPARATOR = 0x5f; // '_'

export function revision(main: number, sub = 0): Revision {
  return { main, sub };
}

/** Negative if a < b, positive if a > b, 0 if equal; main first, then sub. */
export function compareRevision(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

export function revisionGreaterThan(a: Revision, b: Revision): boolean {
  return a.main > b.main || (a.main === b.main && a.sub > b.sub);
}

function writeU64(out: Uint8Array, offset: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 0xff;
  out[offset + 2] = (hi >>> 8) & 0xff;
  out[offset + 3] = hi & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

function readU64(b: Uint8Array, offset: number): number {
  const hi = ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
  const lo = ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** The 17-byte key of rev, or 18 bytes ending in MARK_TOMBSTONE when tombstone is set. */
export function revToBytes(rev: Revision, tombstone = false): Buffer {
  const out = Buffer.allocUnsafe(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  writeU64(out, 0, rev.main);
  out[8] = SEPARATOR;
  writeU64(out, 9, rev.sub);
  if (tombstone) out[REV_BYTES_LEN] = MARK_TOMBSTONE;
  return out;
}

/** Decodes the revision of a 17- or 18-byte revision key (the mark byte is ignored). */
export function bytesToRev(b: Uint8Array): Revision {
  return { main: readU64(b, 0), sub: readU64(b, 9) };
}

/** The main revision of a revision key, without allocating. */
export function bytesToMain(b: Uint8Array): number {
  return readU64(b, 0);
}

/** The sub revision of a revision key, without allocating. */
export function bytesToSub(b: Uint8Array): number {
  return readU64(b, 9);
}

/** The 8-byte BE encoding of n, as etcd stores consistent_index. */
export function uint64ToBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  writeU64(out, 0, n);
  return out;
}

export function bytesToUint64(b: Uint8Array): number {
  return readU64(b, 0);
}

export function isTombstoneKey(b: Uint8Array): boolean {
  return b.length === MARKED_REV_BYTES_LEN && b[REV_BYTES_LEN] === MARK_TOMBSTONE;
}

/**
 * A set of revisions compared by value (etcd's map[revision]struct{}).
 * Revisions with sub 0, the common case, are kept as plain numbers.
 */
export class RevisionSet {
  readonly #mains = new Set<number>();
  readonly #withSub = new Map<number, Set<number>>();
  #size = 0;

  add(rev: Revision): void {
    this.addMainSub(rev.main, rev.sub);
  }

  addMainSub(main: number, sub: number): void {
    if (sub === 0) {
      if (this.#mains.has(main)) return;
      this.#mains.add(main);
    } else {
      let subs = this.#withSub.get(main);
      if (subs === undefined) {
        subs = new Set<number>();
        this.#withSub.set(main, subs);
      }
      if (subs.has(sub)) return;
      subs.add(sub);
    }
    this.#size++;
  }

  delete(rev: Revision): void {
    if (rev.sub === 0) {
      if (this.#mains.delete(rev.main)) this.#size--;
      return;
    }
    const subs = this.#withSub.get(rev.main);
    if (subs !== undefined && subs.delete(rev.sub)) {
      this.#size--;
      if (subs.size === 0) this.#withSub.delete(rev.main);
    }
  }

  has(rev: Revision): boolean {
    return this.hasMainSub(rev.main, rev.sub);
  }

  hasMainSub(main: number, sub: number): boolean {
    if (sub === 0) return this.#mains.has(main);
    const subs = this.#withSub.get(main);
    return subs !== undefined && subs.has(sub);
  }

  get size(): number {
    return this.#size;
  }

  *[Symbol.iterator](): IterableIterator<Revision> {
    for (const main of this.#mains) yield { main, sub: 0 };
    for (const [main, subs] of this.#withSub) for (const sub of subs) yield { main, sub };
  }
}
