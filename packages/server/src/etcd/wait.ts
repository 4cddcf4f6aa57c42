/**
 * Pairs a proposal with the result of applying it. A proposer registers the
 * request ID, with a deadline, before proposing; the applier triggers it once
 * the entry carrying that ID is applied, and a periodic sweep resolves the
 * waits past their deadline with the timeout value instead (one timer for all
 * proposals rather than one each).
 *
 * Invariants: each ID is registered at most once at a time; a registration is
 * resolved exactly once; a trigger for an unregistered ID (an entry proposed by
 * an earlier process or by another member) is ignored.
 */
export class Wait<T> {
  /** Insertion order is registration order. */
  private readonly waiters = new Map<bigint, { resolve: (value: T) => void; deadline: number }>();

  register(id: bigint, deadline = Infinity): Promise<T> {
    if (this.waiters.has(id)) throw new Error(`duplicate wait id ${id.toString(16)}`);
    return new Promise<T>((resolve) => this.waiters.set(id, { resolve, deadline }));
  }

  isRegistered(id: bigint): boolean {
    return this.waiters.has(id);
  }

  trigger(id: bigint, value: T): void {
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    w.resolve(value);
  }

  /** Resolves every wait whose deadline is at or before now with value. */
  expire(now: number, value: T): void {
    for (const [id, w] of this.waiters) {
      if (w.deadline <= now) {
        this.waiters.delete(id);
        w.resolve(value);
      }
    }
  }

  get size(): number {
    return this.waiters.size;
  }
}
