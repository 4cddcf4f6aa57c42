import { limitSize } from './entry-size.js';
import { ErrCompacted, ErrRaftInvariant, ErrUnavailable } from './errors.js';
import { Unstable } from './unstable.js';
import type { Entry, Snapshot } from './types.js';
import type { Storage } from './storage.js';

export const noLimit = Number.MAX_SAFE_INTEGER;

/**
 * The log as raft sees it: the stable prefix in Storage followed by the
 * unstable tail.
 *
 * Invariants: applied <= committed <= lastIndex(); committed never decreases
 * (an entry once committed stays committed, Raft §5.4 State Machine Safety);
 * entries at or below committed are never truncated.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index the shell has applied to its state machine. */
  applied: number;
  /** Upper bound on the bytes of committed entries handed out in one Ready. */
  readonly maxNextEntsSize: number;

  constructor(storage: Storage, maxNextEntsSize: number = noLimit) {
    this.storage = storage;
    this.maxNextEntsSize = maxNextEntsSize;
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(lastIndex + 1);
    // Everything up to the snapshot is committed and applied.
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends ents after (index, logTerm) if the log has that entry (the AppendEntries
   * consistency check, Raft §5.3), truncating any conflicting suffix. Returns the
   * index of the last new entry, or undefined when the check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastnewi = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new ErrRaftInvariant(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new ErrRaftInvariant(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of ents that is absent from the log or whose
   * term differs from the log's entry at that index; 0 when all match.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const ne of ents) {
      if (!this.matchTerm(ne.index, ne.term)) return ne.index;
    }
    return 0;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  /** Committed entries not yet applied, limited to maxNextEntsSize bytes. */
  nextEnts(): Entry[] {
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextEnts(): boolean {
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        throw new ErrRaftInvariant(
          `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = tocommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (this.committed < i || i < this.applied) {
      throw new ErrRaftInvariant(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry i; 0 outside [firstIndex()-1, lastIndex()]. Throws
   * ErrCompacted (or ErrUnavailable) when storage no longer holds it.
   */
  term(i: number): number {
    const dummyIndex = this.firstIndex() - 1;
    if (i < dummyIndex || i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** The term of entry i, or 0 if it was compacted away. */
  zeroTermOnErrCompacted(i: number): number {
    try {
      return this.term(i);
    } catch (err) {
      if (err instanceof ErrCompacted) return 0;
      throw err;
    }
  }

  /** Entries from i to the end, limited to maxSize bytes. */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), noLimit);
  }

  /**
   * Whether a candidate's log ending at (lasti, term) is at least as up-to-date
   * as this one (Raft §5.4.1): the later last term wins, then the longer log.
   */
  isUpToDate(lasti: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && lasti >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    try {
      return this.term(i) === term;
    } catch (err) {
      if (err instanceof ErrCompacted || err instanceof ErrUnavailable) return false;
      throw err;
    }
  }

  /**
   * Commits up to maxIndex only if that entry is from `term`, the leader's
   * current term: a leader never commits entries of earlier terms by counting
   * replicas (Raft §5.4.2); they commit indirectly.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnErrCompacted(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) limited to maxSize bytes; throws ErrCompacted when lo is compacted. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uoff = this.unstable.offset;
    if (lo < uoff) {
      const upper = Math.min(hi, uoff);
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, upper, maxSize);
      } catch (err) {
        if (err instanceof ErrUnavailable) {
          throw new ErrRaftInvariant(`entries[${lo}:${upper}) is unavailable from storage`);
        }
        throw err;
      }
      // Storage already applied the size limit.
      if (stored.length < upper - lo) return stored;
      ents = stored;
    }
    if (hi > uoff) {
      const tail = this.unstable.slice(Math.max(lo, uoff), hi);
      ents = ents.length > 0 ? ents.concat(tail) : tail;
    }
    return limitSize(ents, maxSize);
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new ErrRaftInvariant(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    const last = this.lastIndex();
    if (hi > last + 1) throw new ErrRaftInvariant(`slice[${lo},${hi}) out of bound [${fi},${last}]`);
  }
}
