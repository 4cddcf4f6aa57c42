/**
 * Typed errors of the raft state machine. Every error carries a stable `code`.
 *
 * Storage errors (ErrCompacted, ErrUnavailable, ErrSnapOutOfDate,
 * ErrSnapshotTemporarilyUnavailable) are expected outcomes the core handles.
 * ErrProposalDropped is returned to callers of propose()/proposeConfChange():
 * the proposal was not appended and may be retried. ErrRaftInvariant signals a
 * broken invariant (a corrupted or truncated log, misuse of the Ready protocol)
 * and must stop the member (fail-stop).
 */
export abstract class RaftError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The requested index is at or below the compacted prefix of the log. */
export class ErrCompacted extends RaftError {
  readonly code = 'RAFT_COMPACTED';
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

/** A snapshot at or below the index of the existing one was offered. */
export class ErrSnapOutOfDate extends RaftError {
  readonly code = 'RAFT_SNAP_OUT_OF_DATE';
  constructor() {
    super('requested index is older than the existing snapshot');
  }
}

/** The requested index is above the last index of the log. */
export class ErrUnavailable extends RaftError {
  readonly code = 'RAFT_UNAVAILABLE';
  constructor() {
    super('requested entry at index is unavailable');
  }
}

/** Storage cannot produce a snapshot right now; the leader retries later. */
export class ErrSnapshotTemporarilyUnavailable extends RaftError {
  readonly code = 'RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/**
 * The proposal was not appended to any log (no known leader, leadership
 * transfer in progress, member removed, or the uncommitted size limit).
 * Retrying is safe: the entry cannot commit.
 */
export class ErrProposalDropped extends RaftError {
  readonly code = 'RAFT_PROPOSAL_DROPPED';
  constructor(reason = 'raft proposal dropped') {
    super(reason);
  }
}

/** step() was given a message type that only the state machine itself may generate. */
export class ErrStepLocalMsg extends RaftError {
  readonly code = 'RAFT_STEP_LOCAL_MSG';
  constructor() {
    super('raft: cannot step raft local message');
  }
}

/** step() was given a response from a node that is not in the configuration. */
export class ErrStepPeerNotFound extends RaftError {
  readonly code = 'RAFT_STEP_PEER_NOT_FOUND';
  constructor() {
    super('raft: cannot step as peer not found');
  }
}

/** The RaftConfig (or the storage it points to) cannot start a member. */
export class ErrConfigInvalid extends RaftError {
  readonly code = 'RAFT_CONFIG_INVALID';
}

/** A configuration change cannot be applied (for example it removes every voter). */
export class ErrConfChangeInvalid extends RaftError {
  readonly code = 'RAFT_CONF_CHANGE_INVALID';
}

/** A broken invariant: the member must stop rather than risk diverging. */
export class ErrRaftInvariant extends RaftError {
  readonly code = 'RAFT_INVARIANT';
}
