import { ErrRaftInvariant } from './errors.js';

/**
 * The last indexes of the MsgApps sent to one follower and not yet
 * acknowledged, in increasing order: a bounded window that limits how many
 * appends the leader pipelines to a follower in StateReplicate.
 */
export class Inflights {
  /** Capacity: at most `size` MsgApps in flight. */
  readonly size: number;
  private start = 0;
  private n = 0;
  /** Ring buffer; the live window is buffer[start .. start+n) modulo size. */
  private readonly buffer: number[];

  constructor(size: number) {
    this.size = size;
    this.buffer = new Array<number>(size).fill(0);
  }

  clone(): Inflights {
    const c = new Inflights(this.size);
    for (let i = 0; i < this.n; i++) c.add(this.at(i));
    return c;
  }

  /** Records a MsgApp whose last entry is `inflight`; indexes must be added in increasing order. */
  add(inflight: number): void {
    if (this.full()) throw new ErrRaftInvariant('cannot add into a full inflights');
    this.buffer[(this.start + this.n) % this.size] = inflight;
    this.n++;
  }

  /** Frees every inflight whose index is at or below `to` (acknowledged by the follower). */
  freeLE(to: number): void {
    if (this.n === 0 || to < this.at(0)) return;
    let i = 0;
    while (i < this.n && this.at(i) <= to) i++;
    this.n -= i;
    this.start = this.n === 0 ? 0 : (this.start + i) % this.size;
  }

  /** Frees the oldest inflight (a heartbeat response proves the follower is alive). */
  freeFirstOne(): void {
    if (this.n > 0) this.freeLE(this.at(0));
  }

  full(): boolean {
    return this.n === this.size;
  }

  count(): number {
    return this.n;
  }

  reset(): void {
    this.n = 0;
    this.start = 0;
  }

  private at(i: number): number {
    return this.buffer[(this.start + i) % this.size]!;
  }
}
