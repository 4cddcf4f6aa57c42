import { ErrConfChangeInvalid } from './errors.js';
import { Progress } from './progress.js';
import { ConfChangeType } from './types.js';
import type { ConfChange, ConfState, NodeId } from './types.js';
import { VoteResult } from './vote-result.js';

export function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The configuration (voters and learners) and the leader's Progress of every
 * member, plus the votes of the current election.
 *
 * Invariants: voters and learners are disjoint; progress has exactly one entry
 * per member of voters ∪ learners, and progress.isLearner matches learners.
 * Membership changes one member at a time (single-server changes, Raft
 * dissertation §4.1) so any two successive majorities overlap.
 */
export class ProgressTracker {
  readonly maxInflight: number;
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  confState(): ConfState {
    return { voters: this.voterNodes(), learners: this.learnerNodes() };
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  voterNodes(): NodeId[] {
    return [...this.voters].sort(compareNodeIds);
  }

  learnerNodes(): NodeId[] {
    return [...this.learners].sort(compareNodeIds);
  }

  /** Visits every member's Progress in increasing id order (deterministic message order). */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort(compareNodeIds);
    for (const id of ids) fn(id, this.progress.get(id)!);
  }

  /**
   * The largest index replicated on a majority of voters (Raft §5.3); learners
   * do not count. 0 with no voters.
   */
  committed(): number {
    const n = this.voters.size;
    if (n === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[Math.floor(n / 2)]!;
  }

  /** Outcome of an acknowledgment set (or vote map) against the voters. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const n = this.voters.size;
    if (n === 0) return VoteResult.VoteWon;
    let yes = 0;
    let missing = 0;
    for (const id of this.voters) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(n / 2) + 1;
    if (yes >= q) return VoteResult.VoteWon;
    if (yes + missing >= q) return VoteResult.VotePending;
    return VoteResult.VoteLost;
  }

  /** Whether a majority of voters was recently active (check-quorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return this.voteResult(votes) === VoteResult.VoteWon;
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records the first vote of `id` in this election; later votes of the same node are ignored. */
  recordVote(id: NodeId, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.voteResult(this.votes) };
  }

  /**
   * Applies one membership change. A new member's Progress starts probing at
   * lastIndex and counts as recently active so check-quorum does not depose the
   * leader before the member could answer. Throws ErrConfChangeInvalid, leaving
   * the tracker unchanged, when the change would remove every voter.
   */
  applyConfChange(cc: Pick<ConfChange, 'type' | 'nodeId'>, lastIndex: number): void {
    const id = cc.nodeId;
    if (id === 0n) return;
    switch (cc.type) {
      case ConfChangeType.AddNode:
        this.makeVoter(id, lastIndex);
        return;
      case ConfChangeType.AddLearnerNode:
        if (this.voters.has(id) && this.voters.size === 1) {
          throw new ErrConfChangeInvalid('removed all voters');
        }
        this.makeLearner(id, lastIndex);
        return;
      case ConfChangeType.RemoveNode:
        if (this.voters.has(id) && this.voters.size === 1) {
          throw new ErrConfChangeInvalid('removed all voters');
        }
        this.voters.delete(id);
        this.learners.delete(id);
        this.progress.delete(id);
        return;
      case ConfChangeType.UpdateNode:
        return;
      default:
        throw new ErrConfChangeInvalid(`unexpected conf type ${String(cc.type)}`);
    }
  }

  private makeVoter(id: NodeId, lastIndex: number): void {
    const pr = this.progress.get(id);
    if (pr === undefined) {
      this.initProgress(id, false, lastIndex);
      return;
    }
    pr.isLearner = false;
    this.learners.delete(id);
    this.voters.add(id);
  }

  private makeLearner(id: NodeId, lastIndex: number): void {
    const pr = this.progress.get(id);
    if (pr === undefined) {
      this.initProgress(id, true, lastIndex);
      return;
    }
    if (pr.isLearner) return;
    this.voters.delete(id);
    pr.isLearner = true;
    this.learners.add(id);
  }

  private initProgress(id: NodeId, isLearner: boolean, lastIndex: number): void {
    if (isLearner) this.learners.add(id);
    else this.voters.add(id);
    this.progress.set(
      id,
      new Progress({ match: 0, next: Math.max(lastIndex, 1), maxInflight: this.maxInflight, isLearner, recentActive: true }),
    );
  }
}
