import { compare, op, toBuffer, type Bytes, type CallOptions, type Client, type Cmp, type mvccpb } from '@etcd-ts/client';
import { Holding, leaseKey, waitInScope, type WaitOptions } from './mutex-support.js';
import { LockReleasedError } from './mutex-errors.js';
import { pause } from './pause.js';
import type { Session } from './session.js';
import { holdEventLoop, waitDeletes } from './wait-delete.js';

/** The caller is not (or no longer) the leader (etcd's ErrElectionNotLeader). */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly code = 'NOT_LEADER';
  constructor(readonly election: string) {
    super(`election ${election}: not leader`);
  }
}

/** A leader as read from etcd: the campaign key with the lowest create revision. */
export interface LeaderInfo {
  /** The leader's key, `<name>/<lease ID hex>`. */
  readonly key: string;
  /** The proclaimed value, as UTF-8 text. */
  readonly value: string;
  /** The proclaimed value's bytes. */
  readonly rawValue: Buffer;
  /** Create revision of the leader's key (its term: grows with every new leader). */
  readonly revision: number;
  /** Revision of the latest proclamation. */
  readonly modRevision: number;
  /** The leader's lease. */
  readonly leaseId: bigint;
}

export type CampaignOptions = WaitOptions;

export interface ObserveOptions {
  /** Ends the iteration. */
  readonly signal?: AbortSignal | undefined;
}

function leaderInfo(kv: mvccpb.KeyValue): LeaderInfo {
  const value = Buffer.from(kv.value);
  return {
    key: kv.key.toString('utf8'),
    value: value.toString('utf8'),
    rawValue: value,
    revision: kv.createRevision,
    modRevision: kv.modRevision,
    leaseId: kv.lease,
  };
}

/**
 * Leader election with the key layout and protocol of etcd's Go
 * concurrency.Election, so Node campaigners, `etcdctl elect` and Go programs
 * take turns in the same election.
 *
 * Layout: each candidate puts `<name>/<lease ID hex>` = its value, attached to
 * its session's lease; the key with the lowest create revision is the leader.
 * A candidate waits only for the deletion of its predecessor (largest create
 * revision below its own), then looks again.
 *
 * ```ts
 * const e = new Election(session, 'service/leader');
 * await e.campaign('node-1');           // resolves once leader
 * e.signal.addEventListener('abort', stopLeading);
 * await e.proclaim('node-1 (draining)');
 * await e.resign();
 * ```
 */
export class Election {
  /** `name + '/'`: the prefix of every candidate's key. */
  readonly prefix: string;
  private holding: Holding | undefined;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.prefix = `${name}/`;
  }

  /** The leader (lowest create revision) of election `name`, or undefined when there is none. */
  static async leader(client: Client, name: string, opts: CallOptions = {}): Promise<LeaderInfo | undefined> {
    const res = await client.get(`${name}/`, { ...opts, prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
    const kv = res.kvs[0];
    return kv ? leaderInfo(kv) : undefined;
  }

  /**
   * Every leader of election `name`, from the current one on: the current
   * leader first (if any), then each proclamation and each new leader, in
   * order. It does not replay history: changes that happened while a
   * re-read was under way are summed up by the newest state. It survives
   * broken connections (the watch resumes) and compaction (it reads the
   * leader again); it ends when `signal` aborts, `close()` is called, or the
   * client is closed.
   */
  static observe(client: Client, name: string, opts: ObserveOptions = {}): LeaderObserver {
    return new LeaderObserver(client, `${name}/`, opts.signal);
  }

  /** This session's candidate key: `<name>/<lease ID hex>`. */
  get key(): string {
    return leaseKey(this.prefix, this.session.leaseId);
  }

  /** Whether this object is the leader (as far as it knows: see `signal` and `isLeader()`). */
  get isLeader(): boolean {
    return this.holding?.isValid === true;
  }

  /** Create revision of the leader key while leader (etcd's Election.Rev()). */
  get revision(): number {
    if (!this.holding) throw new NotLeaderError(this.name);
    return this.holding.createRevision;
  }

  /**
   * Aborted when leadership ends: the session is lost (LeaseLostError), the
   * key is deleted or replaced by someone else (LockLostError), or resign()
   * (LockReleasedError). An aborted signal when not leader.
   */
  get signal(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort(new NotLeaderError(this.name));
  }

  /** The txn compare that holds only while this candidate is still the elected leader. */
  leaderCompare(): Cmp {
    const h = this.holding;
    return compare.createRevision(h?.key ?? this.key, '=', h?.createRevision ?? -1);
  }

  /**
   * Puts `value` as this session's candidacy and resolves once it is the
   * leader. With the session's key already present (an earlier campaign of
   * the same session, e.g. resumed after a restart), the candidacy is reused
   * and its value proclaimed. Rejects with LeaseLostError when the session is
   * lost, with LockTimeoutError after `timeoutMs`, or with the signal's reason;
   * on any failure the candidacy is withdrawn.
   */
  async campaign(value: Bytes, opts: CampaignOptions = {}): Promise<void> {
    const key = this.key;
    const val = toBuffer(value);
    const session = this.session;
    const client = session.client;
    // On any failure the candidacy is withdrawn (it would otherwise become leader with nobody to lead).
    await waitInScope(session, key, opts, async (scope, claim) => {
      const res = await client
        .txn()
        .if(compare.createRevision(key, '=', 0))
        .then(op.put(key, val, { lease: session.leaseId }))
        .else(op.get(key))
        .commit(); // not abortable: an aborted write may still apply, and its key must be known to be removed
      // The session's key already there: its candidacy is reused.
      const existing = res.succeeded ? undefined : res.responses[0]?.responseRange?.kvs[0];
      if (!res.succeeded && !existing) throw new Error(`election ${this.name}: txn answered without the key`);
      const rev = existing?.createRevision ?? res.revision;
      claim(key, rev);
      if (existing && !Buffer.from(existing.value).equals(val)) {
        const put = await client
          .txn()
          .if(compare.createRevision(key, '=', rev))
          .then(op.put(key, val, { lease: session.leaseId }))
          .commit();
        if (!put.succeeded) throw new NotLeaderError(this.name);
      }
      const readRev = await waitDeletes(client, this.prefix, rev - 1, scope.signal);
      // The session may have been lost while waiting: the key must still be ours.
      const mine = await client.get(key, { signal: scope.signal });
      const kv = mine.kvs[0];
      if (!kv || kv.createRevision !== rev) throw session.signal.reason ?? new NotLeaderError(this.name);
      if (this.holding?.isValid && this.holding.createRevision === rev) return;
      this.holding?.end(new LockReleasedError(key));
      this.holding = new Holding(session, key, rev, Math.max(readRev, mine.revision));
    });
  }

  /** Announces a new value without another election; throws NotLeaderError when no longer leader. */
  async proclaim(value: Bytes, opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h || !h.isValid) throw new NotLeaderError(this.name);
    const res = await this.session.client
      .txn()
      .if(compare.createRevision(h.key, '=', h.createRevision))
      .then(op.put(h.key, toBuffer(value), { lease: this.session.leaseId }))
      .commit(opts);
    if (!res.succeeded) {
      this.holding = undefined;
      h.end(new NotLeaderError(this.name));
      throw new NotLeaderError(this.name);
    }
  }

  /** Gives up leadership (deletes the key if it is still this leader's); a no-op when not leader. */
  async resign(opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h) return;
    this.holding = undefined;
    h.end(new LockReleasedError(h.key));
    await this.session.client
      .txn()
      .if(compare.createRevision(h.key, '=', h.createRevision))
      .then(op.delete(h.key))
      .commit(opts);
  }

  /** The current leader of this election, or undefined. */
  leader(opts: CallOptions = {}): Promise<LeaderInfo | undefined> {
    return Election.leader(this.session.client, this.name, opts);
  }

  /** See Election.observe. */
  observe(opts: ObserveOptions = {}): LeaderObserver {
    return Election.observe(this.session.client, this.name, opts);
  }
}

/** How long the observer waits before reading again after a failure (doubling up to the max). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * An async iterable of leader changes (see Election.observe). Each iteration
 * shares the one underlying loop: iterate it once.
 */
export class LeaderObserver implements AsyncIterable<LeaderInfo>, AsyncDisposable {
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    signal: AbortSignal | undefined,
  ) {
    this.signal = signal ? AbortSignal.any([signal, this.controller.signal]) : this.controller.signal;
  }

  /** Ends the iteration. */
  close(): void {
    this.controller.abort(new Error('observer closed'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaderInfo> {
    return this.run();
  }

  private async *run(): AsyncGenerator<LeaderInfo, void, undefined> {
    const release = holdEventLoop();
    try {
      yield* this.follow();
    } finally {
      release();
    }
  }

  private async *follow(): AsyncGenerator<LeaderInfo, void, undefined> {
    let last: LeaderInfo | undefined;
    let backoff = RETRY_MIN_MS;
    // Re-reads after a failure may find what was already reported: report each state once.
    const fresh = (info: LeaderInfo): boolean =>
      !last || last.key !== info.key || last.modRevision !== info.modRevision || last.revision !== info.revision;
    while (!this.signal.aborted) {
      try {
        // The leader now, or (none) the first candidate to come.
        const res = await this.client.get(this.prefix, {
          prefix: true,
          sort: { target: 'create', order: 'ascend' },
          limit: 1,
          signal: this.signal,
        });
        let kv = res.kvs[0];
        let rev = res.revision;
        if (!kv) {
          kv = await this.firstPut(rev + 1);
          if (!kv) return;
          rev = kv.modRevision;
        }
        backoff = RETRY_MIN_MS;
        let info = leaderInfo(kv);
        if (fresh(info)) yield (last = info);
        // Follow the leader's key until it goes; then elect the next one by reading again.
        const watcher = this.client.watch(info.key, { startRevision: rev + 1, signal: this.signal });
        try {
          outer: for await (const batch of watcher) {
            for (const ev of batch.events) {
              if (ev.type === DELETE || !ev.kv) break outer;
              info = leaderInfo(ev.kv);
              if (fresh(info)) yield (last = info);
            }
          }
        } finally {
          await watcher.close();
        }
      } catch (err) {
        if (this.signal.aborted || isClientClosed(err)) return;
        // Compaction, or a failure that outlasted the client's retries: read again.
        await pause(backoff, this.signal);
        backoff = Math.min(RETRY_MAX_MS, backoff * 2);
      }
    }
  }

  /** The first key put under the prefix from `fromRevision` on (undefined when aborted). */
  private async firstPut(fromRevision: number): Promise<mvccpb.KeyValue | undefined> {
    const watcher = this.client.watch(this.prefix, {
      prefix: true,
      startRevision: fromRevision,
      filters: ['nodelete'],
      signal: this.signal,
    });
    try {
      for await (const batch of watcher) {
        for (const ev of batch.events) if (ev.type === PUT && ev.kv) return ev.kv;
      }
    } finally {
      await watcher.close();
    }
    if (this.signal.aborted) return undefined;
    throw new Error('watch ended');
  }
}

/** mvccpb.Event_EventType values (the client exports mvccpb's types only). */
const PUT = 0;
const DELETE = 1;

function isClientClosed(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'CLIENT_CLOSED';
}
