import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/** What a member persisted about itself: the hard state and the configuration of its snapshot. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * The stable log as raft reads it. The shell writes to it (after fsync) and raft
 * only reads. Indexes below firstIndex() are compacted into snapshot().
 *
 * Methods throw ErrCompacted for indexes below the compacted prefix,
 * ErrUnavailable for indexes above lastIndex(), and snapshot() may throw
 * ErrSnapshotTemporarilyUnavailable.
 */
export interface Storage {
  initialState(): InitialState;
  /** Entries in [lo, hi), limited to maxSize bytes (at least one entry if any exist). */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}
