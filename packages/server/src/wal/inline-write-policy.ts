/**
 * Decides whether a WAL batch is written on the event loop (a blocking write)
 * or from the thread pool.
 *
 * A write from the thread pool lets the event loop go on with other work
 * while the disk syncs, at the price of two thread hand-offs, which on an
 * idle machine cost about as much as the sync itself. So a batch is written
 * inline only when nothing else is likely to want the loop: the WAL has been
 * idle for at least `idleMs` (under load the next batch follows the previous
 * one at once) and recent writes took less than `maxWriteMs` on average (a
 * slow disk would stall the loop for as long).
 */
export interface InlineWritePolicyOptions {
  readonly idleMs: number;
  readonly maxWriteMs: number;
}

export const DEFAULT_INLINE_WRITE_POLICY: InlineWritePolicyOptions = { idleMs: 2, maxWriteMs: 1 };

/** Weight of the newest sample in the moving average of write times. */
const EWMA_WEIGHT = 0.2;

export class InlineWritePolicy {
  readonly #opts: InlineWritePolicyOptions;
  /** End of the last write (performance.now() ms); -Infinity before the first. */
  #lastEnd = Number.NEGATIVE_INFINITY;
  /** Moving average of write times in ms; pessimistic until measured. */
  #avgWriteMs: number;

  constructor(opts: InlineWritePolicyOptions = DEFAULT_INLINE_WRITE_POLICY) {
    this.#opts = opts;
    this.#avgWriteMs = opts.maxWriteMs;
  }

  /** Whether a batch starting at `now` should be written inline. */
  inline(now: number): boolean {
    return now - this.#lastEnd >= this.#opts.idleMs && this.#avgWriteMs < this.#opts.maxWriteMs;
  }

  /** Records a completed write, inline or not. */
  wrote(start: number, end: number): void {
    this.#avgWriteMs += EWMA_WEIGHT * (end - start - this.#avgWriteMs);
    this.#lastEnd = end;
  }
}
