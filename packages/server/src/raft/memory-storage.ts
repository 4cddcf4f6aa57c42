import { emptySnapshot } from './empty.js';
import { limitSize } from './entry-size.js';
import { ErrCompacted, ErrRaftInvariant, ErrSnapOutOfDate, ErrUnavailable } from './errors.js';
import { EntryType, emptyHardState } from './types.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import type { InitialState, Storage } from './storage.js';

function dummyEntry(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}

/**
 * An in-memory Storage: the stable log the shell appends to once the entries of
 * a Ready are durable. Raft reads it; only the shell writes it.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot = emptySnapshot;
  /**
   * ents[0] is a dummy entry carrying the index and term of the snapshot (the
   * compacted prefix); ents[k] is the entry at index ents[0].index + k.
   * Invariant: indexes are contiguous and terms never decrease.
   */
  private ents: Entry[] = [dummyEntry(0, 0)];

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) {
      throw new ErrRaftInvariant(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw new ErrUnavailable();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new ErrCompacted();
    const e = this.ents[i - offset];
    if (e === undefined) throw new ErrUnavailable();
    return e.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot (a follower catching up through MsgSnap). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = snap;
    this.ents = [dummyEntry(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot of the state machine as of applied index i. The caller
   * then usually compact()s the log up to (or somewhat below) i. Without cs the
   * configuration of the previous snapshot is kept.
   */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    const offset = this.ents[0]!.index;
    if (i > this.lastIndex()) {
      throw new ErrRaftInvariant(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    }
    this.snap = {
      metadata: { index: i, term: this.ents[i - offset]!.term, confState: cs ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discards every entry up to and including compactIndex; the caller must have snapshotted past it. */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) {
      throw new ErrRaftInvariant(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    }
    const i = compactIndex - offset;
    const at = this.ents[i]!;
    this.ents = [dummyEntry(at.index, at.term), ...this.ents.slice(i + 1)];
  }

  /**
   * Appends durable entries. Entries overlapping the log replace it from the
   * first overlapping index on (a follower's log conflicts are resolved by the
   * leader, Raft §5.3); entries below the compacted prefix are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    let ents = entries;
    const last = ents[0]!.index + ents.length - 1;
    if (last < first) return;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.ents[0]!.index;
    if (this.ents.length < offset) {
      throw new ErrRaftInvariant(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
    this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }
}
