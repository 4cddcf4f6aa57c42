/**
 * Test harnesses for the raft state machine.
 *
 * SimNode plays the shell of one member (persist → send → apply → advance)
 * over a MemoryStorage that holds exactly what was persisted, and feeds an
 * InvariantChecker after every Ready. Cluster delivers messages synchronously
 * for scripted tests; simulate() drives a randomized network (drop, delay,
 * reorder, duplicate, partition, crash/restart, compaction) from a seed.
 */
import { decodeConfChange } from '../src/raft/conf-change-codec.js';
import { isEmptyConfState } from '../src/raft/empty.js';
import { ErrProposalDropped, ErrStepPeerNotFound } from '../src/raft/errors.js';
import { MemoryStorage } from '../src/raft/memory-storage.js';
import type { RaftConfig } from '../src/raft/raft-config.js';
import { RawNode, SnapshotStatus } from '../src/raft/raw-node.js';
import { seededRandom } from '../src/raft/seeded-random.js';
import type { RandomSource } from '../src/raft/seeded-random.js';
import { ConfChangeType, EntryType, MessageType, None, StateType } from '../src/raft/types.js';
import type { ConfState, Entry, HardState, Message, NodeId, ReadState, Ready } from '../src/raft/types.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
export const enc = (s: string): Uint8Array => textEncoder.encode(s);
export const dec = (b: Uint8Array): string => textDecoder.decode(b);

export const msgName: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType).map(([k, v]) => [v, k]),
);

export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

const fnvOffset = 2166136261;
function fnv(h: number, data: Uint8Array): number {
  for (const b of data) {
    h ^= b;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** The replicated state machine of the tests: a hash chain over the applied payloads. */
export interface StateMachine {
  readonly applied: number;
  readonly hash: number;
}
export const initialStateMachine: StateMachine = { applied: 0, hash: fnvOffset };

function encodeSm(sm: StateMachine): Uint8Array {
  return enc(`${sm.applied}:${sm.hash}`);
}
function decodeSm(data: Uint8Array): StateMachine {
  const [a, h] = dec(data).split(':');
  return { applied: Number(a), hash: Number(h) };
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/**
 * Cluster-wide invariants of Raft (§5.2 Election Safety, §5.3 Log Matching,
 * Leader Append-Only, §5.4 Leader Completeness and State Machine Safety),
 * checked incrementally at every event that could break them.
 */
export class InvariantChecker {
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index:term) → what every log holding that entry must agree on. */
  private readonly entryAt = new Map<string, { prevTerm: number; type: number; data: string }>();
  /** index → the entry applied there (by any member). */
  readonly appliedAt = new Map<number, { term: number; type: number; data: string }>();
  /** index → state machine hash after applying it. */
  private readonly stateAt = new Map<number, number>();
  maxApplied = 0;
  /**
   * index → the term of the committed entry there and an upper bound of the
   * term in which it was committed: the term of the first member seen
   * persisting a commit index covering it (the committing leader persists its
   * commit index before any message can spread it).
   */
  readonly committedAt = new Map<number, { term: number; commitTerm: number }>();
  maxCommitted = 0;
  /** Read requests: ctx → the largest commit index anywhere when the request was made. */
  readonly readFloor = new Map<string, number>();
  readsServed = 0;
  /** Payloads to watch for: data key → index where it was first applied. */
  readonly watched = new Map<string, number>();

  fail(msg: string): never {
    throw new InvariantViolation(msg);
  }

  onLeader(id: NodeId, term: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) this.fail(`election safety: ${prev} and ${id} both leaders of term ${term}`);
    this.leaderOfTerm.set(term, id);
  }

  /** Appends, heartbeats, snapshots and MsgTimeoutNow come only from the leader of their term. */
  onSend(m: Message): void {
    const t = m.type;
    if (t !== MessageType.MsgApp && t !== MessageType.MsgHeartbeat && t !== MessageType.MsgSnap && t !== MessageType.MsgTimeoutNow) {
      return;
    }
    if (this.leaderOfTerm.get(m.term) !== m.from) this.fail(`${msgName[t]} from ${m.from} at term ${m.term}, which it does not lead`);
  }

  onAppend(node: SimNode, ents: readonly Entry[], isLeaderOfSameTerm: boolean): void {
    const s = node.storage;
    let prevTerm: number | undefined;
    for (const e of ents) {
      if (e.index < s.firstIndex()) {
        prevTerm = undefined;
        continue;
      }
      if (prevTerm === undefined) prevTerm = e.index - 1 <= s.lastIndex() ? s.term(e.index - 1) : -1;
      if (isLeaderOfSameTerm && e.index <= s.lastIndex() && s.term(e.index) !== e.term) {
        this.fail(`leader append-only: leader ${node.id} overwrote index ${e.index} (term ${s.term(e.index)} → ${e.term})`);
      }
      const key = `${e.index}:${e.term}`;
      const want = { prevTerm, type: e.type, data: bytesKey(e.data) };
      const have = this.entryAt.get(key);
      if (have === undefined) this.entryAt.set(key, want);
      else if (have.prevTerm !== want.prevTerm || have.type !== want.type || have.data !== want.data) {
        this.fail(`log matching: entry ${key} differs on ${node.id} (prevTerm ${have.prevTerm} vs ${want.prevTerm})`);
      }
      prevTerm = e.term;
    }
  }

  onHardState(node: SimNode, prev: HardState, hs: HardState): void {
    if (hs.term < prev.term) this.fail(`term regressed on ${node.id}: ${prev.term} → ${hs.term}`);
    if (hs.term === prev.term && prev.vote !== None && hs.vote !== prev.vote) {
      this.fail(`${node.id} changed its vote in term ${hs.term}: ${prev.vote} → ${hs.vote}`);
    }
    if (hs.commit < prev.commit) this.fail(`commit regressed on ${node.id}: ${prev.commit} → ${hs.commit}`);
    const s = node.storage;
    for (let i = Math.max(this.maxCommitted + 1, s.firstIndex()); i <= hs.commit; i++) {
      if (i > s.lastIndex()) this.fail(`${node.id} persisted commit ${hs.commit} beyond its last index ${s.lastIndex()}`);
      this.committedAt.set(i, { term: s.term(i), commitTerm: hs.term });
    }
    this.maxCommitted = Math.max(this.maxCommitted, hs.commit);
    for (let i = Math.max(prev.commit + 1, s.firstIndex()); i <= hs.commit; i++) {
      const c = this.committedAt.get(i);
      if (c !== undefined && c.term !== s.term(i)) {
        this.fail(`state machine safety: ${node.id} committed ${i}@${s.term(i)} but ${i}@${c.term} was committed before`);
      }
    }
  }

  onApply(node: SimNode, e: Entry, hashAfter: number): void {
    const want = { term: e.term, type: e.type, data: bytesKey(e.data) };
    const have = this.appliedAt.get(e.index);
    const c = this.committedAt.get(e.index);
    if (c !== undefined && c.term !== e.term) this.fail(`${node.id} applied ${e.index}@${e.term} but ${e.index}@${c.term} is committed`);
    if (have === undefined) {
      this.appliedAt.set(e.index, want);
      if (this.watched.get(want.data) === 0) this.watched.set(want.data, e.index);
    } else if (have.term !== want.term || have.type !== want.type || have.data !== want.data) {
      this.fail(`state machine safety: ${node.id} applied a different entry at ${e.index} (term ${want.term} vs ${have.term})`);
    }
    this.onState(node, e.index, hashAfter);
    if (e.index > this.maxApplied) this.maxApplied = e.index;
  }

  /** An entry delivered again after a restart must be the one applied before. */
  onReplay(node: SimNode, e: Entry): void {
    const have = this.appliedAt.get(e.index);
    if (have !== undefined && (have.term !== e.term || have.data !== bytesKey(e.data))) {
      this.fail(`state machine safety: ${node.id} replayed a different entry at ${e.index}`);
    }
  }

  onState(node: SimNode, index: number, hash: number): void {
    const h = this.stateAt.get(index);
    if (h === undefined) this.stateAt.set(index, hash);
    else if (h !== hash) this.fail(`state machine safety: ${node.id} state at ${index} differs`);
  }

  /**
   * An entry committed in term T is in the log of every leader of a term
   * after T (§5.4 Leader Completeness). A stale leader of an older term may
   * lack entries committed later, so only entries committed at or before the
   * leader's term are checked.
   */
  checkLeaderCompleteness(node: SimNode): void {
    const s = node.storage;
    const term = node.leaderTerm;
    for (let i = node.lcChecked + 1; i <= this.maxCommitted; i++) {
      const want = this.committedAt.get(i);
      if (want === undefined) continue;
      if (want.commitTerm > term) continue;
      if (i < s.firstIndex()) {
        if (i > s.snapshot().metadata.index) this.fail(`leader ${node.id} lacks committed ${i}`);
        continue;
      }
      if (i > s.lastIndex() || s.term(i) !== want.term) {
        this.fail(
          `leader completeness: leader ${node.id} (term ${term}) lacks entry ${i}@${want.term} committed by term ${want.commitTerm}`,
        );
      }
    }
    node.lcChecked = this.maxCommitted;
  }

  onReadState(node: SimNode, rs: ReadState): void {
    const floor = this.readFloor.get(bytesKey(rs.requestCtx));
    if (floor === undefined) return;
    if (rs.index < floor) {
      this.fail(`linearizability: read ${dec(rs.requestCtx)} on ${node.id} got index ${rs.index} < commit ${floor} seen before it`);
    }
    this.readsServed++;
  }
}

export interface SimNodeOptions {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxCommittedSizePerReady?: number;
  readonly random: RandomSource;
  /** Whether the state machine survives crashes (restart with config.applied). */
  readonly durableStateMachine: boolean;
  readonly storage?: MemoryStorage;
  /**
   * How the member learns its configuration: 'peers' from the config (static
   * membership); 'bootstrap' from AddNode entries it writes on first start;
   * 'join' from the leader (log or snapshot). Except with 'peers', a restart
   * replays committed entries after the snapshot so that conf changes are
   * applied again, skipping entries the state machine already has.
   */
  readonly mode?: 'peers' | 'bootstrap' | 'join';
}

/** One member and its shell. The MemoryStorage holds exactly what was persisted. */
export class SimNode {
  readonly id: NodeId;
  readonly opts: SimNodeOptions;
  storage: MemoryStorage;
  rn: RawNode | undefined;
  sm: StateMachine = initialStateMachine;
  confState: ConfState;
  /** The term this member leads, or 0. */
  leaderTerm = 0;
  /** Leader completeness has been verified up to this applied index for the current leadership. */
  lcChecked = 0;
  persistedHardState: HardState;
  readonly readStates: ReadState[] = [];
  /** Applied entries, kept when `recordApplied` (scripted tests). */
  readonly applied: Entry[] = [];
  recordApplied = false;
  restarts = 0;
  /** Entries up to here were applied before a restart: only their conf changes are applied again. */
  private skipUpTo = 0;

  constructor(opts: SimNodeOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.storage = opts.storage ?? new MemoryStorage();
    this.persistedHardState = this.storage.initialState().hardState;
    this.confState = opts.mode === 'join' ? { voters: [], learners: [] } : { voters: opts.peers, learners: opts.learners ?? [] };
    this.start();
  }

  get alive(): boolean {
    return this.rn !== undefined;
  }

  private start(): void {
    const snap = this.storage.snapshot();
    const snapCs = snap.metadata.confState;
    if (!this.opts.durableStateMachine || this.sm.applied < snap.metadata.index) {
      this.sm = snap.metadata.index > 0 ? decodeSm(snap.data) : initialStateMachine;
      this.applied.length = 0;
    }
    const replay = (this.opts.mode ?? 'peers') !== 'peers';
    const withPeers = !replay && isEmptyConfState(snapCs);
    // With replay, the conf changes after the snapshot rebuild the rest.
    if (!isEmptyConfState(snapCs)) this.confState = snapCs;
    else if (replay) this.confState = { voters: [], learners: [] };
    this.skipUpTo = replay ? this.sm.applied : 0;
    const applied = replay ? snap.metadata.index : this.sm.applied;
    const cfg: RaftConfig = {
      id: this.id,
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      storage: this.storage,
      maxSizePerMsg: this.opts.maxSizePerMsg,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      checkQuorum: this.opts.checkQuorum,
      preVote: this.opts.preVote,
      random: this.opts.random,
      ...(withPeers ? { peers: this.opts.peers, learners: this.opts.learners ?? [] } : {}),
      // The snapshot may be newer than the compaction point (firstIndex-1), so
      // the applied index is always passed, as a shell restoring from a snapshot does.
      ...(applied > 0 ? { applied } : {}),
      ...(this.opts.maxCommittedSizePerReady === undefined ? {} : { maxCommittedSizePerReady: this.opts.maxCommittedSizePerReady }),
    };
    this.rn = new RawNode(cfg);
    if (this.opts.mode === 'bootstrap' && this.storage.lastIndex() === 0) {
      this.rn.bootstrap(this.opts.peers.map((id) => ({ id })));
    }
    this.leaderTerm = 0;
    this.lcChecked = 0;
    this.persistedHardState = this.storage.initialState().hardState;
  }

  crash(): void {
    this.rn = undefined;
    this.leaderTerm = 0;
  }

  restart(): void {
    if (this.rn !== undefined) return;
    this.restarts++;
    this.start();
  }

  /**
   * Handles one Ready in the safe order. With crashAfterPersisting set, a
   * prefix of the persistence happens (snapshot, entries, hard state in that
   * order, as a WAL would write them) and the member crashes before sending.
   */
  handleReady(checker: InvariantChecker, send: (ms: readonly Message[]) => void, crashAfterPersisting?: number): Ready {
    const rn = this.rn!;
    const rd = rn.ready();
    const st = rn.status();
    const leaderOfSameTerm = st.raftState === StateType.Leader && this.leaderTerm === st.term;
    if (st.raftState === StateType.Leader) checker.onLeader(this.id, st.term);

    let budget = crashAfterPersisting ?? Number.POSITIVE_INFINITY;
    if (rd.snapshot !== undefined && budget-- > 0) this.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0 && budget > 0) {
      const n = Math.min(rd.entries.length, budget);
      budget -= n;
      const ents = rd.entries.slice(0, n);
      checker.onAppend(this, ents, leaderOfSameTerm);
      this.storage.append(ents);
    }
    if (rd.hardState !== undefined && budget-- > 0) {
      checker.onHardState(this, this.persistedHardState, rd.hardState);
      this.storage.setHardState(rd.hardState);
      this.persistedHardState = rd.hardState;
    }
    if (crashAfterPersisting !== undefined) {
      this.crash();
      return rd;
    }

    for (const m of rd.messages) checker.onSend(m);
    send(rd.messages);

    if (rd.snapshot !== undefined) {
      const sm = decodeSm(rd.snapshot.data);
      if (sm.applied !== rd.snapshot.metadata.index) checker.fail(`snapshot data of ${sm.applied} at ${rd.snapshot.metadata.index}`);
      if (sm.applied <= this.sm.applied) checker.fail(`${this.id} got snapshot ${sm.applied} not newer than applied ${this.sm.applied}`);
      checker.onState(this, sm.applied, sm.hash);
      this.sm = sm;
      this.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.skipUpTo) {
        checker.onReplay(this, e);
        if (e.type === EntryType.ConfChange) this.confState = rn.applyConfChange(decodeConfChange(e.data));
        continue;
      }
      if (e.index !== this.sm.applied + 1) checker.fail(`${this.id} applied ${e.index} after ${this.sm.applied}`);
      let hash = this.sm.hash;
      if (e.type === EntryType.Normal && e.data.byteLength > 0) hash = fnv(fnv(hash, e.data), enc(String(e.index)));
      if (e.type === EntryType.ConfChange) this.confState = rn.applyConfChange(decodeConfChange(e.data));
      this.sm = { applied: e.index, hash };
      checker.onApply(this, e, hash);
      if (this.recordApplied) this.applied.push(e);
    }
    for (const rs of rd.readStates) {
      checker.onReadState(this, rs);
      this.readStates.push(rs);
    }
    rn.advance();

    const after = rn.status();
    if (after.raftState === StateType.Leader) {
      checker.onLeader(this.id, after.term);
      if (this.leaderTerm !== after.term) {
        this.leaderTerm = after.term;
        this.lcChecked = 0;
      }
      checker.checkLeaderCompleteness(this);
    } else {
      this.leaderTerm = 0;
    }
    return rd;
  }

  /** A snapshot of the state machine into storage, then compaction up to compactTo. */
  compact(compactTo: number): boolean {
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.sm.applied <= snapIndex) return false;
    this.storage.createSnapshot(this.sm.applied, this.confState, encodeSm(this.sm));
    const to = Math.max(Math.min(compactTo, this.sm.applied), this.storage.firstIndex());
    if (to >= this.storage.firstIndex() && to <= this.sm.applied) this.storage.compact(to);
    return true;
  }
}

export interface ClusterOptions {
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly learners?: readonly NodeId[];
  readonly seed?: number;
  /** Pre-filled storages (a member's persisted log and hard state). */
  readonly storages?: ReadonlyMap<NodeId, MemoryStorage>;
  /** 'bootstrap' writes the initial configuration as AddNode entries (so that joining members can learn it). */
  readonly mode?: 'peers' | 'bootstrap';
  readonly durableStateMachine?: boolean;
}

/**
 * A synchronous network for scripted tests: stabilize() delivers every message
 * in FIFO order until the cluster is quiet, skipping cut links.
 */
export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new InvariantChecker();
  queue: Message[] = [];
  private readonly cuts = new Set<string>();
  private readonly dropTypes = new Set<number>();
  readonly delivered: Message[] = [];
  traceMessages = false;

  constructor(ids: readonly NodeId[], opts: ClusterOptions = {}) {
    const learners = opts.learners ?? [];
    const voters = ids.filter((id) => !learners.includes(id));
    for (const id of ids) {
      const storage = opts.storages?.get(id);
      const n = new SimNode({
        id,
        peers: voters,
        learners,
        electionTick: opts.electionTick ?? 10,
        heartbeatTick: opts.heartbeatTick ?? 1,
        preVote: opts.preVote ?? false,
        checkQuorum: opts.checkQuorum ?? false,
        maxSizePerMsg: opts.maxSizePerMsg ?? 1024 * 1024,
        maxInflightMsgs: opts.maxInflightMsgs ?? 256,
        random: seededRandom((opts.seed ?? 1) * 1009 + Number(id)),
        durableStateMachine: opts.durableStateMachine ?? false,
        mode: opts.mode ?? 'peers',
        ...(storage === undefined ? {} : { storage }),
      });
      n.recordApplied = true;
      this.nodes.set(id, n);
    }
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  rn(id: NodeId): RawNode {
    const rn = this.node(id).rn;
    if (rn === undefined) throw new Error(`node ${id} is down`);
    return rn;
  }

  /** Adds a member with empty storage; it learns the configuration from the leader. */
  addNode(id: NodeId): SimNode {
    const any = [...this.nodes.values()][0]!.opts;
    const { storage: _storage, ...rest } = any;
    const n = new SimNode({ ...rest, id, peers: [], learners: [], mode: 'join', random: seededRandom(7919 + Number(id)) });
    n.recordApplied = true;
    this.nodes.set(id, n);
    return n;
  }

  private linkKey(a: NodeId, b: NodeId): string {
    return `${a}->${b}`;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(this.linkKey(a, b));
    this.cuts.add(this.linkKey(b, a));
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  dropType(t: MessageType): void {
    this.dropTypes.add(t);
  }

  heal(): void {
    this.cuts.clear();
    this.dropTypes.clear();
  }

  processReady(id: NodeId): void {
    const n = this.node(id);
    while (n.rn?.hasReady()) n.handleReady(this.checker, (ms) => this.queue.push(...ms));
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.processReady(id);
  }

  /** Delivers one message; returns false when it was dropped. */
  deliver(m: Message): boolean {
    if (this.cuts.has(this.linkKey(m.from, m.to)) || this.dropTypes.has(m.type)) return false;
    const n = this.nodes.get(m.to);
    if (n?.rn === undefined) return false;
    if (this.traceMessages) this.delivered.push(m);
    try {
      n.rn.step(m);
    } catch (err) {
      if (!(err instanceof ErrProposalDropped || err instanceof ErrStepPeerNotFound)) throw err;
    }
    this.processReady(m.to);
    if (m.type === MessageType.MsgSnap) {
      const sender = this.nodes.get(m.from);
      if (sender?.rn !== undefined) {
        sender.rn.reportSnapshot(m.to, SnapshotStatus.Finish);
        this.processReady(m.from);
      }
    }
    return true;
  }

  stabilize(maxMessages = 100_000): void {
    this.processAll();
    let count = 0;
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      this.deliver(m);
      if (++count > maxMessages) throw new Error('cluster did not stabilize');
      if (this.queue.length === 0) this.processAll();
    }
  }

  /** Takes the queued messages without delivering them. */
  takeMessages(): Message[] {
    this.processAll();
    const q = this.queue;
    this.queue = [];
    return q;
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.rn(id).tick();
      this.stabilize();
    }
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.rn?.tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.rn(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): void {
    this.rn(id).propose(enc(data));
    this.stabilize();
  }

  state(id: NodeId): StateType {
    return this.rn(id).status().raftState;
  }

  term(id: NodeId): number {
    return this.rn(id).status().term;
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()]
      .filter((n) => n.rn?.status().raftState === StateType.Leader)
      .map((n) => n.id);
  }

  /** Applied payloads of non-empty normal entries. */
  appliedData(id: NodeId): string[] {
    return this.node(id).applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0).map((e) => dec(e.data));
  }
}

// ---------------------------------------------------------------- randomized simulation

export interface SimulationOptions {
  readonly seed: number;
  /** Chaos steps before the network heals. */
  readonly steps?: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly nodes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly applied: number;
  readonly leaders: number;
  readonly snapshotsSent: number;
  readonly crashes: number;
  readonly readsServed: number;
  readonly livenessTicks: number;
  /** Membership changes applied (beyond the bootstrap entries). */
  readonly confChanges: number;
  readonly transfers: number;
}

function pick<T>(rand: RandomSource, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

/**
 * Runs one randomized scenario and throws InvariantViolation (with the seed and
 * the tail of the trace) if any invariant breaks, or if after healing no leader
 * emerges or a proposal does not get applied everywhere.
 */
export function simulate(opts: SimulationOptions): SimulationResult {
  const seed = opts.seed;
  const rand = seededRandom(seed * 2654435761);
  const nNodes = pick(rand, [1, 2, 3, 3, 3, 4, 5, 5]);
  const preVote = rand() < 0.5;
  const checkQuorum = rand() < 0.5;
  const maxSizePerMsg = pick(rand, [1, 64, 256, 1 << 20]);
  const maxInflightMsgs = pick(rand, [1, 2, 4, 64]);
  const maxCommittedSizePerReady = pick(rand, [undefined, 1, 128]);
  const dropRate = pick(rand, [0, 0.02, 0.1, 0.3]);
  const dupRate = pick(rand, [0, 0.02, 0.1]);
  const durable = rand() < 0.5;
  const electionTick = pick(rand, [5, 10]);
  const heartbeatTick = pick(rand, [1, 2]);
  const steps = opts.steps ?? 2000;
  const verbose = process.env['RAFT_SIM_TRACE'] !== undefined;
  // With membership changes, the cluster is bootstrapped through AddNode
  // entries and two spare members may join later.
  const membership = rand() < 0.5;
  const spares = membership ? 2 : 0;

  const initial: NodeId[] = [];
  for (let i = 1; i <= nNodes; i++) initial.push(BigInt(i));
  const ids: NodeId[] = [...initial];
  for (let i = 1; i <= spares; i++) ids.push(BigInt(nNodes + i));
  const checker = new InvariantChecker();
  const nodes = new Map<NodeId, SimNode>();
  /** Members a RemoveNode was proposed for: never added back (ids are not reused). */
  const removalProposed = new Set<NodeId>();
  for (const id of ids) {
    const spare = !initial.includes(id);
    nodes.set(
      id,
      new SimNode({
        id,
        peers: spare ? [] : initial,
        mode: !membership ? 'peers' : spare ? 'join' : 'bootstrap',
        electionTick,
        heartbeatTick,
        preVote,
        checkQuorum,
        maxSizePerMsg,
        maxInflightMsgs,
        ...(maxCommittedSizePerReady === undefined ? {} : { maxCommittedSizePerReady }),
        random: seededRandom(seed * 7919 + Number(id)),
        durableStateMachine: durable,
      }),
    );
  }

  const inflight: Message[] = [];
  const group = new Map<NodeId, number>();
  const trace: string[] = [];
  const log = (s: string): void => {
    trace.push(s);
    if (trace.length > (verbose ? 5000 : 300)) trace.shift();
  };
  let snapshotsSent = 0;
  let transfers = 0;
  let crashes = 0;
  let proposals = 0;
  let reads = 0;
  let step = 0;

  const connected = (a: NodeId, b: NodeId): boolean => (group.get(a) ?? 0) === (group.get(b) ?? 0);
  const send = (ms: readonly Message[]): void => {
    for (const m of ms) {
      if (m.type === MessageType.MsgSnap) snapshotsSent++;
      if (m.type === MessageType.MsgTimeoutNow) transfers++;
      inflight.push(m);
    }
  };
  let chaos = true;
  const processNode = (id: NodeId): void => {
    const n = nodes.get(id)!;
    while (n.rn?.hasReady()) {
      // Rarely, crash halfway through persisting a Ready.
      if (chaos && rand() < 0.002) {
        const budget = Math.floor(rand() * 4);
        log(`crash ${id} while persisting (budget ${budget})`);
        crashes++;
        n.handleReady(checker, send, budget);
        return;
      }
      const rd = n.handleReady(checker, send);
      if (verbose) {
        log(
          `  ready ${id}: ents[${rd.entries.map((e) => `${e.index}@${e.term}`).join(',')}] committed[${rd.committedEntries.map((e) => e.index).join(',')}]` +
            `${rd.hardState ? ` hs(t${rd.hardState.term} v${rd.hardState.vote} c${rd.hardState.commit})` : ''}${rd.snapshot ? ` snap@${rd.snapshot.metadata.index}` : ''} msgs ${rd.messages.length}`,
        );
      }
    }
  };
  const maxCommit = (): number => {
    let c = 0;
    for (const n of nodes.values()) c = Math.max(c, n.rn?.status().commit ?? n.persistedHardState.commit);
    return c;
  };
  const describe = (m: Message): string =>
    `${msgName[m.type]} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} c${m.commit} n${m.entries.length}${m.reject ? ' rej' : ''}`;

  const deliverAt = (idx: number, lossy: boolean): void => {
    const m = inflight[idx]!;
    inflight.splice(idx, 1);
    deliver(m, lossy);
  };
  const deliver = (m: Message, lossy: boolean): void => {
    const target = nodes.get(m.to);
    const sender = nodes.get(m.from);
    const targetRn = target?.rn;
    const lost = (lossy && rand() < dropRate) || !connected(m.from, m.to) || targetRn === undefined;
    if (lost) {
      log(`drop ${describe(m)}`);
      if (sender?.rn !== undefined) {
        if (m.type === MessageType.MsgSnap) sender.rn.reportSnapshot(m.to, SnapshotStatus.Failure);
        else if (rand() < 0.3) sender.rn.reportUnreachable(m.to);
        processNode(m.from);
      }
      return;
    }
    if (lossy && rand() < dupRate) inflight.push(m);
    log(`deliver ${describe(m)}`);
    try {
      targetRn.step(m);
    } catch (err) {
      if (!(err instanceof ErrProposalDropped || err instanceof ErrStepPeerNotFound)) throw err;
    }
    processNode(m.to);
    if (m.type === MessageType.MsgSnap && sender?.rn !== undefined) {
      sender.rn.reportSnapshot(m.to, SnapshotStatus.Finish);
      processNode(m.from);
    }
  };

  const propose = (n: SimNode, data: string): boolean => {
    let ok = true;
    try {
      n.rn!.propose(enc(data));
      log(`propose ${data} at ${n.id}`);
    } catch (err) {
      if (!(err instanceof ErrProposalDropped)) throw err;
      log(`propose ${data} at ${n.id} dropped`);
      ok = false;
    }
    processNode(n.id);
    return ok;
  };

  const live = (): SimNode[] => [...nodes.values()].filter((n) => n.alive);
  const members = (cs: ConfState): NodeId[] => [...cs.voters, ...cs.learners];

  const proposeConfChange = (leader: SimNode): void => {
    const cs = leader.confState;
    const options: Array<[ConfChangeType, NodeId]> = [];
    for (const id of ids) {
      if (removalProposed.has(id)) continue;
      const voter = cs.voters.includes(id);
      const learner = cs.learners.includes(id);
      if (!voter && !learner) {
        options.push([ConfChangeType.AddLearnerNode, id], [ConfChangeType.AddNode, id]);
      } else if (learner) {
        options.push([ConfChangeType.AddNode, id], [ConfChangeType.RemoveNode, id]);
      } else if (cs.voters.length > 2) {
        // Never down to one voter: with two voters left on stale configurations
        // a removal can lose quorum for good (a limitation etcd shares).
        options.push([ConfChangeType.RemoveNode, id], [ConfChangeType.AddLearnerNode, id]);
      }
    }
    if (options.length === 0) return;
    const [type, nodeId] = pick(rand, options);
    try {
      leader.rn!.proposeConfChange({ type, nodeId, context: new Uint8Array(0), id: BigInt(step) });
      if (type === ConfChangeType.RemoveNode) removalProposed.add(nodeId);
      log(`proposeConfChange ${['AddNode', 'RemoveNode', 'UpdateNode', 'AddLearnerNode'][type]} ${nodeId} at ${leader.id}`);
    } catch (err) {
      if (!(err instanceof ErrProposalDropped)) throw err;
    }
    processNode(leader.id);
  };

  try {
    for (step = 0; step < steps; step++) {
      const r = rand();
      const up = live();
      if (r < 0.44) {
        if (inflight.length === 0) continue;
        // Mostly old messages first, sometimes any: delay and reordering.
        const idx = rand() < 0.7 ? Math.floor(rand() * Math.min(3, inflight.length)) : Math.floor(rand() * inflight.length);
        deliverAt(idx, true);
      } else if (r < 0.73) {
        if (up.length === 0) continue;
        const n = pick(rand, up);
        n.rn!.tick();
        processNode(n.id);
      } else if (r < 0.83) {
        if (up.length === 0) continue;
        const leaders = up.filter((n) => n.rn!.status().raftState === StateType.Leader);
        const n = leaders.length > 0 && rand() < 0.7 ? pick(rand, leaders) : pick(rand, up);
        propose(n, `s${seed}-p${proposals++}`);
      } else if (r < 0.86) {
        if (up.length === 0) continue;
        const n = pick(rand, up);
        const ctx = `s${seed}-r${reads++}`;
        checker.readFloor.set(bytesKey(enc(ctx)), maxCommit());
        n.rn!.readIndex(enc(ctx));
        log(`readIndex ${ctx} at ${n.id}`);
        processNode(n.id);
      } else if (r < 0.875) {
        // Partition into two random groups, or heal.
        if (rand() < 0.5) {
          group.clear();
          log('heal');
        } else {
          for (const id of ids) group.set(id, rand() < 0.5 ? 0 : 1);
          log(`partition ${ids.map((id) => `${id}:${group.get(id)}`).join(' ')}`);
        }
      } else if (r < 0.885) {
        if (up.length === 0) continue;
        const n = pick(rand, up);
        n.crash();
        crashes++;
        log(`crash ${n.id}`);
      } else if (r < 0.915) {
        const down = [...nodes.values()].filter((n) => !n.alive);
        if (down.length === 0) continue;
        const n = pick(rand, down);
        n.restart();
        log(`restart ${n.id} (term ${n.rn!.status().term}, commit ${n.rn!.status().commit}, last ${n.rn!.status().lastIndex})`);
        processNode(n.id);
      } else if (r < 0.94) {
        if (up.length === 0) continue;
        const n = pick(rand, up);
        const to = n.sm.applied - Math.floor(rand() * 4);
        if (n.compact(to)) log(`compact ${n.id} snapshot@${n.sm.applied} to ${to}`);
      } else if (r < 0.965) {
        if (up.length === 0) continue;
        const leaders = up.filter((n) => n.rn!.status().raftState === StateType.Leader);
        const n = leaders.length > 0 && rand() < 0.8 ? pick(rand, leaders) : pick(rand, up);
        if (membership && r >= 0.95) {
          if (n.rn!.status().raftState === StateType.Leader) proposeConfChange(n);
          continue;
        }
        const to = pick(rand, ids);
        n.rn!.transferLeader(to);
        log(`transferLeader ${n.id} -> ${to}`);
        processNode(n.id);
      } else if (r < 0.97 && inflight.length > 0) {
        // A burst of deliveries.
        for (let k = 0; k < 10 && inflight.length > 0; k++) deliverAt(0, true);
      } else {
        // Let a random node's clock race ahead.
        if (up.length === 0) continue;
        const n = pick(rand, up);
        for (let k = 0; k < electionTick && n.rn !== undefined; k++) {
          n.rn.tick();
          processNode(n.id);
        }
      }
    }

    // Liveness: heal everything, then a leader must emerge and a proposal must reach every member.
    log('--- heal for liveness');
    chaos = false;
    group.clear();
    for (const n of nodes.values()) {
      if (!n.alive) {
        n.restart();
        processNode(n.id);
      }
    }
    const all = [...nodes.values()];
    const marker = `s${seed}-final`;
    const markerKey = bytesKey(enc(marker));
    checker.watched.set(markerKey, 0);
    let proposed = false;
    let proposedAt = { id: None, term: 0 };
    let livenessTicks = 0;
    const limit = electionTick * 60;
    for (;;) {
      let guard = 0;
      while (inflight.length > 0) {
        deliver(inflight.shift()!, false);
        if (++guard > 100_000) throw new InvariantViolation('message storm after healing');
      }
      const up = all.filter((n) => n.alive);
      const leaders = up.filter((n) => n.rn!.status().raftState === StateType.Leader);
      // A member whose removal the leader applied shuts down (as a server does).
      for (const l of leaders) {
        const keep = members(l.confState);
        for (const n of up) {
          if (removalProposed.has(n.id) && !keep.includes(n.id) && n.alive) {
            n.crash();
            log(`shut down removed ${n.id}`);
          }
        }
      }
      const current = leaders.length === 1 ? members(leaders[0]!.confState) : undefined;
      const markerIndex = checker.watched.get(markerKey) ?? 0;
      if (markerIndex > 0 && current !== undefined && current.every((id) => nodes.get(id)!.sm.applied >= markerIndex)) break;
      // An uncommitted proposal may be lost when leadership changes: propose again.
      if (proposed && markerIndex === 0 && leaders.length === 1) {
        const s = leaders[0]!.rn!.status();
        if (s.id !== proposedAt.id || s.term !== proposedAt.term) proposed = false;
      }
      if (!proposed && leaders.length === 1) {
        const l = leaders[0]!;
        const agreed = current!.every((id) => nodes.get(id)!.rn?.status().lead === l.id);
        if (agreed) {
          // Dropped while a leadership transfer is in progress: retry later.
          proposed = propose(l, marker);
          proposedAt = { id: l.id, term: l.rn!.status().term };
          if (proposed) continue;
        }
      }
      if (++livenessTicks > limit) {
        const st = all.filter((n) => n.alive).map((n) => {
          const s = n.rn!.status();
          const cfg = `v[${s.config.voters.join(',')}]${s.config.learners.length > 0 ? `l[${s.config.learners.join(',')}]` : ''}`;
          return `${n.id}:${StateType.Leader === s.raftState ? 'L' : s.raftState === StateType.Follower ? 'F' : 'C'} t${s.term} lead${s.lead} c${s.commit} a${n.sm.applied} li${s.lastIndex} ${cfg}`;
        });
        throw new InvariantViolation(`liveness: no progress after healing (${proposed ? 'proposed' : 'no leader'}): ${st.join(', ')}`);
      }
      for (const n of all) {
        if (!n.alive) continue;
        n.rn!.tick();
        processNode(n.id);
        // Fresh snapshots (with the current configuration) for members that join late.
        if (livenessTicks % 20 === 0) n.compact(n.sm.applied);
      }
    }

    return {
      seed,
      nodes: nNodes,
      preVote,
      checkQuorum,
      applied: checker.maxApplied,
      leaders: checker.leaderOfTerm.size,
      snapshotsSent,
      crashes,
      readsServed: checker.readsServed,
      livenessTicks,
      confChanges: [...checker.appliedAt.values()].filter((e) => e.type === EntryType.ConfChange).length - (membership ? nNodes : 0),
      transfers,
    };
  } catch (err) {
    const cfg = `nodes=${nNodes}${membership ? '+2 membership' : ''} preVote=${preVote} checkQuorum=${checkQuorum} maxSizePerMsg=${maxSizePerMsg} maxInflight=${maxInflightMsgs} drop=${dropRate} dup=${dupRate} durable=${durable} election=${electionTick} heartbeat=${heartbeatTick}`;
    const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const e = new InvariantViolation(`seed ${seed} step ${step} [${cfg}]\n${msg}\n--- trace tail:\n${trace.slice(verbose ? -3000 : -80).join('\n')}`);
    if (err instanceof Error && err.stack !== undefined) e.stack = `${e.message}\n--- original stack:\n${err.stack}`;
    throw e;
  }
}

// ---------------------------------------------------------------- single-member unit harness

/** Entries at indexes from, from+1, ... with the given terms and payloads "e<index>". */
export function entriesWithTerms(terms: readonly number[], from = 1): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, type: EntryType.Normal, data: enc(`e${from + i}`) }));
}

/** A MemoryStorage holding a persisted log with the given terms (index 1..n) and hard state. */
export function storageWith(terms: readonly number[], hs?: HardState): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entriesWithTerms(terms));
  if (hs !== undefined) s.setHardState(hs);
  return s;
}

export interface TestNodeOptions {
  readonly peers: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly storage?: MemoryStorage;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly seed?: number;
  readonly extra?: Partial<RaftConfig>;
}

/** One RawNode whose Readies are persisted to its storage; messages are returned to the test. */
export class TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly rn: RawNode;
  readonly committed: Entry[] = [];
  readonly readStates: ReadState[] = [];

  constructor(id: NodeId, opts: TestNodeOptions) {
    this.id = id;
    this.storage = opts.storage ?? new MemoryStorage();
    const withPeers = isEmptyConfState(this.storage.initialState().confState);
    this.rn = new RawNode({
      id,
      electionTick: opts.electionTick ?? 10,
      heartbeatTick: opts.heartbeatTick ?? 1,
      storage: this.storage,
      maxSizePerMsg: opts.maxSizePerMsg ?? Number.MAX_SAFE_INTEGER,
      maxInflightMsgs: opts.maxInflightMsgs ?? 256,
      checkQuorum: opts.checkQuorum ?? false,
      preVote: opts.preVote ?? false,
      random: seededRandom(opts.seed ?? Number(id)),
      ...(withPeers ? { peers: opts.peers, learners: opts.learners ?? [] } : {}),
      ...opts.extra,
    });
  }

  /** Processes every pending Ready; returns the messages they carried. */
  msgs(): Message[] {
    const out: Message[] = [];
    while (this.rn.hasReady()) {
      const rd = this.rn.ready();
      if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      this.committed.push(...rd.committedEntries);
      this.readStates.push(...rd.readStates);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) this.rn.applyConfChange(decodeConfChange(e.data));
      }
      this.rn.advance();
    }
    return out;
  }

  step(m: Message): Message[] {
    this.rn.step(m);
    return this.msgs();
  }

  tick(n = 1): Message[] {
    for (let i = 0; i < n; i++) this.rn.tick();
    return this.msgs();
  }

  get status() {
    return this.rn.status();
  }

  /** Terms of the persisted log from firstIndex on. */
  logTerms(): number[] {
    const out: number[] = [];
    for (let i = this.storage.firstIndex(); i <= this.storage.lastIndex(); i++) out.push(this.storage.term(i));
    return out;
  }
}
