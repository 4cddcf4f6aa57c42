import { hasRetryFacts } from './errors.js';

/**
 * How a request may be repeated after a failure:
 * - 'idempotent': reads, and lease calls (a repeated Grant at worst leaves an
 *   extra lease to expire): retried whenever the error is transient.
 * - 'mutation': Put, DeleteRange, Txn, Compact and every other write: retried
 *   only when the error proves the request was never applied (it never left
 *   the client, or the server refused it before acting). Never a double apply.
 */
export type RetryKind = 'idempotent' | 'mutation';

/** Backoff between attempts (p-retry options). */
export interface RetryPolicy {
  /** Attempts after the first. Default 8. The call's deadline bounds them too. */
  readonly retries?: number;
  /** First delay, ms. Default 50. */
  readonly minDelayMs?: number;
  /** Largest delay, ms. Default 1,000. */
  readonly maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = { retries: 8, minDelayMs: 50, maxDelayMs: 1_000 };

/** Whether a request of `kind` that failed with err may be sent again. */
export function isRetryable(kind: RetryKind, err: unknown): boolean {
  if (!hasRetryFacts(err)) return false;
  if ('reauth' in err && err.reauth) return true;
  return kind === 'idempotent' ? err.transient : err.retrySafe;
}
