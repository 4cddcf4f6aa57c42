import { Inflights } from './inflights.js';

/**
 * How the leader replicates to a follower:
 * Probe — one MsgApp at a time until the follower's match index is found;
 * Replicate — MsgApps are pipelined optimistically, bounded by inflights;
 * Snapshot — a MsgSnap is in flight and appends are paused.
 */
export const ProgressState = { Probe: 0, Replicate: 1, Snapshot: 2 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export const progressStateName: Record<ProgressState, string> = {
  [ProgressState.Probe]: 'StateProbe',
  [ProgressState.Replicate]: 'StateReplicate',
  [ProgressState.Snapshot]: 'StateSnapshot',
};

/**
 * The leader's view of one member (Raft §5.3 nextIndex and matchIndex).
 * Invariant: match < next.
 */
export class Progress {
  /** Highest index known to be replicated on the member. */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In StateSnapshot, the index of the snapshot sent; next is held until match passes it. */
  pendingSnapshot = 0;
  /** Whether the member was heard from since the last check-quorum round. */
  recentActive: boolean;
  /** In StateProbe, whether a MsgApp is outstanding (one probe at a time). */
  probeSent = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(init: { match: number; next: number; maxInflight: number; isLearner: boolean; recentActive?: boolean }) {
    this.match = init.match;
    this.next = init.next;
    this.inflights = new Inflights(init.maxInflight);
    this.isLearner = init.isLearner;
    this.recentActive = init.recentActive ?? false;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  probeAcked(): void {
    this.probeSent = false;
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // After a snapshot the member is at least at the snapshot (if it applied it).
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshoti: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshoti;
  }

  /** Records an acknowledgment up to n; returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeAcked();
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** After sending entries up to n in StateReplicate. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * Handles a rejected MsgApp at index `rejected`, the member's last index being
   * `last`. Returns false for stale rejections (already superseded).
   */
  maybeDecrTo(rejected: number, last: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the rejection of the outstanding probe (at next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, last + 1), 1);
    this.probeSent = false;
    return true;
  }

  /** Whether sending MsgApps to this member is throttled. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }

  toString(): string {
    let s = `${progressStateName[this.state]} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count();
    if (n > 0) s += ` inflight=${n}${this.inflights.full() ? '[full]' : ''}`;
    return s;
  }
}
