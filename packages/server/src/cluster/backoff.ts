/**
 * Exponential backoff between dial attempts to a peer: the first delay is
 * minMs, each failure doubles it up to maxMs, and a success resets it. Each
 * delay is jittered down by up to 20% so members do not redial in lockstep.
 * Invariant: minMs <= next() <= maxMs.
 */
export class Backoff {
  private current: number;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(minMs > 0) || !(maxMs >= minMs)) throw new RangeError(`invalid backoff bounds: min ${minMs}, max ${maxMs}`);
    this.current = minMs;
  }

  /** The delay before the next attempt; grows the one after. */
  next(): number {
    const d = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    return Math.max(this.minMs, Math.round(d * (1 - 0.2 * this.random())));
  }

  reset(): void {
    this.current = this.minMs;
  }
}
