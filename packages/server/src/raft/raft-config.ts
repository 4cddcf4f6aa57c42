import { ErrConfigInvalid } from './errors.js';
import { ReadOnlyOption } from './read-only.js';
import type { RandomSource } from './seeded-random.js';
import type { Storage } from './storage.js';
import { None } from './types.js';
import type { NodeId } from './types.js';

/** Parameters of one raft member. Ticks are the unit of logical time (the shell calls tick()). */
export interface RaftConfig {
  /** This member's id; never 0n (None). */
  readonly id: NodeId;
  /**
   * Ticks without hearing from a leader before a follower campaigns. The actual
   * timeout is drawn from [electionTick, 2*electionTick) after every reset
   * (randomized timeouts, Raft §5.2). Must exceed heartbeatTick; 10× is typical.
   */
  readonly electionTick: number;
  /** Ticks between heartbeats of a leader. */
  readonly heartbeatTick: number;
  /** The stable log; raft reads it, the shell appends to it after persisting. */
  readonly storage: Storage;
  /**
   * The last index the state machine applied before a restart; committed
   * entries up to it are not delivered again. Must be within
   * [firstIndex-1 of the storage, hard state commit]; usually the snapshot
   * index, or the state machine's applied index with static membership.
   */
  readonly applied?: number;
  /** Byte budget of the entries of one MsgApp (at least one entry is always sent). */
  readonly maxSizePerMsg: number;
  /** Maximum number of MsgApps in flight to one follower in StateReplicate. */
  readonly maxInflightMsgs: number;
  /** The leader steps down when a quorum was not heard from in an election timeout; followers ignore votes while they hear from a leader. */
  readonly checkQuorum: boolean;
  /** Run a pre-vote round (Raft dissertation §9.6) before incrementing the term. */
  readonly preVote: boolean;
  /** Random source for election timeouts; inject seededRandom(seed) for determinism. */
  readonly random: RandomSource;
  /**
   * Initial voters for a member started without a configuration in storage
   * (static membership, single-member servers). If the storage snapshot has a
   * ConfState, peers/learners must equal it.
   */
  readonly peers?: readonly NodeId[];
  /** Initial learners, with the same rules as peers. */
  readonly learners?: readonly NodeId[];
  /** Byte budget of the committed entries of one Ready; defaults to maxSizePerMsg. */
  readonly maxCommittedSizePerReady?: number;
  /** Byte budget of the payloads of uncommitted entries a leader accepts; unlimited by default. */
  readonly maxUncommittedEntriesSize?: number;
  /** ReadIndex mode; Safe (a heartbeat round) by default. */
  readonly readOnlyOption?: ReadOnlyOption;
  /** When true, followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
}

/** Throws ErrConfigInvalid unless the config can start a member. */
export function validateRaftConfig(c: RaftConfig): void {
  if (c.id === None) throw new ErrConfigInvalid('cannot use none as id');
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    throw new ErrConfigInvalid('heartbeat tick must be greater than 0');
  }
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    throw new ErrConfigInvalid('election tick must be greater than heartbeat tick');
  }
  if (!Number.isInteger(c.maxInflightMsgs) || c.maxInflightMsgs <= 0) {
    throw new ErrConfigInvalid('max inflight messages must be greater than 0');
  }
  if (!(c.maxSizePerMsg >= 0)) throw new ErrConfigInvalid('max size per msg must not be negative');
  if (typeof c.random !== 'function') throw new ErrConfigInvalid('random source is required');
  if (c.readOnlyOption === ReadOnlyOption.LeaseBased && !c.checkQuorum) {
    throw new ErrConfigInvalid('CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
  }
}
