import { setTimeout as delay } from 'node:timers/promises';

/** Thrown by a probe to end the wait at once (the condition can no longer become true). */
export class WaitAborted extends Error {}

export interface WaitForOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between two polls. */
  intervalMs?: number;
  /** Describes the condition in the timeout error. */
  what: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined` (or `false`),
 * or throws once the deadline passes. A throwing probe counts as "not yet";
 * its last error is attached to the timeout error. A `WaitAborted` error ends
 * the wait immediately.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof WaitAborted) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms (${attempt + 1} polls) waiting for ${opts.what}${suffix}`);
    }
    await delay(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

/** Rejects with a descriptive error if `p` does not settle within `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
