/**
 * The shell around the pure raft state machine: drives its clock and runs the
 * Ready loop in the one safe order —
 *   1. persist hard state and entries (group commit: one save, so one fsync, for
 *      every proposal that arrived since the previous batch),
 *   2. append them to MemoryStorage,
 *   3. send messages,
 *   4. apply committed entries,
 *   5. advance.
 * Two refinements, both etcd's: a leader sends its messages before step 1
 * (Raft thesis §10.2.1: followers persist in parallel with it, and the leader
 * counts only its own persisted entries), and a hard state whose only change is
 * the commit index is not synced on its own but written with the next batch.
 * Invariant: no committed entry is applied, and no follower or candidate
 * message is sent, before the entries, term and vote of the same Ready are durable.
 */
import type { RawNode, SnapshotStatus } from '../raft/raw-node.js';
import type { MemoryStorage } from '../raft/memory-storage.js';
import { StateType, type ConfChange, type Entry, type HardState, type Message, type ReadState, type Snapshot, type SoftState } from '../raft/types.js';
import type { LogStore } from './log-store.js';

export interface Transport {
  send(messages: readonly Message[]): void;
}

export interface RaftNodeHandlers {
  /** Applies committed entries, in order. Synchronous: the loop waits for it. */
  apply(entries: readonly Entry[]): void;
  onSoftState(state: SoftState): void;
  onReadStates(states: readonly ReadState[]): void;
  onCommitIndex(commit: number, term: number): void;
  /**
   * Makes a snapshot received from the leader durable (snapshot file and WAL
   * marker) before the hard state and entries of the same Ready are saved.
   */
  persistSnapshot(snap: Snapshot): Promise<void>;
  /** Replaces the state machine with a received snapshot; runs before committedEntries. */
  applySnapshot(snap: Snapshot): Promise<void>;
  /** A storage failure: the node has stopped and must not acknowledge anything more. */
  onFatal(err: unknown): void;
}

export interface RaftNodeOptions {
  readonly rawNode: RawNode;
  readonly storage: MemoryStorage;
  readonly logStore: LogStore;
  readonly transport?: Transport;
  readonly tickMs: number;
  readonly handlers: RaftNodeHandlers;
}

export class RaftNode {
  readonly rawNode: RawNode;
  private readonly storage: MemoryStorage;
  private readonly logStore: LogStore;
  private readonly transport: Transport | undefined;
  private readonly handlers: RaftNodeHandlers;
  private readonly tickMs: number;
  private ticker: NodeJS.Timeout | undefined;
  /** True while a loop iteration is scheduled or running; at most one runs at a time. */
  private running = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private fatal: unknown;
  /** This node led at its last soft state: it may send before persisting (Raft thesis §10.2.1). */
  private leading = false;
  /**
   * A hard state that changed only its commit index, not yet written: like etcd,
   * it is not worth an fsync on its own (the commit index can be learned again
   * after a restart) and is written with the next batch that must be durable.
   */
  private pendingHardState: HardState | undefined;

  constructor(opts: RaftNodeOptions) {
    this.rawNode = opts.rawNode;
    this.storage = opts.storage;
    this.logStore = opts.logStore;
    this.transport = opts.transport;
    this.handlers = opts.handlers;
    this.tickMs = opts.tickMs;
  }

  start(): void {
    this.ticker = setInterval(() => {
      this.rawNode.tick();
      this.kick();
    }, this.tickMs);
    this.ticker.unref();
    this.kick();
  }

  /** Proposes data to the log; throws raft's ErrProposalDropped when there is no leader to take it. */
  propose(data: Uint8Array): void {
    this.assertUsable();
    this.rawNode.propose(data);
    this.kick();
  }

  readIndex(ctx: Uint8Array): void {
    this.assertUsable();
    this.rawNode.readIndex(ctx);
    this.kick();
  }

  campaign(): void {
    this.assertUsable();
    this.rawNode.campaign();
    this.kick();
  }

  /** The transport could not reach a peer: raft probes it again instead of pipelining. */
  reportUnreachable(id: bigint): void {
    if (this.stopped) return;
    this.rawNode.reportUnreachable(id);
    this.kick();
  }

  /** Outcome of sending a snapshot to a peer. */
  reportSnapshot(id: bigint, status: SnapshotStatus): void {
    if (this.stopped) return;
    this.rawNode.reportSnapshot(id, status);
    this.kick();
  }

  transferLeader(to: bigint): void {
    this.assertUsable();
    this.rawNode.transferLeader(to);
    this.kick();
  }

  proposeConfChange(cc: ConfChange): void {
    this.assertUsable();
    this.rawNode.proposeConfChange(cc);
    this.kick();
  }

  /** Feeds a message from a peer into the state machine. */
  step(m: Message): void {
    if (this.stopped) return;
    this.rawNode.step(m);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await this.idle;
  }

  private assertUsable(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.stopped) throw new RaftNodeStoppedError();
  }

  /** Schedules a loop run on the next turn, so that proposals of one turn share a batch. */
  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.run().finally(resolve);
      });
    });
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped && this.rawNode.hasReady()) {
        const rd = this.rawNode.ready();
        if (rd.softState !== undefined) {
          this.leading = rd.softState.raftState === StateType.Leader;
          this.handlers.onSoftState(rd.softState);
        }
        if (rd.readStates.length > 0) this.handlers.onReadStates(rd.readStates);
        // A leader's messages (appends, heartbeats) do not depend on its own log being
        // durable: it counts itself in a quorum only for what it persisted. Sending
        // them first overlaps the followers' writes with its own.
        const sendFirst = this.leading && rd.messages.length > 0;
        if (sendFirst) this.transport?.send(rd.messages);
        if (rd.snapshot !== undefined) await this.handlers.persistSnapshot(rd.snapshot);
        if (rd.mustSync || rd.entries.length > 0) {
          await this.logStore.save(rd.hardState ?? this.pendingHardState, rd.entries);
          this.pendingHardState = undefined;
        } else if (rd.hardState !== undefined) {
          this.pendingHardState = rd.hardState;
        }
        if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
        if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
        if (rd.entries.length > 0) this.storage.append(rd.entries);
        if (!sendFirst && rd.messages.length > 0) this.transport?.send(rd.messages);
        if (rd.hardState !== undefined) this.handlers.onCommitIndex(rd.hardState.commit, rd.hardState.term);
        if (rd.snapshot !== undefined) await this.handlers.applySnapshot(rd.snapshot);
        if (rd.committedEntries.length > 0) this.handlers.apply(rd.committedEntries);
        this.rawNode.advance(rd);
      }
    } catch (err) {
      this.fatal = err;
      this.stopped = true;
      if (this.ticker !== undefined) clearInterval(this.ticker);
      this.handlers.onFatal(err);
    } finally {
      this.running = false;
    }
    // Work that arrived while the last save was in flight is picked up by the next run.
    if (!this.stopped && this.rawNode.hasReady()) this.kick();
  }
}

export class RaftNodeStoppedError extends Error {
  override readonly name = 'RaftNodeStoppedError';
  constructor() {
    super('raft node stopped');
  }
}
