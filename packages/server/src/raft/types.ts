/**
 * The value types of the raft state machine, after etcd's raftpb: log entries,
 * hard state, snapshots, messages and the Ready batch handed to the shell.
 *
 * Terms and indexes are safe integers (a log never reaches 2^53 entries); node IDs
 * are 64-bit member IDs and therefore bigint. 0n means "no node" (etcd's None).
 */

export type NodeId = bigint;
export const None: NodeId = 0n;

export const EntryType = { Normal: 0, ConfChange: 1, ConfChangeV2: 2 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** The proposal's payload; empty for the no-op entry a new leader appends. */
  readonly data: Uint8Array;
}

/** State that must be durable before any message depending on it is sent (Raft §5.1, Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const emptyHardState: HardState = { term: 0, vote: None, commit: 0 };

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** Message types with raftpb's numbering. */
export const MessageType = {
  MsgHup: 0,
  MsgBeat: 1,
  MsgProp: 2,
  MsgApp: 3,
  MsgAppResp: 4,
  MsgVote: 5,
  MsgVoteResp: 6,
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  MsgUnreachable: 10,
  MsgSnapStatus: 11,
  MsgCheckQuorum: 12,
  MsgTransferLeader: 13,
  MsgTimeoutNow: 14,
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot?: Snapshot;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly context: Uint8Array;
}

export const ConfChangeType = { AddNode: 0, RemoveNode: 1, UpdateNode: 2, AddLearnerNode: 3 } as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft; etcd puts the JSON-encoded member here. */
  readonly context: Uint8Array;
  /** Request ID used by the server to match the applied change to its waiter. */
  readonly id: bigint;
}

export const StateType = { Follower: 0, Candidate: 1, Leader: 2, PreCandidate: 3 } as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

/** Volatile state, reported when it changes; never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** Answer to a readIndex() call: reads issued with requestCtx are linearizable once index is applied. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

/**
 * One batch of work for the shell. The shell must, in this order: persist
 * `hardState`, `entries` and `snapshot` (fsync), then send `messages`, then apply
 * `snapshot` and `committedEntries`, then call advance().
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  /** Entries to append to stable storage before messages are sent. */
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  /** Entries already committed, to apply to the state machine in order. */
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  /** True when hardState or entries changed so that an fsync is required. */
  readonly mustSync: boolean;
}
