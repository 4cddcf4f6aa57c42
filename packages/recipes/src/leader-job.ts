import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Bytes, Client } from '@etcd-ts/client';
import { Election } from './election.js';
import { pause } from './pause.js';
import { Session } from './session.js';
import { holdEventLoop } from './wait-delete.js';

/** What a leader-only function is given besides its signal. */
export interface LeaderJobContext {
  readonly session: Session;
  readonly election: Election;
  /** Create revision of the leader key: grows with every term, usable as a fencing token. */
  readonly term: number;
}

/**
 * The work done while leader. It must stop when `signal` aborts (leadership
 * lost, or the job stopped); the job waits for it to settle before it
 * campaigns again.
 */
export type LeaderJobRun = (signal: AbortSignal, ctx: LeaderJobContext) => Promise<void> | void;

export interface LeaderJobOptions {
  /** Election name (keys `<name>/<lease ID hex>`, etcd's election layout). */
  readonly name: string;
  readonly run: LeaderJobRun;
  /** Campaign value. Default `<hostname>:<pid>`. */
  readonly value?: Bytes;
  /**
   * Session to campaign with first. The job never closes it; once it is lost
   * the job goes on with sessions of its own on the same client.
   */
  readonly session?: Session;
  /** TTL (s) of the sessions the job makes itself. Default 10. */
  readonly ttl?: number;
  /**
   * Pause before campaigning again after a term ended, in ms (a run that
   * returns at once would otherwise keep the leadership to itself). Default 1000.
   */
  readonly restartDelayMs?: number;
}

export interface LeaderJobEvents {
  /** This job became leader (term = create revision of its key). */
  elected: [term: number];
  /** The term ended; reason: why the run's signal aborted, or undefined when the run returned by itself. */
  deposed: [term: number, reason: unknown];
  /** A run threw, or a session or campaign failed (the job goes on). */
  error: [error: unknown];
}

/** The reason a run's signal aborts with when the job is stopped. */
export class LeaderJobStoppedError extends Error {
  override readonly name = 'LeaderJobStoppedError';
  readonly code = 'LEADER_JOB_STOPPED';
  constructor(readonly job: string) {
    super(`leader job ${job} stopped`);
  }
}

const FAILURE_BACKOFF_MIN_MS = 200;
const FAILURE_BACKOFF_MAX_MS = 5000;

/**
 * Runs a function only while leader of an election (cron workers, single
 * consumers): campaigns, runs `run(signal)` once elected, aborts that signal
 * when leadership is lost (the session is lost, or the leader key is deleted
 * or replaced by someone else), waits for the run to settle, resigns, and
 * campaigns again, until stop(). A lost session is replaced by a new one.
 *
 * ```ts
 * const job = new LeaderJob(client, { name: 'cron/cleanup', run: async (signal) => {
 *   while (!signal.aborted) { await cleanup(signal); await sleep(60_000, signal); }
 * }}).start();
 * ...
 * await job.stop();
 * ```
 *
 * Listen to 'error' to see failures (an EventEmitter without an 'error'
 * listener would throw them; the job keeps a listener of its own, so they
 * are only dropped).
 */
export class LeaderJob extends EventEmitter<LeaderJobEvents> implements AsyncDisposable {
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private leading = false;
  private currentTerm = 0;
  private termsRun = 0;

  constructor(
    readonly client: Client,
    readonly options: LeaderJobOptions,
  ) {
    super();
    // Failures are reported, never thrown at the emitter.
    this.on('error', () => {});
  }

  /** Whether a run is under way as leader. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** The current term (create revision of the leader key) while leader, else 0. */
  get term(): number {
    return this.leading ? this.currentTerm : 0;
  }

  /** How many terms this job has been leader for. */
  get terms(): number {
    return this.termsRun;
  }

  /** Starts campaigning (idempotent). */
  start(): this {
    if (this.stopper.signal.aborted) throw new Error(`leader job ${this.options.name} is stopped`);
    if (!this.loop) {
      const release = holdEventLoop();
      this.loop = this.runLoop().finally(release);
    }
    return this;
  }

  /** Aborts the run, resigns and stops; resolves once everything settled. Idempotent. */
  async stop(): Promise<void> {
    if (!this.stopper.signal.aborted) this.stopper.abort(new LeaderJobStoppedError(this.options.name));
    await this.loop;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private async runLoop(): Promise<void> {
    const stop = this.stopper.signal;
    const value = this.options.value ?? `${hostname()}:${process.pid}`;
    const restartDelay = this.options.restartDelayMs ?? 1000;
    let given = this.options.session;
    let backoff = FAILURE_BACKOFF_MIN_MS;
    while (!stop.aborted) {
      let session: Session | undefined;
      let owned = false;
      try {
        if (given && given.state !== 'lost') {
          session = given;
        } else {
          given = undefined;
          // No signal here: it would orphan the session on stop(), which must revoke it.
          session = await Session.create(this.client, { ttl: this.options.ttl ?? 10 });
          owned = true;
        }
        while (!stop.aborted && session.state !== 'lost') {
          const election = new Election(session, this.options.name);
          await election.campaign(value, { signal: stop });
          backoff = FAILURE_BACKOFF_MIN_MS;
          await this.lead(session, election);
          if (!stop.aborted) await pause(restartDelay, stop);
        }
      } catch (err) {
        if (stop.aborted) break;
        if (!isLeaseLost(err)) this.emit('error', err);
        await pause(backoff, stop);
        backoff = Math.min(FAILURE_BACKOFF_MAX_MS, backoff * 2);
      } finally {
        if (owned && session && (stop.aborted || session.state === 'lost')) await session.close();
      }
    }
  }

  /** One term: runs while leader, then resigns. */
  private async lead(session: Session, election: Election): Promise<void> {
    const term = election.revision;
    const signal = AbortSignal.any([election.signal, this.stopper.signal]);
    this.leading = true;
    this.currentTerm = term;
    this.termsRun++;
    this.emit('elected', term);
    try {
      await this.options.run(signal, { session, election, term });
    } catch (err) {
      if (!signal.aborted) this.emit('error', err);
    } finally {
      this.leading = false;
      const reason: unknown = signal.aborted ? signal.reason : undefined;
      if (session.state !== 'lost') await election.resign({ timeoutMs: 5000 }).catch((err: unknown) => this.emit('error', err));
      this.emit('deposed', term, reason);
    }
  }
}

function isLeaseLost(err: unknown): boolean {
  return err instanceof Error && (err.name === 'LeaseLostError' || (err as { code?: unknown }).code === 'LEASE_NOT_FOUND');
}
