/**
 * Linearizable reads through ReadIndex (Raft §6.4): a read waits until the
 * state machine has applied the commit index that the leader confirmed after
 * the read began. Reads arriving in the same event-loop turn share one
 * ReadIndex request; a request is never shared with reads that began after it
 * was issued.
 */
import { etcdError } from '@etcd-ts/api';
import type { ReadState } from '../raft/types.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export interface LinearizableReadsOptions {
  /** Issues a ReadIndex request carrying ctx. */
  readonly readIndex: (ctx: Uint8Array) => void;
  /** Resolves once a leader is known; rejects after timeoutMs. */
  readonly waitLeader: (timeoutMs: number) => Promise<void>;
  /** Resolves once the applied index is at least index. */
  readonly waitApplied: (index: number) => Promise<void>;
  readonly nextId: () => bigint;
  readonly timeoutMs: number;
}

export class LinearizableReads {
  private collecting: Waiter[] | undefined;
  private readonly inFlight = new Map<string, { ctx: Buffer; waiters: Waiter[]; timer: NodeJS.Timeout }>();

  constructor(private readonly opts: LinearizableReadsOptions) {}

  /** Resolves when a read started now may be served from local state. */
  notify(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.collecting === undefined) {
        this.collecting = [];
        setImmediate(() => this.issue());
      }
      this.collecting.push({ resolve, reject });
    });
  }

  onReadStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const key = Buffer.from(rs.requestCtx).toString('hex');
      const batch = this.inFlight.get(key);
      if (batch === undefined) continue;
      this.inFlight.delete(key);
      clearTimeout(batch.timer);
      this.opts.waitApplied(rs.index).then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
      );
    }
  }

  /** Sends every unanswered request again, e.g. to a new leader. */
  resend(): void {
    for (const batch of this.inFlight.values()) this.send(batch.ctx);
  }

  /** Fails every pending read, e.g. on leader loss or shutdown. */
  failAll(err: unknown): void {
    for (const [key, batch] of this.inFlight) {
      clearTimeout(batch.timer);
      this.inFlight.delete(key);
      batch.waiters.forEach((w) => w.reject(err));
    }
  }

  private issue(): void {
    const waiters = this.collecting ?? [];
    this.collecting = undefined;
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(this.opts.nextId());
    const key = ctx.toString('hex');
    const timer = setTimeout(() => {
      this.inFlight.delete(key);
      waiters.forEach((w) => w.reject(etcdError('TIMEOUT')));
    }, this.opts.timeoutMs);
    timer.unref();
    this.inFlight.set(key, { ctx, waiters, timer });
    this.opts.waitLeader(this.opts.timeoutMs).then(
      () => this.send(ctx),
      () => {}, // the batch's own timer answers the waiters
    );
  }

  private send(ctx: Buffer): void {
    const key = ctx.toString('hex');
    const batch = this.inFlight.get(key);
    if (batch === undefined) return;
    try {
      this.opts.readIndex(ctx);
    } catch (err) {
      clearTimeout(batch.timer);
      this.inFlight.delete(key);
      batch.waiters.forEach((w) => w.reject(err));
    }
  }
}
