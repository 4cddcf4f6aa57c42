/**
 * The async iterators of a recipe that publishes values (ConfigWatcher,
 * ServiceDiscovery): each iterator yields what it started with, then what is
 * published while it is open; it ends once `end()` was called and it has
 * yielded what it had queued. Leaving a loop early drops its iterator only.
 */
export class Subscribers<T> {
  private readonly consumers = new Set<{ items: T[]; wake: (() => void) | undefined; ended: boolean }>();
  private ended = false;

  /** Queues `make()` for every open iterator (called once per iterator, so each may get a copy of its own). */
  publish(make: () => T): void {
    for (const c of this.consumers) {
      c.items.push(make());
      c.wake?.();
    }
  }

  /** Ends every iterator, and those made from now on, once their queues are drained. */
  end(): void {
    this.ended = true;
    for (const c of this.consumers) {
      c.ended = true;
      c.wake?.();
    }
  }

  /** An iterator that yields `initial`, then every published value. */
  iterator(initial: T[]): AsyncIterator<T> {
    const c = { items: initial, wake: undefined as (() => void) | undefined, ended: this.ended };
    this.consumers.add(c);
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (c.items.length > 0) return { value: c.items.shift() as T, done: false };
          if (c.ended) {
            this.consumers.delete(c);
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (c.wake = resolve));
          c.wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        this.consumers.delete(c);
        return { value: undefined, done: true };
      },
    };
  }
}
