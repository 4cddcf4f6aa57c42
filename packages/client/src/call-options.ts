/** Per-call options accepted by every client method. */
export interface CallOptions {
  /** Cancels the call (and its retries). */
  readonly signal?: AbortSignal | undefined;
  /** Overall time budget for the call, retries included, in ms. Default: the client's callTimeoutMs. */
  readonly timeoutMs?: number | undefined;
  /** Absolute deadline (epoch ms or Date); wins over timeoutMs when earlier. */
  readonly deadline?: Date | number | undefined;
}

/** The absolute deadline (epoch ms) of a call started now. */
export function deadlineOf(opts: CallOptions | undefined, defaultTimeoutMs: number): number {
  const byTimeout = Date.now() + (opts?.timeoutMs ?? defaultTimeoutMs);
  const d = opts?.deadline;
  if (d === undefined) return byTimeout;
  const abs = typeof d === 'number' ? d : d.getTime();
  return Math.min(abs, byTimeout);
}

/** Resolves after ms, or rejects with the signal's reason when it fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
