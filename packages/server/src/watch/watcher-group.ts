import { IntervalTree } from './interval-tree.js';
import type { Watcher } from './watcher.js';

/**
 * Watchers organised by what they watch (etcd's watcherGroup): single-key
 * watchers in a map by key, range watchers in an interval tree with one set
 * per distinct range. Finding the watchers of a key costs a map lookup and a
 * stab of the tree, never a scan of all watchers.
 *
 * Invariants: a watcher of the group is in watchers and in exactly one of
 * keyWatchers (end undefined) or ranges (end defined); no set in keyWatchers
 * or ranges is empty.
 */
export class WatcherGroup {
  readonly #keyWatchers = new Map<string, Set<Watcher>>();
  readonly #ranges = new IntervalTree<Set<Watcher>>();
  readonly #watchers = new Set<Watcher>();

  get size(): number {
    return this.#watchers.size;
  }

  /** Every watcher of the group (do not add or delete while iterating). */
  get watchers(): ReadonlySet<Watcher> {
    return this.#watchers;
  }

  /** Number of distinct ranges in the interval tree. */
  get rangeCount(): number {
    return this.#ranges.size;
  }

  has(w: Watcher): boolean {
    return this.#watchers.has(w);
  }

  add(w: Watcher): void {
    if (this.#watchers.has(w)) throw new Error('watcher added twice to a watcher group');
    this.#watchers.add(w);
    if (w.end === undefined) {
      const set = this.#keyWatchers.get(w.key);
      if (set === undefined) this.#keyWatchers.set(w.key, new Set([w]));
      else set.add(w);
      return;
    }
    const set = this.#ranges.find(w.key, w.end);
    if (set === undefined) this.#ranges.insert(w.key, w.end, new Set([w]));
    else set.add(w);
  }

  /** Removes w; returns whether it was in the group. */
  delete(w: Watcher): boolean {
    if (!this.#watchers.delete(w)) return false;
    if (w.end === undefined) {
      const set = this.#keyWatchers.get(w.key);
      if (set !== undefined && set.delete(w) && set.size === 0) this.#keyWatchers.delete(w.key);
      return true;
    }
    const set = this.#ranges.find(w.key, w.end);
    if (set !== undefined && set.delete(w) && set.size === 0) this.#ranges.delete(w.key, w.end);
    return true;
  }

  /** Whether some watcher of the group watches key. */
  contains(key: string): boolean {
    return this.#keyWatchers.has(key) || this.#ranges.intersects(key);
  }

  /**
   * Calls fn for every watcher that watches key, each once. fn may delete the
   * watcher it is given from the group.
   */
  forEachWatching(key: string, fn: (w: Watcher) => void): void {
    const set = this.#keyWatchers.get(key);
    if (set !== undefined) for (const w of set) fn(w);
    if (this.#ranges.size === 0) return;
    const sets: Set<Watcher>[] = [];
    this.#ranges.stab(key, (s) => sets.push(s));
    for (const s of sets) for (const w of s) fn(w);
  }

  /**
   * Up to max watchers of the group, as a group of their own (the group
   * itself when it is small enough). etcd's choose, without the compaction
   * handling, which the store does. The chosen watchers move to the back of
   * the iteration order, so successive calls go round all watchers.
   */
  choose(max: number): WatcherGroup {
    if (this.#watchers.size <= max) return this;
    const g = new WatcherGroup();
    for (const w of this.#watchers) {
      if (g.size >= max) break;
      g.add(w);
    }
    for (const w of g.#watchers) {
      this.#watchers.delete(w);
      this.#watchers.add(w);
    }
    return g;
  }
}
