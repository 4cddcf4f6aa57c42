import type { Entry, HardState } from '../raft/types.js';

/**
 * Where the raft log and hard state become durable before anything that depends
 * on them happens. save() resolves only when hardState and entries are on stable
 * storage (for the WAL: after an fsync covering them).
 */
export interface LogStore {
  save(hardState: HardState | undefined, entries: readonly Entry[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The log store of the in-memory storage mode: nothing survives the process, so
 * there is nothing to make durable. The raft log still lives in MemoryStorage.
 */
export class EphemeralLogStore implements LogStore {
  async save(): Promise<void> {}
  async close(): Promise<void> {}
}
