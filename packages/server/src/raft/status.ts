import type { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { StateType } from './types.js';
import type { ConfState, NodeId, StateType as StateTypeT } from './types.js';

/** A copy of the leader's Progress for one member. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly probeSent: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

/** A snapshot of a member's raft state, for monitoring and tests. */
export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly raftState: StateTypeT;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  readonly lastIndex: number;
  /** Progress of every member; empty unless this member is the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

export function getStatus(r: Raft): Status {
  const progress = new Map<NodeId, ProgressStatus>();
  if (r.state === StateType.Leader) {
    r.prs.visit((id, pr) => {
      progress.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        isLearner: pr.isLearner,
        recentActive: pr.recentActive,
        probeSent: pr.probeSent,
        pendingSnapshot: pr.pendingSnapshot,
        inflight: pr.inflights.count(),
      });
    });
  }
  return {
    id: r.id,
    term: r.term,
    vote: r.vote,
    commit: r.raftLog.committed,
    applied: r.raftLog.applied,
    lead: r.lead,
    raftState: r.state,
    leadTransferee: r.leadTransferee,
    config: r.prs.confState(),
    lastIndex: r.raftLog.lastIndex(),
    progress,
  };
}
