/**
 * The member: ties the raft node, the key-value store, the lessor and the
 * applier together. Writes are proposed to the raft log and answered once
 * applied; linearizable reads wait for ReadIndex; serializable reads are served
 * from local state at once.
 *
 * Invariants:
 * - Every state change is the apply of a committed log entry, in log order.
 * - The backend's consistent index is written in the same backend transaction
 *   as the entries it covers, so a restart re-applies exactly the entries after it.
 * - A client is answered only after its entry is durable in the log (the raft
 *   node persists before it applies).
 */
import { EtcdError, etcdError, etcdserverpb, IdGenerator, isEtcdError } from '@etcd-ts/api';
import type { Logger } from 'pino';
import type { Backend, WriteTx } from '../backend/backend.js';
import { ApplierV3 } from '../apply/applier-v3.js';
import { isTxnReadonly, isTxnSerializable } from '../apply/txn-path.js';
import { computeMemberId, encodeMember, type Member } from '../cluster/member.js';
import { PeerMemberRemovedError } from '../cluster/peer-errors.js';
import { createPeerService } from '../cluster/peer-service.js';
import { PeerTransport } from '../cluster/peer-transport.js';
import { encodeConfChangeContext, RaftCluster } from '../cluster/raft-cluster.js';
import { backendPath, LmdbBackend, openLmdbBackend } from '../backend/lmdb-backend.js';
import type { PeerServer } from '@etcd-ts/api';
import { dirname } from 'node:path';
import { backendSnapshotChunks, installSnapshotDb, receiveSnapshotDb } from './snapshot-db.js';
import { Lessor, LessorError } from '../lease/lessor.js';
import { KVStore } from '../mvcc/kv-store.js';
import { WatchableStore } from '../watch/watchable-store.js';
import { decodeConfChange } from '../raft/conf-change-codec.js';
import { RawNode } from '../raft/raw-node.js';
import type { MemoryStorage } from '../raft/memory-storage.js';
import { ConfChangeType, EntryType, MessageType, StateType, type Message, type ConfChange, type ConfState, type Entry, type Snapshot, type SoftState } from '../raft/types.js';
import type { LogStore } from '../raft-node/log-store.js';
import type { Snapshotter } from '../snap/snapshotter.js';
import { RaftNode } from '../raft-node/raft-node.js';
import { memberBackendOptions, type Bootstrapped } from './bootstrap.js';
import { AppliedIndex } from './applied-index.js';
import { toEtcdError } from './errors.js';
import { LinearizableReads } from './linearizable-reads.js';
import { encodeProposal, type ProposalKind } from './proposal.js';
import { Wait } from './wait.js';
import { LeaderLeaseClient } from './leader-lease-client.js';

export interface EtcdServerConfig {
  readonly name: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTicks: number;
  readonly maxRequestBytes: number;
  readonly preVote: boolean;
  /** Applied entries between snapshots (etcd's --snapshot-count). */
  readonly snapshotCount: number;
  /** This member's advertised peer URLs. */
  readonly peerUrls: readonly string[];
  /** Where the backend file lives; undefined in the memory storage mode. */
  readonly dataDir: string | undefined;
  /** Backend batch commit bounds (--backend-batch-interval/--backend-batch-limit), both > 0. */
  readonly backendBatchIntervalMs: number;
  readonly backendBatchLimit: number;
}

/**
 * Entries kept in the raft log behind a snapshot so that a slightly lagging
 * follower catches up from the log rather than a snapshot (etcd's
 * snapshotCatchUpEntries).
 */
const SNAPSHOT_CATCH_UP_ENTRIES = 5000;
/** The in-memory log is compacted in steps of this many entries. */
const RAFT_LOG_COMPACT_STEP = 1000;

interface ApplyResult {
  readonly resp?: unknown;
  readonly err?: unknown;
  /** Set when the request's deadline passed before it was applied. */
  readonly timedOut?: true;
}

/** How often waits past their deadline are resolved as timed out. */
const REQUEST_TIMEOUT_SWEEP_MS = 100;

/** etcd's maxGapBetweenApplyAndCommitIndex: proposals are refused beyond this backlog. */
const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;
const LEASE_EXPIRY_CHECK_MS = 500;
/** etcd's leaseRevokeRate / 2 per check. */
const LEASE_REVOKE_PER_CHECK = 500;

export class EtcdServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  // The state machine: replaced as a whole when a snapshot from the leader is installed.
  backend: Backend;
  kv: KVStore;
  /** Delivers applied changes to watchers; fed after each apply batch commits. */
  watchable: WatchableStore;
  lessor: Lessor;
  cluster: RaftCluster;
  /** Sends raft messages to the other members. */
  readonly transport: PeerTransport;

  private readonly cfg: EtcdServerConfig;
  private readonly log: Logger;
  private applier: ApplierV3;
  private readonly minLeaseTtl: number;
  /** Membership changes applied in the current batch, for the transport once it commits. */
  private peerChanges: ConfChange[] = [];
  private removed = false;
  private readonly raftNode: RaftNode;
  private readonly wait = new Wait<ApplyResult>();
  private readonly reqIds: IdGenerator;
  private readonly applied: AppliedIndex;
  private readonly reads: LinearizableReads;
  private readonly requestTimeoutMs: number;
  private readonly storage: MemoryStorage;
  private readonly logStore: LogStore;
  private readonly snapshotter: Snapshotter | undefined;
  /** Index of the newest snapshot; entries at or below it are no longer in the log. */
  private snapshotIndex: number;
  private snapshotting: Promise<void> | undefined;
  private confState: ConfState = { voters: [], learners: [] };
  /**
   * Configuration changes newer than the in-memory log's start, oldest first, so
   * that a snapshot at an index below the applied one carries the configuration
   * in force at that index.
   */
  private confHistory: { index: number; conf: ConfState }[] = [];
  private committedIndex = 0;
  private fatal: unknown;
  private stopping = false;

  /** The current raft term and leader (0n: none), as last reported by raft. */
  term = 0;
  lead = 0n;
  private leaderWaiters: (() => void)[] = [];
  private leaseExpiryTimer: NodeJS.Timeout | undefined;
  /** Forwards keep-alives and time-to-live questions to the leader when this member follows. */
  private readonly leaderLeases: LeaderLeaseClient;
  private timeoutSweeper: NodeJS.Timeout | undefined;

  constructor(boot: Bootstrapped, cfg: EtcdServerConfig, log: Logger) {
    this.cfg = cfg;
    this.log = log;
    this.memberId = boot.memberId;
    this.clusterId = boot.clusterId;
    this.backend = boot.backend;
    // etcd's minimum lease TTL: 1.5 election timeouts, in whole seconds rounded up.
    this.minLeaseTtl = Math.ceil((Math.floor((3 * cfg.electionTicks) / 2) * cfg.heartbeatIntervalMs) / 1000);
    this.lessor = new Lessor(boot.backend, { minTtl: this.minLeaseTtl });
    this.kv = KVStore.open(boot.backend, { leases: this.lessor });
    this.watchable = new WatchableStore(this.kv);
    this.applier = new ApplierV3(this.kv, this.lessor);
    this.reqIds = new IdGenerator(boot.memberId);
    this.leaderLeases = new LeaderLeaseClient(5000);
    this.storage = boot.storage;
    this.logStore = boot.logStore;
    this.snapshotter = boot.snapshotter;
    this.snapshotIndex = boot.snapshot?.metadata.index ?? 0;
    if (boot.snapshot !== undefined) this.confState = boot.snapshot.metadata.confState;
    this.cluster = new RaftCluster(boot.backend);
    this.transport = new PeerTransport({
      memberId: boot.memberId,
      clusterId: boot.clusterId,
      peerUrls: cfg.peerUrls,
      reportUnreachable: (id) => this.raftNode.reportUnreachable(id),
      reportSnapshot: (id, status) => this.raftNode.reportSnapshot(id, status),
      snapshotData: () => this.snapshotData(),
      onPeerError: (_id, err) => {
        if (err instanceof PeerMemberRemovedError) this.onRemoved();
      },
      logger: log,
    });
    // Peers known before the log says so: the initial cluster, or the members a joining member learned.
    const known = this.cluster.size > 0 ? this.cluster.list() : boot.initialMembers;
    for (const m of known) if (m.id !== boot.memberId) this.transport.addPeer(m.id, m.peerURLs);

    const consistentIndex = this.kv.consistentIndex();
    this.applied = new AppliedIndex(consistentIndex);
    // etcd's ReqTimeout: 5 s plus two election timeouts.
    this.requestTimeoutMs = 5000 + 2 * cfg.electionTicks * cfg.heartbeatIntervalMs;

    const rawNode = new RawNode({
      id: boot.memberId,
      electionTick: cfg.electionTicks,
      heartbeatTick: 1,
      storage: boot.storage,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: cfg.preVote,
      random: Math.random,
    });
    if (boot.bootstrapPeers !== undefined) rawNode.bootstrap(boot.bootstrapPeers);
    this.raftNode = new RaftNode({
      rawNode,
      storage: boot.storage,
      logStore: boot.logStore,
      transport: { send: (messages) => this.sendToPeers(messages) },
      tickMs: cfg.heartbeatIntervalMs,
      handlers: {
        apply: (entries) => this.applyEntries(entries),
        onSoftState: (s) => this.onSoftState(s),
        onReadStates: (rs) => this.reads.onReadStates(rs),
        onCommitIndex: (commit, term) => {
          this.committedIndex = commit;
          this.term = term;
        },
        onFatal: (err) => this.onFatal(err),
        persistSnapshot: (snap) => this.persistReceivedSnapshot(snap),
        applySnapshot: (snap) => this.applyReceivedSnapshot(snap),
      },
    });
    this.reads = new LinearizableReads({
      readIndex: (ctx) => this.raftNode.readIndex(ctx),
      waitLeader: (timeoutMs) => this.waitLeader(timeoutMs),
      waitApplied: (index) => this.applied.wait(index),
      nextId: () => this.reqIds.next(),
      timeoutMs: this.requestTimeoutMs,
    });
  }

  start(): void {
    this.raftNode.start();
    this.leaseExpiryTimer = setInterval(() => this.revokeExpiredLeases(), LEASE_EXPIRY_CHECK_MS);
    this.leaseExpiryTimer.unref();
    this.timeoutSweeper = setInterval(() => this.wait.expire(Date.now(), { timedOut: true }), REQUEST_TIMEOUT_SWEEP_MS);
    this.timeoutSweeper.unref();
  }

  /** Proposes the revocation of leases the primary lessor found expired (etcd: 500 per 500 ms). */
  private revokeExpiredLeases(): void {
    if (this.stopping || this.fatal !== undefined || !this.isLeader) return;
    for (const id of this.lessor.expired(LEASE_REVOKE_PER_CHECK)) {
      this.raftRequest('leaseRevoke', etcdserverpb.LeaseRevokeRequest.encode({ ID: id })).catch((err: unknown) => {
        if (!isEtcdError(err, 'LEASE_NOT_FOUND')) this.log.warn({ err, lease: id.toString(16) }, 'failed to revoke an expired lease');
      });
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.leaseExpiryTimer !== undefined) clearInterval(this.leaseExpiryTimer);
    if (this.timeoutSweeper !== undefined) clearInterval(this.timeoutSweeper);
    this.watchable.close();
    await this.transport.stop();
    this.leaderLeases.close();
    await this.raftNode.stop();
    await this.snapshotting;
    this.reads.failAll(etcdError('STOPPED'));
    this.wait.expire(Infinity, { err: etcdError('STOPPED') });
  }

  get appliedIndex(): number {
    return this.applied.current;
  }

  get commitIndex(): number {
    return this.committedIndex;
  }

  /** A learner replicates the log but does not vote; it serves only Status and serializable reads. */
  get isLearner(): boolean {
    return this.cluster.member(this.memberId)?.isLearner ?? false;
  }

  get isLeader(): boolean {
    return this.lead === this.memberId;
  }

  /** Resolves once a leader is known, or rejects after timeoutMs. */
  waitLeader(timeoutMs: number): Promise<void> {
    if (this.lead !== 0n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(etcdError('NO_LEADER')), timeoutMs);
      this.leaderWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- KV ----

  async range(r: etcdserverpb.RangeRequest): Promise<etcdserverpb.RangeResponseInit> {
    if (!r.serializable) await this.linearizableReadNotify();
    const view = this.kv.read();
    try {
      return this.applier.range(view, r);
    } catch (err) {
      throw toEtcdError(err);
    } finally {
      view.end();
    }
  }

  async put(r: etcdserverpb.PutRequest): Promise<etcdserverpb.PutResponseInit> {
    return (await this.raftRequest('put', etcdserverpb.PutRequest.encode(r))) as etcdserverpb.PutResponseInit;
  }

  async deleteRange(r: etcdserverpb.DeleteRangeRequest): Promise<etcdserverpb.DeleteRangeResponseInit> {
    return (await this.raftRequest('deleteRange', etcdserverpb.DeleteRangeRequest.encode(r))) as etcdserverpb.DeleteRangeResponseInit;
  }

  async txn(r: etcdserverpb.TxnRequest): Promise<etcdserverpb.TxnResponseInit> {
    if (isTxnReadonly(r)) {
      if (!isTxnSerializable(r)) await this.linearizableReadNotify();
      const view = this.kv.read();
      try {
        return this.applier.txnRead(view, r);
      } catch (err) {
        throw toEtcdError(err);
      } finally {
        view.end();
      }
    }
    return (await this.raftRequest('txn', etcdserverpb.TxnRequest.encode(r))) as etcdserverpb.TxnResponseInit;
  }

  async compact(r: etcdserverpb.CompactionRequest): Promise<etcdserverpb.CompactionResponseInit> {
    const resp = (await this.raftRequest('compaction', etcdserverpb.CompactionRequest.encode(r))) as etcdserverpb.CompactionResponseInit;
    // etcd answers with the store's revision when the compaction returns.
    return { ...resp, header: { revision: this.kv.currentRev } };
  }

  // ---- Lease ----

  async leaseGrant(r: etcdserverpb.LeaseGrantRequest): Promise<etcdserverpb.LeaseGrantResponseInit> {
    let id = r.ID;
    // No ID given: choose a positive one, as etcd does.
    while (id === 0n) id = this.reqIds.next() & ((1n << 63n) - 1n);
    return (await this.raftRequest('leaseGrant', etcdserverpb.LeaseGrantRequest.encode({ ID: id, TTL: r.TTL }))) as etcdserverpb.LeaseGrantResponseInit;
  }

  async leaseRevoke(r: etcdserverpb.LeaseRevokeRequest): Promise<etcdserverpb.LeaseRevokeResponseInit> {
    return (await this.raftRequest('leaseRevoke', etcdserverpb.LeaseRevokeRequest.encode({ ID: r.ID }))) as etcdserverpb.LeaseRevokeResponseInit;
  }

  /**
   * Renews a lease on the leader once everything committed is applied;
   * returns its TTL. As in etcd, a lease past its deadline is not renewed:
   * the call waits for its revocation and fails with LEASE_NOT_FOUND (or
   * NOT_LEADER when leadership is lost first).
   */
  async leaseRenew(id: bigint): Promise<number> {
    if (!(await this.waitAppliedCommitted())) {
      const ttl = await this.leaderLeases.renew(this.leaderClientUrls(), id);
      if (ttl <= 0) throw etcdError('LEASE_NOT_FOUND');
      return ttl;
    }
    try {
      return this.lessor.renew(id);
    } catch (err) {
      if (!(err instanceof LessorError) || err.code !== 'LEASE_EXPIRED') throw toEtcdError(err);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.requestTimeoutMs);
    });
    try {
      if (await Promise.race([this.lessor.whenRemoved(id).then(() => false), timedOut])) throw etcdError('TIMEOUT');
    } finally {
      clearTimeout(timer);
    }
    if (this.lessor.lookup(id) === undefined) throw etcdError('LEASE_NOT_FOUND');
    throw etcdError('NOT_LEADER');
  }

  async leaseTimeToLive(r: etcdserverpb.LeaseTimeToLiveRequest): Promise<etcdserverpb.LeaseTimeToLiveResponseInit> {
    if (!(await this.waitAppliedCommitted())) {
      const resp = await this.leaderLeases.timeToLive(this.leaderClientUrls(), { ID: r.ID, keys: r.keys });
      if (resp.TTL === -1) throw etcdError('LEASE_NOT_FOUND');
      return { ID: resp.ID, TTL: resp.TTL, grantedTTL: resp.grantedTTL, keys: resp.keys };
    }
    const lease = this.lessor.lookup(r.ID);
    if (lease === undefined) throw etcdError('LEASE_NOT_FOUND');
    return {
      ID: lease.id,
      TTL: this.lessor.remainingSeconds(lease),
      grantedTTL: lease.ttl,
      keys: r.keys ? [...lease.keys].sort().map((k) => Buffer.from(k, 'latin1')) : [],
    };
  }

  leaseLeases(): etcdserverpb.LeaseLeasesResponseInit {
    return { leases: this.lessor.list().map((l) => ({ ID: l.id })) };
  }

  /**
   * On the leader, waits until everything committed is applied and returns
   * true; on a follower returns false: the call goes to the leader.
   */
  private async waitAppliedCommitted(): Promise<boolean> {
    this.assertServing();
    if (this.lead === 0n) await this.waitLeader(this.requestTimeoutMs);
    if (!this.isLeader) return false;
    await this.applied.wait(this.committedIndex);
    return true;
  }

  /** The leader's published client URLs. */
  private leaderClientUrls(): readonly string[] {
    const urls = this.cluster.member(this.lead)?.clientURLs ?? [];
    if (urls.length === 0) throw etcdError('NO_LEADER');
    return urls;
  }

  linearizableReadNotify(): Promise<void> {
    this.assertServing();
    return this.reads.notify();
  }

  // ---- proposals ----

  /**
   * Proposes a request and resolves with the result of applying it. Rejects
   * without proposing when the request is too large or the apply backlog is too
   * long; rejects with a timeout when the entry is not applied in time (it may
   * still be applied later).
   */
  private async raftRequest(kind: ProposalKind, body: Uint8Array): Promise<unknown> {
    this.assertServing();
    if (this.committedIndex > this.applied.current + MAX_GAP_BETWEEN_APPLY_AND_COMMIT) {
      throw etcdError('TOO_MANY_REQUESTS');
    }
    const id = this.reqIds.next();
    const data = encodeProposal(id, kind, body);
    if (data.length > this.cfg.maxRequestBytes) throw etcdError('REQUEST_TOO_LARGE');
    // Like etcd, a proposal made without a leader waits for one, within the request timeout.
    if (this.lead === 0n) await this.waitLeader(this.requestTimeoutMs);
    return this.proposeAndWait(id, () => this.raftNode.propose(data));
  }

  /**
   * Registers id, proposes, and waits for the apply of the entry carrying id;
   * a timeout leaves the entry to be applied, or not, later.
   */
  private async proposeAndWait(id: bigint, propose: () => void): Promise<unknown> {
    const result = this.wait.register(id, Date.now() + this.requestTimeoutMs);
    try {
      propose();
    } catch (err) {
      this.wait.trigger(id, {});
      throw toEtcdError(err);
    }
    const res = await result;
    if (res.timedOut === true) throw etcdError(this.lead === 0n ? 'NO_LEADER' : 'TIMEOUT');
    if (res.err !== undefined) throw toEtcdError(res.err);
    if (res.resp === undefined) throw etcdError(this.fatal !== undefined ? 'STOPPED' : 'TIMEOUT');
    return res.resp;
  }

  private assertServing(): void {
    if (this.fatal !== undefined || this.stopping) throw etcdError('STOPPED');
  }

  // ---- apply ----

  /**
   * Applies committed entries in one backend transaction together with the new
   * consistent index, then answers their proposers. Entries at or below the
   * consistent index were applied before a restart and are skipped, except that
   * membership changes always reach raft so it rebuilds its configuration.
   */
  private applyEntries(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    const consistentIndex = this.kv.consistentIndex();
    const answers: [bigint, ApplyResult][] = [];
    try {
      this.backend.transact((tx) => {
        for (const e of entries) {
          if (e.type === EntryType.ConfChange) {
            const { id, result } = this.applyConfChange(tx, e, e.index > consistentIndex);
            if (id !== 0n && this.wait.isRegistered(id)) answers.push([id, result]);
            continue;
          }
          if (e.index <= consistentIndex || e.data.length === 0) continue;
          const req = etcdserverpb.InternalRaftRequest.decode(e.data);
          const id = req.header?.ID ?? req.ID;
          const result = this.applyRequest(tx, req);
          if (this.wait.isRegistered(id)) answers.push([id, result]);
        }
        if (last.index > consistentIndex) this.kv.setConsistentIndex(tx, last.index);
      });
    } catch (err) {
      this.watchable.discardPending();
      throw err;
    }
    // Watchers see the changes only once the transaction holding them committed.
    this.watchable.publish();
    this.applyPeerChanges();
    this.applied.advance(last.index);
    for (const [id, result] of answers) this.wait.trigger(id, result);
    this.maybeSnapshot();
    this.maybeCompactRaftLog();
  }

  /**
   * Bounds the in-memory raft log independently of --snapshot-count: entries
   * more than SNAPSHOT_CATCH_UP_ENTRIES behind the applied index are dropped
   * from MemoryStorage once a batch of them accumulated, behind an in-memory
   * snapshot at that index (the state it stands for is the backend, which holds
   * everything applied). The WAL and snapshot files are unaffected: a restart
   * still replays from the newest snapshot file. This keeps the log out of the
   * JavaScript heap, where a long log costs far more than in etcd.
   */
  private maybeCompactRaftLog(): void {
    const target = this.applied.current - SNAPSHOT_CATCH_UP_ENTRIES;
    if (target - this.storage.firstIndex() < RAFT_LOG_COMPACT_STEP) return;
    if (target <= this.storage.snapshot().metadata.index) return;
    this.storage.createSnapshot(target, this.confStateAt(target), Buffer.alloc(0));
    this.storage.compact(target);
    const keepFrom = this.confHistory.findLastIndex((c) => c.index <= target);
    if (keepFrom > 0) this.confHistory = this.confHistory.slice(keepFrom);
  }

  private confStateAt(index: number): ConfState {
    return this.confHistory.findLast((c) => c.index <= index)?.conf ?? this.confState;
  }

  /**
   * Takes a snapshot once --snapshot-count entries were applied since the last
   * one, in etcd's order: make the backend durable, record the snapshot (file,
   * then WAL marker), compact the in-memory log keeping a catch-up tail, then
   * release the WAL segments the snapshot covers. Only one runs at a time.
   */
  private maybeSnapshot(): void {
    const index = this.applied.current;
    if (this.snapshotting !== undefined || index - this.snapshotIndex <= this.cfg.snapshotCount) return;
    this.snapshotting = this.snapshot(index)
      .catch((err: unknown) => this.onFatal(err))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  private async snapshot(index: number): Promise<void> {
    await this.backend.sync();
    // The in-memory log may have been compacted past index meanwhile; a snapshot
    // file must never claim more than the backend has made durable, so try later.
    if (this.storage.snapshot().metadata.index >= index) return;
    const snap = this.storage.createSnapshot(index, this.confStateAt(index), Buffer.alloc(0));
    await this.snapshotter?.save(snap);
    await this.logStore.saveSnapshot({ index, term: snap.metadata.term });
    const compactIndex = index > SNAPSHOT_CATCH_UP_ENTRIES ? index - SNAPSHOT_CATCH_UP_ENTRIES : 1;
    if (compactIndex > this.storage.firstIndex()) this.storage.compact(compactIndex);
    await this.logStore.releaseTo(index);
    this.snapshotIndex = index;
    this.log.info({ index, compactIndex }, 'saved snapshot');
  }

  private applyRequest(tx: WriteTx, r: etcdserverpb.InternalRaftRequest): ApplyResult {
    try {
      if (r.put !== undefined) return { resp: this.applier.put(tx, r.put) };
      if (r.deleteRange !== undefined) return { resp: this.applier.deleteRange(tx, r.deleteRange) };
      if (r.txn !== undefined) return { resp: this.applier.txn(tx, r.txn) };
      if (r.compaction !== undefined) return { resp: this.applier.compaction(tx, r.compaction) };
      if (r.leaseGrant !== undefined) return { resp: this.applier.leaseGrant(tx, r.leaseGrant) };
      if (r.leaseRevoke !== undefined) return { resp: this.applier.leaseRevoke(tx, r.leaseRevoke) };
      if (r.v2 !== undefined) return this.applyV2(tx, r.v2);
      return { err: new Error('request type not supported by this member') };
    } catch (err) {
      // Expected refusals happen before a request's first write; anything else is a bug.
      const mapped = toEtcdError(err);
      if (mapped instanceof EtcdError) return { err: mapped };
      throw err;
    }
  }

  /**
   * Applies a membership change. New changes are validated against the
   * membership as applied so far, as etcd does at apply time: an invalid one
   * reaches raft as a no-op and its error goes back to the proposer. Changes at
   * or below the consistent index (a restart) only rebuild raft's configuration.
   */
  private applyConfChange(tx: WriteTx, e: Entry, isNew: boolean): { id: bigint; result: ApplyResult } {
    const cc = decodeConfChange(e.data);
    const invalid = isNew ? this.cluster.validate(cc) : undefined;
    const conf = this.raftNode.rawNode.applyConfChange(invalid !== undefined ? { ...cc, nodeId: 0n } : cc);
    this.confState = conf;
    this.confHistory.push({ index: e.index, conf });
    // A lone voter need not wait an election timeout to lead.
    if (this.lead === 0n && conf.voters.length === 1 && conf.voters[0] === this.memberId) {
      setImmediate(() => {
        if (this.lead === 0n && !this.stopping && this.fatal === undefined) this.raftNode.campaign();
      });
    }
    if (invalid !== undefined) return { id: cc.id, result: { err: toEtcdError(invalid) } };
    if (isNew) {
      this.cluster.apply(tx, cc);
      this.peerChanges.push(cc);
    }
    return { id: cc.id, result: { resp: this.cluster.list() } };
  }

  /** Brings the transport in line with membership changes that just committed. */
  private applyPeerChanges(): void {
    const changes = this.peerChanges;
    this.peerChanges = [];
    for (const cc of changes) {
      if (cc.nodeId === this.memberId) {
        if (cc.type === ConfChangeType.RemoveNode) this.onRemoved();
        continue;
      }
      const m = this.cluster.member(cc.nodeId);
      if (cc.type === ConfChangeType.RemoveNode) void this.transport.removePeer(cc.nodeId);
      else if (m !== undefined && !this.transport.hasPeer(cc.nodeId)) this.transport.addPeer(cc.nodeId, m.peerURLs);
      else if (m !== undefined && cc.type === ConfChangeType.UpdateNode) this.transport.updatePeer(cc.nodeId, m.peerURLs);
    }
  }

  /**
   * etcd 3.4 publishes a member's name and client URLs as a v2 store write of
   * /0/members/<id>/attributes through the log; that is the one v2 request applied.
   */
  private applyV2(tx: WriteTx, r: etcdserverpb.Request): ApplyResult {
    const m = /^\/0\/members\/([0-9a-f]+)\/attributes$/.exec(r.Path);
    if (r.Method !== 'PUT' || m?.[1] === undefined) return { err: new Error(`unsupported v2 request ${r.Method} ${r.Path}`) };
    const attrs = JSON.parse(r.Val) as { name?: string; clientURLs?: string[] };
    this.cluster.setAttributes(tx, BigInt(`0x${m[1]}`), attrs.name ?? '', attrs.clientURLs ?? []);
    return { resp: true };
  }

  // ---- membership ----

  /** Publishes this member's name and client URLs through the log, retrying until it is applied. */
  async publish(clientUrls: readonly string[]): Promise<void> {
    const path = `/0/members/${this.memberId.toString(16)}/attributes`;
    const val = JSON.stringify({ name: this.cfg.name, clientURLs: clientUrls });
    for (;;) {
      if (this.stopping || this.fatal !== undefined || this.removed) return;
      try {
        await this.raftRequest('v2', etcdserverpb.Request.encode({ ID: this.reqIds.next(), Method: 'PUT', Path: path, Val: val }));
        return;
      } catch (err) {
        this.log.warn({ err }, 'failed to publish member attributes; retrying');
      }
    }
  }

  async memberAdd(peerURLs: readonly string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    const urls = [...peerURLs].sort();
    if (urls.length === 0 || urls.some((u) => !/^https?:\/\/[^/]+:\d+$/.test(u))) throw etcdError('MEMBER_BAD_URLS');
    const member: Member = {
      id: computeMemberId(urls, '', Math.floor(Date.now() / 1000)),
      name: '',
      peerURLs: urls,
      clientURLs: [],
      isLearner,
    };
    const members = await this.configure({
      type: isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode,
      nodeId: member.id,
      context: encodeConfChangeContext({ member, isPromote: false }),
    });
    return { member, members };
  }

  async memberRemove(id: bigint): Promise<Member[]> {
    return this.configure({ type: ConfChangeType.RemoveNode, nodeId: id, context: Buffer.alloc(0) });
  }

  async memberUpdate(id: bigint, peerURLs: readonly string[]): Promise<Member[]> {
    const m = this.cluster.member(id);
    if (m === undefined) throw etcdError('MEMBER_NOT_FOUND');
    return this.configure({ type: ConfChangeType.UpdateNode, nodeId: id, context: encodeMember({ ...m, peerURLs: [...peerURLs].sort() }) });
  }

  /**
   * Promotes a learner once it has caught up: on the leader, its replicated
   * index must be at least 90% of the leader's (etcd's isLearnerReady).
   */
  async memberPromote(id: bigint): Promise<Member[]> {
    const m = this.cluster.member(id);
    if (m === undefined) throw etcdError('MEMBER_NOT_FOUND');
    if (!m.isLearner) throw etcdError('MEMBER_NOT_LEARNER');
    if (!this.isLeader) throw etcdError('NOT_LEADER');
    const status = this.raftNode.rawNode.status();
    const pr = status.progress?.get(id);
    const leaderMatch = status.progress?.get(this.memberId)?.match ?? status.commit;
    if (pr === undefined || pr.match < leaderMatch * 0.9) throw etcdError('LEARNER_NOT_READY');
    return this.configure({
      type: ConfChangeType.AddNode,
      nodeId: id,
      context: encodeConfChangeContext({ member: m, isPromote: true }),
    });
  }

  /** Hands leadership to another voter and waits until it leads. */
  async moveLeader(target: bigint): Promise<void> {
    if (!this.isLeader) throw etcdError('NOT_LEADER');
    if (target === this.memberId) return;
    const m = this.cluster.member(target);
    if (m === undefined || m.isLearner) throw etcdError('BAD_LEADER_TRANSFEREE');
    this.raftNode.transferLeader(target);
    const deadline = Date.now() + this.requestTimeoutMs;
    while (this.lead !== target) {
      if (Date.now() > deadline) throw etcdError('TIMEOUT');
      await new Promise((r) => setTimeout(r, this.cfg.heartbeatIntervalMs));
    }
  }

  private async configure(cc: Omit<ConfChange, 'id'>): Promise<Member[]> {
    this.assertServing();
    if (this.lead === 0n) await this.waitLeader(this.requestTimeoutMs);
    const id = this.reqIds.next();
    return (await this.proposeAndWait(id, () => this.raftNode.proposeConfChange({ ...cc, id }))) as Member[];
  }

  // ---- snapshots between members ----

  /** The peer service other members stream raft messages and snapshots to. */
  peerService(): PeerServer {
    return createPeerService({
      memberId: this.memberId,
      clusterId: this.clusterId,
      onMessage: (m) => {
        try {
          this.raftNode.step(m);
        } catch {
          // Messages from unknown or removed peers, and proposals nobody can take, are dropped as raft's errors say.
        }
      },
      receiveSnapshot: async (m, chunks) => {
        const index = m.snapshot?.metadata.index ?? 0;
        await receiveSnapshotDb(this.snapDir(), index, chunks);
      },
      isIdRemoved: (id) => this.cluster.isRemoved(id),
      members: () => this.cluster.list(),
      logger: this.log,
    });
  }

  /**
   * Sends raft's messages, turning each snapshot message into etcd's "merged"
   * snapshot: the database the follower receives is the current one, so the
   * metadata names the current applied index, its term and the configuration
   * in force now (which includes the receiver, or it would refuse it).
   */
  private sendToPeers(messages: readonly Message[]): void {
    if (!messages.some((m) => m.type === MessageType.MsgSnap)) {
      this.transport.send(messages);
      return;
    }
    const index = this.applied.current;
    const merged: Snapshot = {
      data: Buffer.alloc(0),
      metadata: { index, term: this.storage.term(index), confState: this.confState },
    };
    this.transport.send(messages.map((m) => (m.type === MessageType.MsgSnap ? { ...m, snapshot: merged } : m)));
  }

  private snapDir(): string {
    if (this.cfg.dataDir === undefined) throw new Error('the memory storage mode keeps no snapshot files');
    return dirname(backendPath(this.cfg.dataDir));
  }

  /** A consistent copy of the whole backend, for a follower behind the compacted log. */
  private snapshotData(): AsyncIterable<Uint8Array> {
    if (!(this.backend instanceof LmdbBackend)) throw new Error('the memory storage mode cannot send snapshots');
    return backendSnapshotChunks(this.backend);
  }

  private onSoftState(s: SoftState): void {
    const had = this.lead;
    const wasLeader = this.isLeader;
    this.lead = s.raftState === StateType.Leader ? this.memberId : s.lead;
    // Only the leader's lessor expires leases; a new leader gives every lease a full TTL again.
    if (this.isLeader && !wasLeader) this.lessor.promote(this.cfg.electionTicks * this.cfg.heartbeatIntervalMs);
    else if (!this.isLeader && wasLeader) this.lessor.demote();
    if (had !== this.lead) {
      this.log.info({ leader: this.lead.toString(16), term: this.term }, 'leader changed');
      if (this.lead !== 0n) {
        const waiters = this.leaderWaiters;
        this.leaderWaiters = [];
        waiters.forEach((w) => w());
        // ReadIndex requests sent to the old leader may never be answered.
        this.reads.resend();
      }
    }
  }

  /** A snapshot from the leader: its file and WAL marker become durable before its Ready's entries. */
  private async persistReceivedSnapshot(snap: Snapshot): Promise<void> {
    await this.snapshotter?.save(snap);
    await this.logStore.saveSnapshot({ index: snap.metadata.index, term: snap.metadata.term });
  }

  /**
   * Replaces the state machine with the database received with a snapshot. The
   * database may cover entries past the snapshot's index (the leader sends its
   * current state); those are skipped by its consistent index as they arrive.
   * Watchers are kept and catch up from the installed store.
   */
  private async applyReceivedSnapshot(snap: Snapshot): Promise<void> {
    const index = snap.metadata.index;
    if (index <= this.applied.current || this.cfg.dataDir === undefined) return;
    this.log.info({ index, term: snap.metadata.term }, 'installing snapshot from the leader');
    await this.backend.close();
    await installSnapshotDb(this.snapDir(), index, backendPath(this.cfg.dataDir));
    this.backend = openLmdbBackend(this.cfg.dataDir, memberBackendOptions(this.cfg));
    this.lessor = new Lessor(this.backend, { minTtl: this.minLeaseTtl });
    if (this.isLeader) this.lessor.promote(this.cfg.electionTicks * this.cfg.heartbeatIntervalMs);
    this.kv = KVStore.open(this.backend, { leases: this.lessor });
    // Watchers stay: they catch up from the installed store, as in etcd.
    this.watchable.restore(this.kv);
    this.applier = new ApplierV3(this.kv, this.lessor);
    this.cluster = new RaftCluster(this.backend);
    this.confState = snap.metadata.confState;
    this.confHistory = [{ index, conf: snap.metadata.confState }];
    this.snapshotIndex = index;
    this.applied.advance(Math.max(index, this.kv.consistentIndex()));
    for (const m of this.cluster.list()) {
      if (m.id !== this.memberId && !this.transport.hasPeer(m.id)) this.transport.addPeer(m.id, m.peerURLs);
    }
  }

  /** This member was removed from the cluster: it stops serving, as etcd does. */
  private onRemoved(): void {
    if (this.removed) return;
    this.removed = true;
    this.log.warn('the member has been permanently removed from the cluster');
    this.fatal = etcdError('STOPPED');
    this.reads.failAll(etcdError('STOPPED'));
    void this.transport.stop();
  }

  private onFatal(err: unknown): void {
    this.fatal = err;
    this.log.fatal({ err }, 'storage failure: the member stops serving');
    this.reads.failAll(etcdError('STOPPED'));
    this.wait.expire(Infinity, { err: etcdError('STOPPED') });
  }
}
