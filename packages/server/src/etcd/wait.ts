/**
 * Pairs a proposal with the result of applying it. A proposer registers the
 * request ID before proposing; the applier triggers it once the entry carrying
 * that ID is applied. Invariant: each ID is registered at most once at a time, and
 * a trigger for an unregistered ID (an entry proposed by an earlier process or by
 * another member) is ignored.
 */
export class Wait<T> {
  private readonly waiters = new Map<bigint, (value: T) => void>();

  register(id: bigint): Promise<T> {
    if (this.waiters.has(id)) throw new Error(`duplicate wait id ${id.toString(16)}`);
    return new Promise<T>((resolve) => this.waiters.set(id, resolve));
  }

  isRegistered(id: bigint): boolean {
    return this.waiters.has(id);
  }

  trigger(id: bigint, value: T): void {
    const resolve = this.waiters.get(id);
    if (resolve === undefined) return;
    this.waiters.delete(id);
    resolve(value);
  }

  get size(): number {
    return this.waiters.size;
  }
}
