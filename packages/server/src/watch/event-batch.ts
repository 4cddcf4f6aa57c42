import type { WatchEvent } from './watch-event.js';
import type { Watcher } from './watcher.js';
import type { WatcherGroup } from './watcher-group.js';

/**
 * Revision-ordered events for one watcher, holding at most maxRevs distinct
 * revisions (etcd's eventBatch with watchBatchMaxRevs).
 */
export class EventBatch {
  readonly evs: WatchEvent[] = [];
  /** Distinct revisions in evs (maxRevs + 1 once the batch is full). */
  revs = 0;
  /** The first revision left out because the batch was full; 0 when nothing was. */
  moreRev = 0;
  readonly #maxRevs: number;

  constructor(maxRevs: number) {
    this.#maxRevs = maxRevs;
  }

  add(ev: WatchEvent): void {
    if (this.revs > this.#maxRevs) return;
    const last = this.evs[this.evs.length - 1];
    if (last === undefined) {
      this.revs = 1;
      this.evs.push(ev);
      return;
    }
    if (ev.modRevision > last.modRevision) {
      this.revs++;
      if (this.revs > this.#maxRevs) {
        this.moreRev = ev.modRevision;
        return;
      }
    }
    this.evs.push(ev);
  }
}

export type WatcherBatch = Map<Watcher, EventBatch>;

/**
 * Maps each watcher of wg to the events of evs it watches and has not seen
 * (modRevision >= minRev), in order.
 */
export function newWatcherBatch(wg: WatcherGroup, evs: readonly WatchEvent[], maxRevs: number): WatcherBatch {
  const wb: WatcherBatch = new Map();
  if (wg.size === 0) return wb;
  for (const ev of evs) {
    wg.forEachWatching(ev.key, (w) => {
      if (ev.modRevision < w.minRev) return;
      let eb = wb.get(w);
      if (eb === undefined) {
        eb = new EventBatch(maxRevs);
        wb.set(w, eb);
      }
      eb.add(ev);
    });
  }
  return wb;
}
