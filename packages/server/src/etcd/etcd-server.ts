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
import { EtcdError, etcdError, etcdserverpb, IdGenerator } from '@etcd-ts/api';
import type { Logger } from 'pino';
import type { Backend, WriteTx } from '../backend/backend.js';
import { ApplierV3 } from '../apply/applier-v3.js';
import { isTxnReadonly, isTxnSerializable } from '../apply/txn-path.js';
import type { Member } from '../cluster/member.js';
import { Lessor } from '../lease/lessor.js';
import { KVStore } from '../mvcc/kv-store.js';
import { decodeConfChange } from '../raft/conf-change-codec.js';
import { RawNode } from '../raft/raw-node.js';
import { EntryType, StateType, type Entry, type SoftState } from '../raft/types.js';
import { RaftNode } from '../raft-node/raft-node.js';
import type { Bootstrapped } from './bootstrap.js';
import { AppliedIndex } from './applied-index.js';
import { toEtcdError } from './errors.js';
import { LinearizableReads } from './linearizable-reads.js';
import { Wait } from './wait.js';

export interface EtcdServerConfig {
  readonly name: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTicks: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly preVote: boolean;
  readonly clientUrls: readonly string[];
}

interface ApplyResult {
  readonly resp?: unknown;
  readonly err?: unknown;
}

/** etcd's maxGapBetweenApplyAndCommitIndex: proposals are refused beyond this backlog. */
const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;

export class EtcdServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly backend: Backend;
  readonly kv: KVStore;
  readonly lessor: Lessor;
  readonly members = new Map<bigint, Member>();

  private readonly cfg: EtcdServerConfig;
  private readonly log: Logger;
  private readonly applier: ApplierV3;
  private readonly raftNode: RaftNode;
  private readonly wait = new Wait<ApplyResult>();
  private readonly reqIds: IdGenerator;
  private readonly applied: AppliedIndex;
  private readonly reads: LinearizableReads;
  private readonly requestTimeoutMs: number;
  private committedIndex = 0;
  private fatal: unknown;
  private stopping = false;

  /** The current raft term and leader (0n: none), as last reported by raft. */
  term = 0;
  lead = 0n;
  private leaderWaiters: (() => void)[] = [];

  constructor(boot: Bootstrapped, cfg: EtcdServerConfig, log: Logger) {
    this.cfg = cfg;
    this.log = log;
    this.memberId = boot.memberId;
    this.clusterId = boot.clusterId;
    this.backend = boot.backend;
    this.lessor = new Lessor(boot.backend);
    this.kv = KVStore.open(boot.backend, { leases: this.lessor });
    this.applier = new ApplierV3(this.kv, this.lessor);
    this.reqIds = new IdGenerator(boot.memberId);
    for (const m of boot.initialMembers) this.members.set(m.id, m);

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
      },
    });
    this.reads = new LinearizableReads({
      readIndex: (ctx) => this.raftNode.readIndex(ctx),
      waitApplied: (index) => this.applied.wait(index),
      nextId: () => this.reqIds.next(),
      timeoutMs: this.requestTimeoutMs,
    });
  }

  start(): void {
    this.raftNode.start();
    // A lone voter need not wait an election timeout to lead.
    if (this.members.size <= 1) this.raftNode.campaign();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.raftNode.stop();
    this.reads.failAll(etcdError('STOPPED'));
  }

  get appliedIndex(): number {
    return this.applied.current;
  }

  get commitIndex(): number {
    return this.committedIndex;
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
    return (await this.raftRequest({ put: r })) as etcdserverpb.PutResponseInit;
  }

  async deleteRange(r: etcdserverpb.DeleteRangeRequest): Promise<etcdserverpb.DeleteRangeResponseInit> {
    return (await this.raftRequest({ deleteRange: r })) as etcdserverpb.DeleteRangeResponseInit;
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
    return (await this.raftRequest({ txn: r })) as etcdserverpb.TxnResponseInit;
  }

  async compact(r: etcdserverpb.CompactionRequest): Promise<etcdserverpb.CompactionResponseInit> {
    const resp = (await this.raftRequest({ compaction: r })) as etcdserverpb.CompactionResponseInit;
    // etcd answers with the store's revision when the compaction returns.
    return { ...resp, header: { revision: this.kv.currentRev } };
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
  private async raftRequest(r: etcdserverpb.InternalRaftRequestInit): Promise<unknown> {
    this.assertServing();
    if (this.committedIndex > this.applied.current + MAX_GAP_BETWEEN_APPLY_AND_COMMIT) {
      throw etcdError('TOO_MANY_REQUESTS');
    }
    const id = this.reqIds.next();
    const data = etcdserverpb.InternalRaftRequest.encode({ ...r, header: { ID: id } });
    if (data.length > this.cfg.maxRequestBytes) throw etcdError('REQUEST_TOO_LARGE');
    const result = this.wait.register(id);
    try {
      this.raftNode.propose(data);
    } catch (err) {
      this.wait.trigger(id, {});
      throw toEtcdError(err);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.wait.trigger(id, {});
        reject(etcdError(this.lead === 0n ? 'NO_LEADER' : 'TIMEOUT'));
      }, this.requestTimeoutMs);
    });
    try {
      const res = await Promise.race([result, timeout]);
      if (res.err !== undefined) throw toEtcdError(res.err);
      if (res.resp === undefined) throw etcdError(this.fatal !== undefined ? 'STOPPED' : 'TIMEOUT');
      return res.resp;
    } finally {
      clearTimeout(timer);
    }
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
    this.backend.transact((tx) => {
      for (const e of entries) {
        if (e.type === EntryType.ConfChange) {
          this.applyConfChange(e, e.index > consistentIndex);
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
    this.applied.advance(last.index);
    for (const [id, result] of answers) this.wait.trigger(id, result);
  }

  private applyRequest(tx: WriteTx, r: etcdserverpb.InternalRaftRequest): ApplyResult {
    try {
      if (r.put !== undefined) return { resp: this.applier.put(tx, r.put) };
      if (r.deleteRange !== undefined) return { resp: this.applier.deleteRange(tx, r.deleteRange) };
      if (r.txn !== undefined) return { resp: this.applier.txn(tx, r.txn) };
      if (r.compaction !== undefined) return { resp: this.applier.compaction(tx, r.compaction) };
      return { err: new Error('request type not supported by this member') };
    } catch (err) {
      // Expected refusals happen before a request's first write; anything else is a bug.
      const mapped = toEtcdError(err);
      if (mapped instanceof EtcdError) return { err: mapped };
      throw err;
    }
  }

  private applyConfChange(e: Entry, isNew: boolean): void {
    const cc = decodeConfChange(e.data);
    this.raftNode.rawNode.applyConfChange(cc);
    if (!isNew || cc.context.length === 0) return;
    try {
      const m = JSON.parse(Buffer.from(cc.context).toString('utf8')) as {
        name?: string;
        peerURLs?: string[];
        clientURLs?: string[];
        isLearner?: boolean;
      };
      if (!this.members.has(cc.nodeId)) {
        this.members.set(cc.nodeId, {
          id: cc.nodeId,
          name: m.name ?? '',
          peerURLs: m.peerURLs ?? [],
          clientURLs: m.clientURLs ?? [],
          isLearner: m.isLearner ?? false,
        });
      }
    } catch {
      this.log.warn({ index: e.index }, 'conf change context is not a member');
    }
  }

  private onSoftState(s: SoftState): void {
    const had = this.lead;
    this.lead = s.raftState === StateType.Leader ? this.memberId : s.lead;
    if (had !== this.lead) {
      this.log.info({ leader: this.lead.toString(16), term: this.term }, 'leader changed');
      if (this.lead !== 0n) {
        const waiters = this.leaderWaiters;
        this.leaderWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  private onFatal(err: unknown): void {
    this.fatal = err;
    this.log.fatal({ err }, 'storage failure: the member stops serving');
    this.reads.failAll(etcdError('STOPPED'));
  }
}
