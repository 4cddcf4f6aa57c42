import { isEmptyConfState, isEmptySnap } from './empty.js';
import { payloadSize } from './entry-size.js';
import {
  ErrCompacted,
  ErrConfigInvalid,
  ErrProposalDropped,
  ErrRaftInvariant,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
} from './errors.js';
import { newMessage, voteRespMsgType } from './message.js';
import type { MessageInit } from './message.js';
import { ProgressState } from './progress.js';
import { ProgressTracker } from './progress-tracker.js';
import { noLimit, RaftLog } from './raft-log.js';
import { validateRaftConfig } from './raft-config.js';
import type { RaftConfig } from './raft-config.js';
import { ctxKey, ReadOnly, ReadOnlyOption } from './read-only.js';
import type { RandomSource } from './seeded-random.js';
import { ConfChangeType, EntryType, MessageType, None, StateType } from './types.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from './types.js';
import { VoteResult } from './vote-result.js';

export const CampaignType = {
  PreElection: 'CampaignPreElection',
  Election: 'CampaignElection',
  /** A campaign forced by MsgTimeoutNow during leadership transfer; it may ignore leader leases. */
  Transfer: 'CampaignTransfer',
} as const;
export type CampaignType = (typeof CampaignType)[keyof typeof CampaignType];

const campaignTransferCtx = new TextEncoder().encode(CampaignType.Transfer);
const campaignTransferKey = ctxKey(campaignTransferCtx);

function isVoteMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgVote ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgPreVote ||
    t === MessageType.MsgPreVoteResp
  );
}

/**
 * The raft state machine of one member (Raft §5). Deterministic: its only
 * inputs are the calls made on it and the injected random source; its outputs
 * are the fields the RawNode turns into a Ready (msgs, readStates, the log's
 * unstable part and committed entries, hard and soft state).
 */
export class Raft {
  readonly id: NodeId;

  /** Latest term this member has seen; never decreases (Raft §5.1). Persisted. */
  term = 0;
  /** Candidate voted for in `term`, or None; at most one vote per term (§5.2). Persisted. */
  vote: NodeId = None;

  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;

  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  prs: ProgressTracker;

  state: StateType = StateType.Follower;
  /** Whether this member is a learner in the current configuration. */
  isLearner = false;

  /** Messages to send, drained by the RawNode into each Ready. */
  msgs: Message[] = [];

  /** The leader of `term` as far as this member knows, or None. */
  lead: NodeId = None;
  /** While set (leader only), proposals are dropped and the transferee is being caught up. */
  leadTransferee: NodeId = None;
  /**
   * Index of the latest conf change entry a leader appended. Only one conf change
   * may be pending: a new one is accepted only once applied >= pendingConfIndex.
   */
  pendingConfIndex = 0;
  /** Payload bytes of the leader's uncommitted tail, bounded by maxUncommittedSize. */
  uncommittedSize = 0;

  readOnly: ReadOnly;

  /** Ticks since the last election timeout reset (leader/candidate) or contact from a leader (follower). */
  electionElapsed = 0;
  /** Leader only: ticks since the last heartbeat round. */
  heartbeatElapsed = 0;

  readonly checkQuorum: boolean;
  readonly preVote: boolean;

  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** Drawn from [electionTimeout, 2*electionTimeout) whenever the timer resets (§5.2). */
  randomizedElectionTimeout = 0;
  private readonly disableProposalForwarding: boolean;
  private readonly random: RandomSource;

  /** Leader outside the configuration: hand-off attempts so far (rotates the transferee). */
  private handOffAttempts = 0;

  /** ReadIndex requests received before the leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];

  constructor(c: RaftConfig) {
    validateRaftConfig(c);
    this.id = c.id;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? c.maxSizePerMsg);
    const { hardState, confState } = c.storage.initialState();
    let cs: ConfState = confState;
    const peers = c.peers ?? [];
    const learners = c.learners ?? [];
    if (peers.length > 0 || learners.length > 0) {
      // Storage wins; peers may repeat it (a static member restarting).
      const same = (a: readonly NodeId[], b: readonly NodeId[]): boolean =>
        a.length === b.length && a.every((id) => b.includes(id));
      if (!isEmptyConfState(cs) && !(same(cs.voters, peers) && same(cs.learners, learners))) {
        throw new ErrConfigInvalid('peers/learners differ from the ConfState of the storage snapshot');
      }
      cs = { voters: peers, learners };
    }
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? noLimit;
    this.prs = new ProgressTracker(c.maxInflightMsgs);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnly = new ReadOnly(c.readOnlyOption ?? ReadOnlyOption.Safe);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.random = c.random;

    this.restoreConfig(cs);

    if (hardState.term !== 0 || hardState.vote !== None || hardState.commit !== 0) {
      this.loadState(hardState);
    }
    // currentTerm is never below the term of an entry in the log (§5.1). It can
    // be after a crash that persisted entries but not the hard state written with
    // them; that hard state was never acted upon, so adopting the log's term
    // without a vote is safe.
    const lastTerm = this.raftLog.lastTerm();
    if (this.term < lastTerm) {
      this.term = lastTerm;
      this.vote = None;
    }
    if (c.applied !== undefined && c.applied > 0) {
      if (c.applied > this.raftLog.committed) {
        throw new ErrConfigInvalid(`applied(${c.applied}) is beyond committed(${this.raftLog.committed})`);
      }
      if (c.applied < this.raftLog.applied) {
        throw new ErrConfigInvalid(
          `applied(${c.applied}) is below the compacted prefix(${this.raftLog.applied}); restore the snapshot first`,
        );
      }
      this.raftLog.appliedTo(c.applied);
    }
    this.becomeFollower(this.term, None);
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---------------------------------------------------------------- sending

  /**
   * Queues a message. Vote messages carry an explicit term (a pre-vote's term is
   * in the future); proposals and read-index requests forwarded to the leader
   * carry term 0 (they are local to the cluster); all others carry `term`.
   */
  private send(init: MessageInit): void {
    const t = init.type;
    let term = init.term ?? 0;
    if (isVoteMsg(t)) {
      if (term === 0) throw new ErrRaftInvariant(`term should be set when sending ${t}`);
    } else {
      if (term !== 0) throw new ErrRaftInvariant(`term should not be set when sending ${t} (was ${term})`);
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) term = this.term;
    }
    this.msgs.push(newMessage({ ...init, from: this.id, term }));
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends a MsgApp with the entries from the follower's next index (or a MsgSnap
   * if they were compacted). Returns whether a message was sent; with
   * sendIfEmpty false, no empty MsgApp is sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;

    let prevTerm: number | undefined;
    let ents: Entry[] | undefined;
    try {
      prevTerm = this.raftLog.term(pr.next - 1);
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (err) {
      if (!(err instanceof ErrCompacted || err instanceof ErrUnavailable)) throw err;
    }
    if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;

    if (prevTerm === undefined || ents === undefined) {
      // The entries the follower needs were compacted: send the snapshot (§7).
      if (!pr.recentActive) return false;
      let snapshot: Snapshot;
      try {
        snapshot = this.raftLog.snapshot();
      } catch (err) {
        if (err instanceof ErrSnapshotTemporarilyUnavailable) return false;
        throw err;
      }
      if (isEmptySnap(snapshot)) throw new ErrRaftInvariant('need non-empty snapshot');
      pr.becomeSnapshot(snapshot.metadata.index);
      this.send({ type: MessageType.MsgSnap, to, snapshot });
      return true;
    }

    const prevIndex = pr.next - 1;
    const n = ents.length;
    if (n !== 0) {
      switch (pr.state) {
        case ProgressState.Replicate: {
          const last = ents[n - 1]!.index;
          pr.optimisticUpdate(last);
          pr.inflights.add(last);
          break;
        }
        case ProgressState.Probe:
          pr.probeSent = true;
          break;
        default:
          throw new ErrRaftInvariant(`${this.id} is sending append in unhandled state ${pr.state}`);
      }
    }
    this.send({
      type: MessageType.MsgApp,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    });
    return true;
  }

  /** A heartbeat never advances a follower's commit past what it is known to hold. */
  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.prs.progress.get(to);
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    this.send({ type: MessageType.MsgHeartbeat, to, commit, ...(ctx === undefined ? {} : { context: ctx }) });
  }

  bcastAppend(): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---------------------------------------------------------------- Ready bookkeeping

  /** The shell persisted and applied rd; see RawNode.advance. */
  advance(rd: Ready): void {
    const n = rd.committedEntries.length;
    const applied = n > 0 ? rd.committedEntries[n - 1]!.index : rd.snapshot !== undefined ? rd.snapshot.metadata.index : 0;
    if (applied > 0) this.raftLog.appliedTo(applied);
    this.reduceUncommittedSize(rd.committedEntries);
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) this.raftLog.stableTo(last.index, last.term);
    if (rd.snapshot !== undefined && !isEmptySnap(rd.snapshot)) this.raftLog.stableSnapTo(rd.snapshot.metadata.index);
  }

  /** Advances the commit index to what a quorum of voters holds, if that entry is of this term (§5.4.2). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.prs.committed(), this.term);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    this.prs.visit((id, pr) => {
      pr.match = id === this.id ? lastIndex : 0;
      pr.next = lastIndex + 1;
      pr.state = ProgressState.Probe;
      pr.probeSent = false;
      pr.pendingSnapshot = 0;
      pr.recentActive = false;
      pr.inflights.reset();
    });
    this.pendingConfIndex = 0;
    this.handOffAttempts = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  /** Appends entries of the current term to the leader's log; false when the uncommitted-size limit rejects them. */
  private appendEntry(es: readonly Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const ents = es.map((e, i): Entry => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) return false;
    li = this.raftLog.append(ents);
    this.prs.progress.get(this.id)?.maybeUpdate(li);
    // A single voter commits as soon as its own log holds the entry.
    this.maybeCommit();
    return true;
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  /** Followers and candidates: campaign once the randomized election timeout elapses (§5.2). */
  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  /** Leaders: heartbeat every heartbeatTimeout, check quorum every electionTimeout. */
  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== None) this.abortLeaderTransfer();
      // A leader outside the configuration keeps trying to hand off.
      if (this.state === StateType.Leader && !this.promotable()) this.handOffLeadership();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  // ---------------------------------------------------------------- role changes

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new ErrRaftInvariant('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  /**
   * A pre-candidate keeps its term and vote: the pre-vote round only asks
   * whether an election could be won (dissertation §9.6), so a partitioned
   * member does not inflate its term and disrupt the cluster when it returns.
   */
  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new ErrRaftInvariant('invalid transition [leader -> pre-candidate]');
    this.prs.resetVotes();
    this.lead = None;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new ErrRaftInvariant('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    // The leader's own Progress is always in StateReplicate: its log is the reference.
    this.prs.progress.get(this.id)?.becomeReplicate();
    // Conservatively treat any unapplied entry as a possible conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry of the new term lets the leader commit (and so learn the
    // commit index of) everything before it (§5.4.2, §8).
    const empty: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    if (!this.appendEntry([empty])) throw new ErrRaftInvariant('empty entry was dropped');
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) return;
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // The pre-vote asks for votes in the term an election would use.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.VoteWon) {
      // A single voter wins its own election.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.prs.voterNodes()) {
      if (id === this.id) continue;
      this.send({
        type: voteMsg,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        ...(t === CampaignType.Transfer ? { context: campaignTransferCtx } : {}),
      });
    }
  }

  private poll(id: NodeId, v: boolean): VoteResult {
    this.prs.recordVote(id, v);
    return this.prs.tallyVotes().result;
  }

  // ---------------------------------------------------------------- step

  /**
   * Processes one message. Throws ErrProposalDropped for proposals that cannot
   * be appended; every other message is either handled or ignored.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message (or a forwarded proposal / read-index request).
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = ctxKey(m.context) === campaignTransferKey;
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        // While hearing from a leader, ignore (pre-)votes so that a member that
        // was partitioned away cannot depose a healthy leader (§6 of the
        // dissertation, "disruptive servers").
        if (!force && inLease) return;
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change term on a pre-vote request.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // The future term of a granted pre-vote is adopted only when the
        // pre-candidate wins a quorum and campaigns for real.
      } else {
        // A higher term always demotes (§5.1).
        const leaderMsg =
          m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap;
        this.becomeFollower(m.term, leaderMsg ? m.from : None);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A stale leader that is ignored would never learn of the new term when
        // votes are gated by check-quorum or pre-vote; answer so it steps down.
        this.send({ type: MessageType.MsgAppResp, to: m.from });
      } else if (m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote) {
        // Reject with our term (the RequestVote reply of Figure 2) so the
        // candidate catches up. Otherwise a candidate that its peers never
        // contact (their configuration differs from its own) keeps campaigning
        // at terms below theirs.
        this.send({ type: voteRespMsgType(m.type), to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup();
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // One vote per term (§5.2): repeat it for the same candidate; a pre-vote
        // for a future term does not bind us.
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        // Only for candidates whose log is at least as up-to-date (§5.4.1).
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send({ type: voteRespMsgType(m.type), to: m.from, term: m.term });
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ type: voteRespMsgType(m.type), to: m.from, term: this.term, reject: true });
        }
        return;
      }
      default:
        switch (this.state) {
          case StateType.Leader:
            this.stepLeader(m);
            return;
          case StateType.Candidate:
          case StateType.PreCandidate:
            this.stepCandidate(m);
            return;
          default:
            this.stepFollower(m);
        }
    }
  }

  private hup(): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // A member must not campaign while a committed conf change awaits
    // application: it could win under a configuration that is already stale.
    if (this.raftLog.committed > this.raftLog.applied) {
      const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
      if (lo <= this.raftLog.committed) {
        const ents = this.raftLog.slice(lo, this.raftLog.committed + 1, noLimit);
        if (ents.some((e) => e.type === EntryType.ConfChange || e.type === EntryType.ConfChangeV2)) return;
      }
    }
    this.campaign(this.preVote ? CampaignType.PreElection : CampaignType.Election);
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return;
      case MessageType.MsgCheckQuorum: {
        // The leader counts itself; it steps down when a quorum of voters was
        // not heard from during the last election timeout.
        const self = this.prs.progress.get(this.id);
        if (self !== undefined) self.recentActive = true;
        if (!this.prs.quorumActive()) {
          this.becomeFollower(this.term, None);
          return;
        }
        this.prs.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      }
      case MessageType.MsgProp:
        this.leaderPropose(m);
        return;
      case MessageType.MsgReadIndex:
        if (!this.committedEntryInCurrentTerm()) {
          // Until the leader commits an entry of its term it does not know the
          // cluster's commit index (§8); answer once it does.
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendMsgReadIndexResponse(m);
        return;
      default:
        break;
    }

    const pr = this.prs.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.MsgAppResp: {
        pr.recentActive = true;
        if (m.reject) {
          if (pr.maybeDecrTo(m.index, m.rejectHint)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const oldPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) return;
        if (pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) {
          pr.inflights.freeLE(m.index);
        }
        if (this.maybeCommit()) {
          this.releasePendingReadIndexMessages();
          this.bcastAppend();
        } else if (oldPaused) {
          // The follower was throttled and may now receive more.
          this.sendAppend(m.from);
        }
        // Send everything the flow control admits.
        while (this.maybeSendAppend(m.from, false)) {
          /* keep sending */
        }
        if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(m.from);
        }
        return;
      }
      case MessageType.MsgHeartbeatResp: {
        pr.recentActive = true;
        pr.probeSent = false;
        // The follower is alive; make room so a lost MsgApp does not stall it forever.
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);

        if (this.readOnly.option !== ReadOnlyOption.Safe || m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === undefined || this.prs.voteResult(acks) !== VoteResult.VoteWon) return;
        for (const rs of this.readOnly.advance(m.context)) {
          const resp = this.responseToReadIndexReq(rs.req, rs.index);
          if (resp !== undefined) this.send(resp);
        }
        return;
      }
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        // Wait for the follower's MsgAppResp (or the next heartbeat) before probing again.
        pr.becomeProbe();
        pr.probeSent = true;
        return;
      case MessageType.MsgUnreachable:
        // Optimistic pipelining assumed delivery; fall back to probing.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MessageType.MsgTransferLeader: {
        if (pr.isLearner) return;
        const leadTransferee = m.from;
        const last = this.leadTransferee;
        if (last !== None) {
          if (last === leadTransferee) return;
          this.abortLeaderTransfer();
        }
        if (leadTransferee === this.id) return;
        // The transfer must finish within one election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = leadTransferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(leadTransferee);
        else this.sendAppend(leadTransferee);
        return;
      }
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    if (m.entries.length === 0) throw new ErrProposalDropped('empty proposal');
    if (!this.prs.progress.has(this.id)) {
      // Removed from the configuration: proposals cannot be committed here.
      throw new ErrProposalDropped('leader is not a member of the configuration');
    }
    if (this.leadTransferee !== None) throw new ErrProposalDropped('leadership transfer in progress');
    const lastIndex = this.raftLog.lastIndex();
    const ents = m.entries.map((e, i): Entry => {
      if (e.type !== EntryType.ConfChange && e.type !== EntryType.ConfChangeV2) return e;
      // One membership change at a time: refuse (turn into a no-op) while an
      // earlier one may be unapplied.
      if (this.pendingConfIndex > this.raftLog.applied) {
        return { term: e.term, index: e.index, type: EntryType.Normal, data: new Uint8Array(0) };
      }
      this.pendingConfIndex = lastIndex + i + 1;
      return e;
    });
    if (!this.appendEntry(ents)) throw new ErrProposalDropped('uncommitted entries size limit reached');
    this.bcastAppend();
  }

  private stepCandidate(m: Message): void {
    const myVoteRespType = this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        throw new ErrProposalDropped('no leader');
      case MessageType.MsgApp:
        // m.term === term: a leader was elected in our term (§5.2).
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteRespType: {
        const res = this.poll(m.from, !m.reject);
        if (res === VoteResult.VoteWon) {
          if (this.state === StateType.PreCandidate) {
            this.campaign(CampaignType.Election);
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === VoteResult.VoteLost) {
          // A rejected pre-vote carries a term no higher than ours (higher ones
          // demoted us above), so becoming follower keeps the term.
          this.becomeFollower(this.term, None);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === None) throw new ErrProposalDropped('no leader');
        if (this.disableProposalForwarding) throw new ErrProposalDropped('proposal forwarding disabled');
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTransferLeader:
        if (this.lead === None) return;
        // Forwarded with the requested transferee kept in `from`.
        this.msgs.push({ ...m, to: this.lead, term: this.term });
        return;
      case MessageType.MsgTimeoutNow:
        // Campaign at once, ignoring leases: the leader asked for it (§3.10 of the dissertation).
        if (this.promotable()) this.campaign(CampaignType.Transfer);
        return;
      case MessageType.MsgReadIndex:
        if (this.lead === None) return;
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.MsgReadIndexResp: {
        const e = m.entries[0];
        if (m.entries.length !== 1 || e === undefined) return;
        this.readStates.push({ index: m.index, requestCtx: e.data });
        return;
      }
      default:
        return;
    }
  }

  /** AppendEntries receiver (§5.3, Figure 2). */
  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to committed is known to match the leader; let it skip ahead.
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const lastnewi = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastnewi !== undefined) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: lastnewi });
    } else {
      this.send({
        type: MessageType.MsgAppResp,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: this.raftLog.lastIndex(),
      });
    }
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /**
   * Installs a snapshot sent by the leader (§7). Returns false when it is not
   * newer than the commit index, or when the log already contains its last
   * entry (then only the commit index moves forward).
   */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a follower installs snapshots; anything else moves to a new term.
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;

    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.restoreConfig(cs);
    const pr = this.prs.progress.get(this.id);
    pr?.maybeUpdate(pr.next - 1);
    return true;
  }

  promotable(): boolean {
    const pr = this.prs.progress.get(this.id);
    return pr !== undefined && !pr.isLearner;
  }

  // ---------------------------------------------------------------- configuration

  private restoreConfig(cs: ConfState): void {
    for (const l of cs.learners) {
      if (cs.voters.includes(l)) throw new ErrConfigInvalid(`${l} is in both voters and learners`);
    }
    const prs = new ProgressTracker(this.prs.maxInflight);
    const lastIndex = this.raftLog.lastIndex();
    for (const v of cs.voters) prs.applyConfChange({ type: ConfChangeType.AddNode, nodeId: v }, lastIndex);
    for (const l of cs.learners) prs.applyConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: l }, lastIndex);
    this.prs = prs;
    this.switchToConfig();
  }

  /** Applies a committed conf change entry; the shell calls this when it applies the entry. */
  applyConfChange(cc: Pick<ConfChange, 'type' | 'nodeId'>): ConfState {
    this.prs.applyConfChange(cc, this.raftLog.lastIndex());
    return this.switchToConfig();
  }

  private switchToConfig(): ConfState {
    const cs = this.prs.confState();
    const pr = this.prs.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    // The quorum changed: maybe more is committed now, and new members need entries.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.prs.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== None && !this.prs.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    if (pr === undefined || this.isLearner) {
      // A leader removed (or demoted) by a committed change keeps leading so
      // that the remaining members learn the new commit index (and so apply the
      // change), accepts no proposals, and hands leadership to the most
      // up-to-date voter.
      this.handOffLeadership();
    }
    return cs;
  }

  /**
   * Restores term, vote and commit. A commit below the snapshot index is
   * tolerated (the snapshot was made durable before the hard state that
   * accompanied it; everything in a snapshot is committed); a commit beyond
   * the last index means the log lost durable entries.
   */
  private loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new ErrRaftInvariant(
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    const r = this.random();
    const extra = Math.min(this.electionTimeout - 1, Math.max(0, Math.floor(r * this.electionTimeout)));
    this.randomizedElectionTimeout = this.electionTimeout + extra;
  }

  /**
   * Starts a leadership transfer from a leader outside the configuration: to
   * the voter with the highest match first (lowest id on ties), to the next one
   * on each retry so that an unreachable voter cannot stall the hand-off.
   */
  private handOffLeadership(): void {
    if (this.leadTransferee !== None) return;
    const candidates: Array<{ id: NodeId; match: number }> = [];
    this.prs.visit((id, pr) => {
      if (id !== this.id && !pr.isLearner) candidates.push({ id, match: pr.match });
    });
    if (candidates.length === 0) return;
    candidates.sort((a, b) => b.match - a.match);
    const to = candidates[this.handOffAttempts % candidates.length]!;
    this.handOffAttempts++;
    this.electionElapsed = 0;
    this.leadTransferee = to.id;
    if (to.match === this.raftLog.lastIndex()) this.sendTimeoutNow(to.id);
    else this.sendAppend(to.id);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: MessageType.MsgTimeoutNow, to });
    if (this.state === StateType.Leader && !this.promotable()) {
      // The transferee holds the whole log; a removed leader has nothing left
      // to do. If MsgTimeoutNow is lost, the voters elect a leader after their
      // election timeout, and this member, holding no more than the transferee,
      // never blocks that election.
      this.becomeFollower(this.term, None);
    }
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnErrCompacted(this.raftLog.committed) === this.term;
  }

  /** A local request becomes a ReadState; a forwarded one gets a MsgReadIndexResp. */
  private responseToReadIndexReq(req: Message, readIndex: number): MessageInit | undefined {
    const ctx = req.entries[0]?.data ?? new Uint8Array(0);
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: ctx });
      return undefined;
    }
    return { type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, entries: req.entries };
  }

  private sendMsgReadIndexResponse(m: Message): void {
    if (this.prs.isSingleton() && this.prs.voters.has(this.id)) {
      // The only voter is trivially the leader of its term.
      const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
      if (resp !== undefined) this.send(resp);
      return;
    }
    if (this.readOnly.option === ReadOnlyOption.Safe) {
      // Remember the commit index now, answer once a quorum confirms that this
      // member was still the leader after the request arrived.
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, m.entries[0]?.data ?? new Uint8Array(0));
      this.bcastHeartbeatWithCtx(m.entries[0]?.data);
      return;
    }
    const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
    if (resp !== undefined) this.send(resp);
  }

  private releasePendingReadIndexMessages(): void {
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    // A single large proposal is always accepted when nothing is uncommitted.
    if (this.uncommittedSize > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  private reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }
}
