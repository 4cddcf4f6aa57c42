import * as grpc from '@grpc/grpc-js';
import { etcdError, etcdserverpb, isEtcdError } from '@etcd-ts/api';
import { parseEndpoint, type Endpoint } from './balancer/endpoint.js';
import { deadlineOf, sleep, type CallOptions } from './call-options.js';
import {
  callAborted,
  ClientClosedError,
  DeadlineExceededError,
  fromStatus,
  TransportError,
} from './errors.js';
import { DEFAULT_RETRY, isRetryable, type RetryKind } from './retry.js';
import type { Rpc, UnaryIssuer } from './rpc.js';

/** A member's view of itself and of the cluster (Maintenance.Status). */
export interface EndpointStatus {
  /** The client endpoint ("host:port") that answered. */
  readonly endpoint: string;
  readonly clusterId: bigint;
  /** The answering member. */
  readonly memberId: bigint;
  /** Current leader's member id (0n: none known). */
  readonly leader: bigint;
  /** Whether the answering member is the leader. */
  readonly isLeader: boolean;
  readonly isLearner: boolean;
  /** etcd server version the member reports. */
  readonly version: string;
  /** Bytes allocated by the backend. */
  readonly dbSize: number;
  /** Bytes of the backend in use (dbSize minus free pages). */
  readonly dbSizeInUse: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  /** Store revision at the time of the answer. */
  readonly revision: number;
  /** Alarm and health messages of the member (etcd's `errors`). */
  readonly errors: readonly string[];
}

/** The alarms a member can raise. */
export type AlarmName = 'NOSPACE' | 'CORRUPT';

/** One raised alarm. */
export interface Alarm {
  readonly memberId: bigint;
  readonly alarm: AlarmName;
}

/** Hash of a member's whole backend (Maintenance.Hash; for testing). */
export interface HashResult {
  readonly endpoint: string;
  readonly memberId: bigint;
  readonly hash: number;
  readonly revision: number;
}

/** Hash of the MVCC history up to a revision (Maintenance.HashKV). */
export interface HashKVResult {
  readonly endpoint: string;
  readonly memberId: bigint;
  /** CRC32 (Castagnoli) of every key revision from the compaction point to `revision`. */
  readonly hash: number;
  /** Revision of the last compaction; 0 when the store was never compacted (etcd sends -1 then). */
  readonly compactRevision: number;
  /** Store revision of the member when it answered. */
  readonly revision: number;
}

const { AlarmRequest_AlarmAction, AlarmType } = etcdserverpb;

const ALARM_NAMES: Readonly<Record<number, AlarmName>> = {
  [AlarmType.NOSPACE]: 'NOSPACE',
  [AlarmType.CORRUPT]: 'CORRUPT',
};

/** A unary call whose every attempt goes to `ep` (member-specific requests). */
function unaryOn<Res>(
  rpc: Rpc,
  ep: Endpoint,
  kind: RetryKind,
  opts: CallOptions | undefined,
  issue: UnaryIssuer<Res>,
  giveUp?: (err: unknown) => boolean,
): Promise<Res> {
  return rpc.unary<Res>(kind, opts, issue, giveUp ? { endpoint: ep, giveUp } : { endpoint: ep });
}

/** The client's Endpoint for `address` ("host:port" or a URL). Throws TypeError when it is not one of the client's. */
function endpointOf(rpc: Rpc, address: string): Endpoint {
  const wanted = parseEndpoint(address).address;
  const ep = rpc.pool.list().find((e) => e.address === wanted);
  if (ep === undefined) {
    throw new TypeError(`etcd client: ${address} is not one of the client's endpoints (${rpc.pool.addresses.join(', ')})`);
  }
  return ep;
}

function toStatus(endpoint: string, r: etcdserverpb.StatusResponse): EndpointStatus {
  const memberId = r.header?.memberId ?? 0n;
  return {
    endpoint,
    clusterId: r.header?.clusterId ?? 0n,
    memberId,
    leader: r.leader,
    isLeader: r.leader !== 0n && r.leader === memberId,
    isLearner: r.isLearner,
    version: r.version,
    dbSize: r.dbSize,
    dbSizeInUse: r.dbSizeInUse,
    raftIndex: r.raftIndex,
    raftTerm: r.raftTerm,
    raftAppliedIndex: r.raftAppliedIndex,
    revision: r.header?.revision ?? 0,
    errors: r.errors,
  };
}

/**
 * etcd's Maintenance service: member status, alarms, defragmentation, hashes,
 * snapshots and leader transfer. Methods taking an `endpoint` ask that member
 * (one of the client's endpoints); without it, any member answers.
 */
export class MaintenanceClient {
  constructor(private readonly rpc: Rpc) {}

  /**
   * Sends a unary call to `endpoint` when given, otherwise to any endpoint,
   * reporting which one answered.
   */
  private async call<Res>(
    kind: RetryKind,
    endpoint: string | undefined,
    opts: CallOptions | undefined,
    issue: UnaryIssuer<Res>,
  ): Promise<{ res: Res; endpoint: string }> {
    if (endpoint !== undefined) {
      const ep = endpointOf(this.rpc, endpoint);
      return { res: await unaryOn(this.rpc, ep, kind, opts, issue), endpoint: ep.address };
    }
    let answered = '';
    const res = await this.rpc.unary<Res>(kind, opts, (ep, md, o, cb) => {
      answered = ep.address;
      return issue(ep, md, o, cb);
    });
    return { res, endpoint: answered };
  }

  /** Status of the member at `endpoint`, or of any member. */
  async status(endpoint?: string, opts?: CallOptions): Promise<EndpointStatus> {
    const { res, endpoint: at } = await this.call<etcdserverpb.StatusResponse>(
      'idempotent',
      endpoint,
      opts,
      (ep, md, o, cb) => ep.maintenance.status({}, md, o, cb),
    );
    return toStatus(at, res);
  }

  /** Every raised alarm, across the cluster. */
  async alarmList(opts?: CallOptions): Promise<Alarm[]> {
    const res = await this.rpc.unary<etcdserverpb.AlarmResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.maintenance.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, md, o, cb),
    );
    return toAlarms(res);
  }

  /**
   * Disarms `alarm`, or every raised alarm when none is given (as
   * `etcdctl alarm disarm` does). Resolves to the alarms disarmed.
   * Deactivating an alarm twice has the effect of once, so it is retried as
   * an idempotent request.
   */
  async alarmDisarm(alarm?: Alarm, opts?: CallOptions): Promise<Alarm[]> {
    const targets = alarm !== undefined ? [alarm] : await this.alarmList(opts);
    const disarmed: Alarm[] = [];
    for (const a of targets) {
      const code = a.alarm === 'NOSPACE' ? AlarmType.NOSPACE : AlarmType.CORRUPT;
      const res = await this.rpc.unary<etcdserverpb.AlarmResponse>('idempotent', opts, (ep, md, o, cb) =>
        ep.maintenance.alarm({ action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberId, alarm: code }, md, o, cb),
      );
      disarmed.push(...toAlarms(res));
    }
    return disarmed;
  }

  /**
   * Defragments the backend of the member at `endpoint` (it releases the free
   * pages to the file system; the member blocks reads and writes meanwhile).
   * Repeating it is harmless, so it is retried as an idempotent request.
   * A large backend takes a while: pass a `timeoutMs` to match.
   */
  async defragment(endpoint: string, opts?: CallOptions): Promise<void> {
    await this.call<etcdserverpb.DefragmentResponse>('idempotent', endpoint, opts, (ep, md, o, cb) =>
      ep.maintenance.defragment({}, md, o, cb),
    );
  }

  /** Hash of the whole backend of the member at `endpoint`, or of any member. Meant for tests. */
  async hash(endpoint?: string, opts?: CallOptions): Promise<HashResult> {
    const { res, endpoint: at } = await this.call<etcdserverpb.HashResponse>(
      'idempotent',
      endpoint,
      opts,
      (ep, md, o, cb) => ep.maintenance.hash({}, md, o, cb),
    );
    return { endpoint: at, memberId: res.header?.memberId ?? 0n, hash: res.hash, revision: res.header?.revision ?? 0 };
  }

  /**
   * Hash of the key history up to `revision` (0: the current revision) of the
   * member at `endpoint`, or of any member. Members that applied the same
   * history report the same hash for the same revision.
   */
  async hashKV(revision = 0, endpoint?: string, opts?: CallOptions): Promise<HashKVResult> {
    const { res, endpoint: at } = await this.call<etcdserverpb.HashKVResponse>(
      'idempotent',
      endpoint,
      opts,
      (ep, md, o, cb) => ep.maintenance.hashKV({ revision }, md, o, cb),
    );
    return {
      endpoint: at,
      memberId: res.header?.memberId ?? 0n,
      hash: res.hash,
      compactRevision: Math.max(0, res.compactRevision),
      revision: res.header?.revision ?? 0,
    };
  }

  /**
   * The backend of the member at `endpoint` (or of any member) as a stream of
   * chunks; concatenated they form a snapshot file (`etcdctl snapshot
   * restore` reads it). Breaking out of the loop cancels the transfer. A
   * failure before the first chunk is retried like an idempotent request; a
   * failure after it ends the stream with the typed error (the bytes already
   * received are not a valid snapshot). `timeoutMs`/`deadline` bound the
   * whole transfer; without them it has no deadline. The stream is opened
   * without `hasleader`: a member cut off from its leader still serves its
   * data (disaster recovery).
   */
  async *snapshot(endpoint?: string, opts?: CallOptions): AsyncGenerator<Buffer, void, undefined> {
    const rpc = this.rpc;
    const signal = opts?.signal;
    const hasDeadline = opts?.deadline !== undefined || opts?.timeoutMs !== undefined;
    const deadline = hasDeadline ? deadlineOf(opts, rpc.opts.callTimeoutMs) : Infinity;
    const policy = { ...DEFAULT_RETRY, ...rpc.opts.retry };
    const fixed = endpoint !== undefined ? endpointOf(rpc, endpoint) : undefined;
    let last: Endpoint | undefined;
    for (let attempt = 0; ; attempt++) {
      let delivered = false;
      try {
        if (rpc.isClosed) throw new ClientClosedError();
        if (signal?.aborted) throw callAborted(signal, false);
        if (Date.now() >= deadline) throw new DeadlineExceededError('etcd snapshot deadline exceeded', false);
        const ep = fixed ?? rpc.pool.pick(last);
        last = ep;
        const dialBy = Math.min(deadline, Date.now() + rpc.opts.dialTimeoutMs);
        if (!(await ep.waitReady(dialBy, signal))) {
          if (signal?.aborted) throw callAborted(signal, false);
          ep.markUnhealthy();
          throw new TransportError(grpc.status.UNAVAILABLE, 'connection not ready', ep.address, false);
        }
        const md = await rpc.metadata(false, signal);
        const call = ep.maintenance.snapshot({}, md, Number.isFinite(deadline) ? { deadline } : {});
        const onAbort = (): void => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const msg of call as AsyncIterable<etcdserverpb.SnapshotResponse>) {
            if (msg.blob.length === 0) continue;
            delivered = true;
            yield msg.blob;
          }
          ep.markHealthy();
          return;
        } catch (err) {
          if (signal?.aborted) throw callAborted(signal, true);
          const s = err as Partial<grpc.ServiceError>;
          if (typeof s.code !== 'number') throw err;
          const e = fromStatus(s.code, s.details ?? '', ep.address, true);
          if (e instanceof TransportError && e.transient) ep.markUnhealthy();
          if ('reauth' in e && e.reauth) rpc.invalidateToken(md);
          throw e;
        } finally {
          signal?.removeEventListener('abort', onAbort);
          // Ends the transfer when the consumer stops early (a no-op once the stream ended).
          call.cancel();
        }
      } catch (err) {
        const delay = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
        const again =
          !delivered &&
          attempt < policy.retries &&
          !rpc.isClosed &&
          !signal?.aborted &&
          Date.now() + delay < deadline &&
          isRetryable('idempotent', err);
        if (!again) throw err;
        try {
          await sleep(delay, signal);
        } catch {
          throw callAborted(signal, false);
        }
      }
    }
  }

  /**
   * Transfers leadership to the voting member `targetId` (a learner or an
   * unknown id is refused with BAD_LEADER_TRANSFEREE). The request must
   * reach the current leader: the leader is found among the client's
   * endpoints with Status, and asked directly; if leadership moved in
   * between, the new leader is looked up again.
   */
  async moveLeader(targetId: bigint, opts?: CallOptions): Promise<void> {
    const deadline = deadlineOf(opts, this.rpc.opts.callTimeoutMs);
    const callOpts: CallOptions = { deadline, ...(opts?.signal ? { signal: opts.signal } : {}) };
    for (let attempt = 0; ; attempt++) {
      const leader = await this.findLeader(callOpts);
      try {
        await unaryOn<etcdserverpb.MoveLeaderResponse>(
          this.rpc,
          leader,
          'mutation',
          callOpts,
          (ep, md, o, cb) => ep.maintenance.moveLeader({ targetID: targetId }, md, o, cb),
          (err) => isEtcdError(err, 'NOT_LEADER'),
        );
        return;
      } catch (err) {
        // NOT_LEADER is refused before any effect: leadership moved, look the leader up again.
        if (!isEtcdError(err, 'NOT_LEADER') || attempt >= 3 || Date.now() >= deadline) throw err;
      }
    }
  }

  /**
   * The client's endpoint of the current leader, found by asking every
   * endpoint for its status. Rejects with NO_LEADER when no member answering
   * knows a leader, NOT_LEADER when the leader is not one of the client's
   * endpoints, and with the first error when no endpoint answers.
   */
  private async findLeader(opts: CallOptions): Promise<Endpoint> {
    const eps = this.rpc.pool.list();
    // Stops the other Status calls once the leader answered.
    const found = new AbortController();
    const caller = opts.signal;
    const onAbort = (): void => found.abort(caller?.reason);
    if (caller?.aborted) onAbort();
    caller?.addEventListener('abort', onAbort, { once: true });
    const each: CallOptions = { ...opts, signal: found.signal };
    let leaderKnown = false;
    let firstError: unknown;
    try {
      const leader = await new Promise<Endpoint | undefined>((resolve) => {
        let pending = eps.length;
        if (pending === 0) resolve(undefined);
        const done = (): void => {
          if (--pending === 0) resolve(undefined);
        };
        for (const ep of eps) {
          unaryOn<etcdserverpb.StatusResponse>(this.rpc, ep, 'idempotent', each, (e, md, o, cb) =>
            e.maintenance.status({}, md, o, cb),
          ).then(
            (s) => {
              if (s.leader !== 0n) leaderKnown = true;
              if (s.leader !== 0n && s.header?.memberId === s.leader) resolve(ep);
              done();
            },
            (err: unknown) => {
              firstError ??= err;
              done();
            },
          );
        }
      });
      if (leader !== undefined) return leader;
    } finally {
      caller?.removeEventListener('abort', onAbort);
      found.abort();
    }
    if (caller?.aborted) throw callAborted(caller, false);
    if (leaderKnown) {
      throw etcdError('NOT_LEADER', { cause: new Error("the leader is not one of the client's endpoints") });
    }
    if (firstError !== undefined) throw firstError;
    throw etcdError('NO_LEADER');
  }
}

function toAlarms(res: etcdserverpb.AlarmResponse): Alarm[] {
  return res.alarms.flatMap((a) => {
    const name = ALARM_NAMES[a.alarm];
    return name === undefined ? [] : [{ memberId: a.memberID, alarm: name }];
  });
}
