/**
 * The applied index and the reads waiting for it. Invariant: a waiter for index
 * i is resolved exactly once, as soon as the applied index reaches i.
 */
export class AppliedIndex {
  private value: number;
  private waiters: { index: number; resolve: () => void }[] = [];

  constructor(initial: number) {
    this.value = initial;
  }

  get current(): number {
    return this.value;
  }

  advance(index: number): void {
    if (index <= this.value) return;
    this.value = index;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.index <= index) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  wait(index: number): Promise<void> {
    if (index <= this.value) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }
}
