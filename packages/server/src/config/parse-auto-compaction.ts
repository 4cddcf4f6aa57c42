import { GoDurationError, parseGoDuration } from './parse-go-duration.js';
import type { AutoCompaction, AutoCompactionMode } from './server-config.js';

export class AutoCompactionError extends Error {
  override readonly name = 'AutoCompactionError';
}

const GO_ATOI_RE = /^[+-]?[0-9]+$/;

/**
 * Resolves --auto-compaction-mode and --auto-compaction-retention as etcd does:
 * a non-negative integer is hours in periodic mode and a revision count in
 * revision mode; anything else must be a Go duration (periodic mode only; etcd
 * would read a duration as nanoseconds of revisions, which is rejected here).
 * Returns null when the retention is zero, which disables auto compaction.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompaction | null {
  if (mode !== 'periodic' && mode !== 'revision') {
    throw new AutoCompactionError(`unknown auto-compaction-mode ${JSON.stringify(mode)}`);
  }
  const m: AutoCompactionMode = mode;
  if (GO_ATOI_RE.test(retention) && Number(retention) >= 0) {
    const n = Number(retention);
    if (!Number.isSafeInteger(n)) {
      throw new AutoCompactionError(`error parsing CompactionRetention: value out of range: ${retention}`);
    }
    if (n === 0) return null;
    return m === 'periodic' ? { mode: m, retentionMs: n * 3_600_000 } : { mode: m, retentionRevisions: n };
  }
  let ms: number;
  try {
    ms = parseGoDuration(retention);
  } catch (e) {
    if (e instanceof GoDurationError) throw new AutoCompactionError(`error parsing CompactionRetention: ${e.message}`);
    throw e;
  }
  if (m === 'revision') {
    throw new AutoCompactionError(
      `--auto-compaction-retention=${JSON.stringify(retention)} must be a non-negative revision count when --auto-compaction-mode=revision`,
    );
  }
  if (ms < 0) throw new AutoCompactionError(`--auto-compaction-retention=${JSON.stringify(retention)} must not be negative`);
  if (ms === 0) return null;
  return { mode: m, retentionMs: ms };
}
