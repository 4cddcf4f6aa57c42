import { encodeConfChange } from './conf-change-codec.js';
import { isEmptyHardState, isHardStateEqual } from './empty.js';
import { ErrConfigInvalid, ErrRaftInvariant, ErrStepLocalMsg, ErrStepPeerNotFound } from './errors.js';
import { isLocalMsg, isResponseMsg, newMessage } from './message.js';
import { Raft } from './raft.js';
import type { RaftConfig } from './raft-config.js';
import { getStatus } from './status.js';
import type { Status } from './status.js';
import { ConfChangeType, EntryType, MessageType, None, emptyHardState } from './types.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, Ready, SoftState } from './types.js';

/** Outcome of sending a snapshot, reported through reportSnapshot(). */
export const SnapshotStatus = { Finish: 1, Failure: 2 } as const;
export type SnapshotStatus = (typeof SnapshotStatus)[keyof typeof SnapshotStatus];

/** A member of the initial cluster for bootstrap(); context is opaque (etcd puts the member JSON there). */
export interface Peer {
  readonly id: NodeId;
  readonly context?: Uint8Array;
}

const emptyBytes = new Uint8Array(0);

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

/**
 * The interface of the raft state machine for a shell that owns the I/O.
 *
 * Protocol: feed inputs (tick, step, propose, ...); while hasReady(), take
 * ready(), then persist its snapshot (MemoryStorage.applySnapshot), entries
 * (MemoryStorage.append) and hard state (setHardState) durably, send its
 * messages, apply its snapshot and committed entries, and call advance().
 * At most one Ready is outstanding at a time.
 */
export class RawNode {
  private readonly raft: Raft;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  /** The Ready handed out and not yet advanced. */
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  /**
   * Starts a brand-new cluster: writes one committed AddNode conf change per
   * peer at term 1 (indexes 1..n) and applies them. The next Ready carries
   * these entries both to persist and to apply; applying them again through
   * applyConfChange is harmless. Storage must be empty.
   */
  bootstrap(peers: readonly Peer[]): void {
    if (peers.length === 0) throw new ErrConfigInvalid('must provide at least one peer to bootstrap');
    if (this.raft.raftLog.storage.lastIndex() !== 0 || this.raft.raftLog.lastIndex() !== 0) {
      throw new ErrConfigInvalid("can't bootstrap a nonempty Storage");
    }
    this.prevHardSt = emptyHardState;
    this.raft.becomeFollower(1, None);
    const ents: Entry[] = peers.map((p, i) => ({
      type: EntryType.ConfChange,
      term: 1,
      index: i + 1,
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: p.id, context: p.context ?? emptyBytes, id: 0n }),
    }));
    this.raft.raftLog.append(ents);
    this.raft.raftLog.committed = ents.length;
    for (const p of peers) this.raft.applyConfChange({ type: ConfChangeType.AddNode, nodeId: p.id });
  }

  /** Advances the logical clock by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Advances only the election clock: for a quiesced group whose leader is known to be alive. */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  /** Starts an election now (with a pre-vote round when preVote is on). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  /**
   * Proposes data to be appended to the log. Throws ErrProposalDropped when it
   * certainly was not appended; otherwise it may or may not commit later.
   */
  propose(data: Uint8Array): void {
    this.raft.step(
      newMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  /**
   * Proposes a membership change. It takes effect when the shell applies the
   * committed entry and calls applyConfChange(). While one change is pending
   * the leader replaces new ones with empty entries.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      newMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed conf change entry (decodeConfChange(entry.data)) and returns the new configuration. */
  applyConfChange(cc: Pick<ConfChange, 'type' | 'nodeId'>): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Steps a message received from a peer. Throws ErrStepLocalMsg for local
   * message types and ErrStepPeerNotFound for responses from non-members.
   */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw new ErrStepLocalMsg();
    if (this.raft.prs.progress.has(m.from) || !isResponseMsg(m.type)) {
      this.raft.step(m);
      return;
    }
    throw new ErrStepPeerNotFound();
  }

  /** Whether ready() has work; false while a Ready is outstanding. */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftSt)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !isHardStateEqual(hs, this.prevHardSt)) return true;
    if (r.raftLog.unstable.snapshot !== undefined) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.entries.length > 0 || r.raftLog.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  /** Takes the next batch of work. Throws if the previous Ready was not advanced. */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new ErrRaftInvariant('ready() called before advance() of the previous Ready');
    const r = this.raft;
    const ss = r.softState();
    const hs = r.hardState();
    const entries = r.raftLog.unstableEntries();
    const snapshot = r.raftLog.unstable.snapshot;
    const rd: Ready = {
      ...(softStateEqual(ss, this.prevSoftSt) ? {} : { softState: ss }),
      ...(isHardStateEqual(hs, this.prevHardSt) ? {} : { hardState: hs }),
      readStates: r.readStates,
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries: r.raftLog.nextEnts(),
      messages: r.msgs,
      // Term, vote and log entries must be durable before any message is sent (§5.1 Figure 2).
      mustSync: entries.length !== 0 || snapshot !== undefined || hs.vote !== this.prevHardSt.vote || hs.term !== this.prevHardSt.term,
    };
    if (rd.softState !== undefined) this.prevSoftSt = rd.softState;
    r.readStates = [];
    r.msgs = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * Reports that the outstanding Ready was persisted and applied: its entries
   * and snapshot are now in Storage and its committed entries are applied.
   * `rd`, when given, must be the Ready returned by the last ready().
   */
  advance(rd: Ready | undefined = this.outstanding): void {
    if (rd === undefined) throw new ErrRaftInvariant('advance() called without an outstanding Ready');
    if (rd !== this.outstanding) throw new ErrRaftInvariant('advance() given a Ready other than the outstanding one');
    if (rd.hardState !== undefined) this.prevHardSt = rd.hardState;
    this.raft.advance(rd);
    this.outstanding = undefined;
  }

  status(): Status {
    return getStatus(this.raft);
  }

  /** The transport failed to deliver to `id`; the leader falls back to probing it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** The outcome of sending a MsgSnap to `id`. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: status === SnapshotStatus.Failure }));
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded when called on a follower). */
  transferLeader(transferee: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /**
   * Requests a linearizable read point. The answer arrives as a ReadState with
   * the same requestCtx in a later Ready; reads are linearizable once the state
   * machine applied ReadState.index. ctx must be non-empty and unique among
   * pending requests; requests without a leader are dropped silently.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(newMessage({ type: MessageType.MsgReadIndex, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: ctx }] }));
  }
}
