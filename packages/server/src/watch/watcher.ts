import type { WatchEvent } from './watch-event.js';
import type { WatchResponse } from './watch-response.js';

/** Returns true when the event must not reach the watcher (etcd's FilterFunc). */
export type WatchFilter = (ev: WatchEvent) => boolean;

/** Where a watcher's responses go: the bounded queue of its watch stream. */
export interface WatchChannel {
  /** Queues resp unless the channel is full; false means nothing was queued. */
  trySend(resp: WatchResponse): boolean;
}

/**
 * One watcher of a watch stream (etcd's mvcc watcher).
 *
 * Invariants: the watcher is in exactly one of the store's synced group,
 * unsynced group or victim batches while it is live (victim marks the last).
 * Unsynced, it has been sent every matching event below minRev and none at
 * or above it; parked, the same except for its parked batch, whose events
 * are all below minRev; synced, every matching event the store published
 * (minRev, its start, only bounds that from below).
 */
export class Watcher {
  /** The watched key (latin1). */
  readonly key: string;
  /** undefined: the single key; '': every key >= key; otherwise the exclusive range end. */
  readonly end: string | undefined;
  readonly id: number;
  readonly filters: readonly WatchFilter[];
  /** Unsynced or parked: the first revision not yet sent. Synced: the first revision it may receive. */
  minRev: number;
  /** Parked: a batch could not be queued and waits in the store's victims. */
  victim = false;
  /** Canceled by compaction: a response with compactRevision was queued. */
  compacted = false;
  /** undefined once the watcher was canceled. */
  ch: WatchChannel | undefined;

  constructor(key: string, end: string | undefined, id: number, minRev: number, filters: readonly WatchFilter[], ch: WatchChannel) {
    this.key = key;
    this.end = end;
    this.id = id;
    this.minRev = minRev;
    this.filters = filters;
    this.ch = ch;
  }

  /** Whether key is inside the watched key or range. */
  matches(key: string): boolean {
    if (this.end === undefined) return key === this.key;
    return key >= this.key && (this.end === '' || key < this.end);
  }

  /**
   * Queues resp after filtering its events. A response whose events were all
   * filtered out is dropped and counts as sent; a progress notification (no
   * events to begin with) is always queued. Returns false when the channel is
   * full (or the watcher canceled) and nothing was queued.
   */
  send(resp: WatchResponse): boolean {
    const ch = this.ch;
    if (ch === undefined) return false;
    let r = resp;
    if (this.filters.length > 0 && resp.events.length > 0) {
      const kept = resp.events.filter((ev) => !this.filters.some((f) => f(ev)));
      if (kept.length === 0) return true;
      if (kept.length !== resp.events.length) r = { ...resp, events: kept };
    }
    return ch.trySend(r);
  }
}
