/**
 * Automatic compaction with etcd 3.4's two policies (etcdserver/api/v3compactor):
 *
 * - periodic(retention R): every R/10 (R capped at 1 h for the interval) the
 *   current revision is sampled; once R has passed since the last compaction
 *   (then every min(R, 1 h)), the store is compacted to the oldest sample, the
 *   revision of about R ago. History of the last R is kept.
 * - revision(retention N): every 5 minutes, compacts to current - N when that
 *   moved since the last compaction. The newest N revisions are kept.
 *
 * Compactions go through the log like a client's Compact; an already-compacted
 * revision counts as success.
 */
import { isEtcdError } from '@etcd-ts/api';
import type { Logger } from 'pino';
import type { AutoCompaction } from '../config/server-config.js';

const HOUR_MS = 3_600_000;
const RETRY_DIVISOR = 10;
/** etcd's revInterval for the revision policy. */
export const REVISION_POLICY_INTERVAL_MS = 5 * 60_000;

export interface Compactable {
  currentRevision(): number;
  compact(revision: number): Promise<void>;
}

export class AutoCompactor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly policy: AutoCompaction,
    private readonly target: Compactable,
    private readonly log: Logger,
    private readonly revisionIntervalMs = REVISION_POLICY_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.policy.mode === 'periodic') this.runPeriodic(this.policy.retentionMs);
    else this.runRevision(this.policy.retentionRevisions);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(ms: number, fn: () => Promise<void> | void): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void Promise.resolve(fn()).catch((err: unknown) => this.log.warn({ err }, 'auto compaction failed'));
    }, ms);
    this.timer.unref();
  }

  private runPeriodic(periodMs: number): void {
    const capped = Math.min(periodMs, HOUR_MS);
    const retryMs = Math.max(1, Math.floor(capped / RETRY_DIVISOR));
    const retentions = Math.floor(periodMs / retryMs) + 1;
    // revs[0] is always the revision of about one period ago.
    const revs: number[] = [];
    let lastSuccess = Date.now();
    let baseInterval = periodMs;
    const step = async (): Promise<void> => {
      if (Date.now() - lastSuccess >= baseInterval) {
        baseInterval = capped;
        const rev = revs[0];
        if (rev !== undefined && (await this.compact(rev))) lastSuccess = Date.now();
      }
      sample();
    };
    const sample = (): void => {
      revs.push(this.target.currentRevision());
      if (revs.length > retentions) revs.shift();
      this.schedule(retryMs, step);
    };
    sample();
  }

  private runRevision(retention: number): void {
    let prev = 0;
    const step = async (): Promise<void> => {
      const rev = this.target.currentRevision() - retention;
      if (rev > 0 && rev !== prev && (await this.compact(rev))) prev = rev;
      this.schedule(this.revisionIntervalMs, step);
    };
    this.schedule(this.revisionIntervalMs, step);
  }

  private async compact(rev: number): Promise<boolean> {
    this.log.info({ revision: rev, policy: this.policy.mode }, 'starting auto compaction');
    try {
      await this.target.compact(rev);
    } catch (err) {
      if (!isEtcdError(err, 'COMPACTED')) {
        this.log.warn({ err, revision: rev }, 'auto compaction failed; will retry');
        return false;
      }
    }
    this.log.info({ revision: rev }, 'completed auto compaction');
    return true;
  }
}
