import type { Entry, HardState } from '../raft/types.js';

/**
 * Where the raft log and hard state become durable before anything that depends
 * on them happens. save() resolves only when hardState and entries are on stable
 * storage (for the WAL: after an fsync covering them).
 */
export interface LogStore {
  save(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void>;
  /** Records durably that a snapshot at {index, term} exists. */
  saveSnapshot(snap: { index: number; term: number }): Promise<void>;
  /** Drops log records covered by the snapshot at index (the snapshot must be durable). */
  releaseTo(index: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The log store of the in-memory storage mode: nothing survives the process, so
 * there is nothing to make durable. The raft log still lives in MemoryStorage.
 */
export class EphemeralLogStore implements LogStore {
  async save(): Promise<void> {}
  async saveSnapshot(): Promise<void> {}
  async releaseTo(): Promise<void> {}
  async close(): Promise<void> {}
}
