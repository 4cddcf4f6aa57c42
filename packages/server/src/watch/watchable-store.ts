/**
 * The watchable store (etcd's watchableStore): delivers the store's changes
 * to watchers.
 *
 * - synced watchers have seen everything up to the store's revision; each
 *   published write transaction is matched to them through the synced
 *   group's key map and interval tree (notify).
 * - unsynced watchers are behind (they started in the past, or were parked
 *   and resumed); syncWatchers() reads history from the key bucket from the
 *   smallest minRev among up to maxWatchersPerSync of them and sends each
 *   at most watchBatchMaxRevs revisions per round, until they reach the
 *   store's revision and join the synced group. A watcher whose minRev is
 *   below the compacted revision is canceled with compact_revision instead.
 * - victims are watchers whose stream queue was full: their undelivered
 *   batch is parked here (nothing is dropped) and offered again whenever a
 *   stream queue frees a slot; once delivered, the watcher rejoins the
 *   unsynced group and catches up from history. Memory stays bounded: a
 *   victim holds one batch, a stream queue holds at most chanBufLen
 *   responses, and history is read in bounded pieces.
 *
 * Changes are buffered as the store's write transactions end and delivered
 * by publish(), which the caller invokes once the backend transaction that
 * holds them has committed; discardPending() drops them when it failed.
 * restore() switches to a store installed from a leader's snapshot, keeping
 * every stream and watcher.
 *
 * Invariants: every live watcher is in exactly one of synced, unsynced or a
 * victim batch; events reach each watcher in revision order, each once; a
 * synced watcher's minRev is above every revision already published to it.
 */
import type { KeyValue } from '../mvcc/key-value-codec.js';
import type { KVStore } from '../mvcc/kv-store.js';
import { EventBatch, newWatcherBatch, type WatcherBatch } from './event-batch.js';
import { eventOfHistory, eventsOfChanges, type WatchEvent } from './watch-event.js';
import type { WatchResponse } from './watch-response.js';
import { WatchStream, type WatchStreamHooks, type WatchStreamHost } from './watch-stream.js';
import { Watcher, type WatchChannel, type WatchFilter } from './watcher.js';
import { WatcherGroup } from './watcher-group.js';

export interface WatchableStoreOptions {
  /** Watch responses a stream may queue (etcd's chanBufLen). */
  readonly chanBufLen?: number;
  /** Bytes of queued watch responses beyond which a stream takes no more (one response always fits). */
  readonly chanBufBytes?: number;
  /** Unsynced watchers served per sync round (etcd's maxWatchersPerSync). */
  readonly maxWatchersPerSync?: number;
  /** Distinct revisions per catch-up response (etcd's watchBatchMaxRevs). */
  readonly watchBatchMaxRevs?: number;
  /** History records read per sync round; a revision is never split. */
  readonly maxEventsPerSync?: number;
  /** Pause between sync rounds that made no progress (etcd: 100 ms). */
  readonly syncIntervalMs?: number;
}

const DEFAULTS = {
  chanBufLen: 128,
  chanBufBytes: 16 * 1024 * 1024,
  maxWatchersPerSync: 512,
  watchBatchMaxRevs: 1000,
  maxEventsPerSync: 10_000,
  syncIntervalMs: 100,
};

export interface WatchableStoreStats {
  readonly synced: number;
  readonly unsynced: number;
  readonly victims: number;
  readonly streams: number;
  readonly syncedRanges: number;
}

export class WatchableStore implements WatchStreamHost {
  #kv: KVStore;
  readonly #opts: typeof DEFAULTS;
  readonly #synced = new WatcherGroup();
  readonly #unsynced = new WatcherGroup();
  #victims: WatcherBatch[] = [];
  /** Write transactions that ended but are not published yet, in revision order. */
  #pending: { rev: number; changes: readonly KeyValue[] }[] = [];
  /** Every revision up to this one has been published: synced watchers have seen it. */
  #publishedRev: number;
  readonly #streams = new Set<WatchStream>();
  #syncTimer: NodeJS.Timeout | undefined;
  #syncImmediate: NodeJS.Immediate | undefined;
  #victimImmediate: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(kv: KVStore, opts: WatchableStoreOptions = {}) {
    this.#kv = kv;
    this.#publishedRev = kv.currentRev;
    this.#opts = { ...DEFAULTS, ...opts };
    this.#listen(kv);
  }

  /** The store whose changes are delivered. */
  get kv(): KVStore {
    return this.#kv;
  }

  #listen(kv: KVStore): void {
    kv.setWriteListener((rev, changes) => {
      this.#pending.push({ rev, changes });
    });
  }

  /**
   * Switches to a store restored from a leader's snapshot (etcd's Restore).
   * Unpublished changes are dropped; every synced watcher becomes unsynced
   * and catches up from the new store's history (or learns that its next
   * revision was compacted). Streams and watchers are kept.
   */
  restore(kv: KVStore): void {
    this.#kv.setWriteListener(undefined);
    this.#kv = kv;
    this.#listen(kv);
    this.#pending = [];
    const seen = this.#publishedRev;
    this.#publishedRev = kv.currentRev;
    for (const w of [...this.#synced.watchers]) {
      // A synced watcher has seen every published revision.
      w.minRev = Math.max(w.minRev, seen + 1);
      this.#synced.delete(w);
      this.#unsynced.add(w);
    }
    if (this.#unsynced.size > 0) this.#scheduleSync(true);
  }

  /** The store's current revision. */
  get rev(): number {
    return this.#kv.currentRev;
  }

  get stats(): WatchableStoreStats {
    let victims = 0;
    for (const wb of this.#victims) victims += wb.size;
    return {
      synced: this.#synced.size,
      unsynced: this.#unsynced.size,
      victims,
      streams: this.#streams.size,
      syncedRanges: this.#synced.rangeCount,
    };
  }

  newWatchStream(hooks: WatchStreamHooks): WatchStream {
    const ws = new WatchStream(this, hooks, this.#opts.chanBufLen, this.#opts.chanBufBytes);
    if (this.#closed) ws.close();
    else this.#streams.add(ws);
    return ws;
  }

  /**
   * Adds a watcher (called by its stream). startRev 0 or above the current
   * revision: synced, from max(startRev, current + 1). Otherwise unsynced,
   * from startRev.
   */
  watch(key: string, end: string | undefined, startRev: number, id: number, ch: WatchChannel, filters: readonly WatchFilter[]): Watcher {
    const curRev = this.#kv.currentRev;
    const synced = startRev > curRev || startRev === 0;
    const minRev = synced ? Math.max(curRev + 1, startRev) : startRev;
    const w = new Watcher(key, end, id, minRev, filters, ch);
    if (synced) {
      this.#synced.add(w);
    } else {
      this.#unsynced.add(w);
      this.#scheduleSync(true);
    }
    return w;
  }

  /** Removes the watcher from wherever it is; it receives nothing more. */
  cancelWatcher(w: Watcher): void {
    if (!this.#unsynced.delete(w) && !this.#synced.delete(w) && w.victim) {
      for (const wb of this.#victims) if (wb.delete(w)) break;
    }
    w.victim = false;
    w.ch = undefined;
  }

  /** Queues a progress notification (no events, the current revision) for a synced watcher. */
  progress(w: Watcher): void {
    if (this.#synced.has(w)) w.send({ watchId: w.id, events: [], revision: this.#kv.currentRev, compactRevision: 0 });
  }

  /** Delivers the write transactions that ended since the last publish(), in order. */
  publish(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) {
      this.#notify(p.rev, eventsOfChanges(p.changes));
      this.#publishedRev = p.rev;
    }
  }

  /** Forgets unpublished changes (their backend transaction did not commit). */
  discardPending(): void {
    this.#pending = [];
  }

  /** Closes every stream (their consumers are told) and stops the background work. */
  close(): void {
    this.#closed = true;
    this.#clearSync();
    if (this.#victimImmediate !== undefined) clearImmediate(this.#victimImmediate);
    this.#victimImmediate = undefined;
    for (const ws of [...this.#streams]) ws.shutdown();
    this.#pending = [];
  }

  /** A stream queue gave up a slot: parked batches may fit now. */
  channelFreed(): void {
    if (this.#victims.length === 0 || this.#victimImmediate !== undefined || this.#closed) return;
    this.#victimImmediate = setImmediate(() => {
      this.#victimImmediate = undefined;
      this.#moveVictims();
    });
  }

  streamClosed(ws: WatchStream): void {
    this.#streams.delete(ws);
  }

  /** Matches one revision's events to the synced watchers and queues their responses. */
  #notify(rev: number, evs: readonly WatchEvent[]): void {
    if (this.#synced.size === 0) return;
    let victims: WatcherBatch | undefined;
    const park = (w: Watcher, eb: EventBatch): void => {
      w.minRev = rev + 1;
      w.victim = true;
      (victims ??= new Map()).set(w, eb);
    };
    if (evs.length === 1) {
      // One event: every watcher gets the same event list, no batch map.
      const ev = evs[0]!;
      const list = [ev];
      this.#synced.forEachWatching(ev.key, (w) => {
        if (ev.modRevision < w.minRev) return;
        if (!w.send({ watchId: w.id, events: list, revision: rev, compactRevision: 0 })) {
          const eb = new EventBatch(this.#opts.watchBatchMaxRevs);
          eb.add(ev);
          park(w, eb);
        }
      });
    } else {
      for (const [w, eb] of newWatcherBatch(this.#synced, evs, this.#opts.watchBatchMaxRevs)) {
        if (eb.revs !== 1) throw new Error(`watch notification spans ${eb.revs} revisions`);
        if (!w.send({ watchId: w.id, events: eb.evs, revision: rev, compactRevision: 0 })) park(w, eb);
      }
    }
    if (victims !== undefined) {
      for (const w of victims.keys()) this.#synced.delete(w);
      this.#addVictims(victims);
    }
  }

  #addVictims(wb: WatcherBatch): void {
    if (wb.size === 0) return;
    this.#victims.push(wb);
  }

  /**
   * Offers every parked batch again (etcd's moveVictims). A watcher whose
   * batch was queued rejoins the unsynced group (or the synced one when it
   * is level with the store). Returns how many batches were delivered.
   */
  #moveVictims(): number {
    const victims = this.#victims;
    this.#victims = [];
    let moved = 0;
    let stillParked: WatcherBatch | undefined;
    let toUnsynced = false;
    for (const wb of victims) {
      for (const [w, eb] of wb) {
        const resp: WatchResponse = { watchId: w.id, events: eb.evs, revision: w.minRev - 1, compactRevision: 0 };
        if (w.send(resp)) moved++;
        else (stillParked ??= new Map()).set(w, eb);
      }
      const curRev = this.#kv.currentRev;
      for (const [w, eb] of wb) {
        if (stillParked?.has(w) === true) continue;
        w.victim = false;
        if (eb.moreRev !== 0) w.minRev = eb.moreRev;
        if (w.minRev <= curRev) {
          this.#unsynced.add(w);
          toUnsynced = true;
        } else {
          this.#synced.add(w);
        }
      }
    }
    if (stillParked !== undefined) this.#victims.push(stillParked);
    if (toUnsynced) this.#scheduleSync(true);
    return moved;
  }

  #clearSync(): void {
    if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
    if (this.#syncImmediate !== undefined) clearImmediate(this.#syncImmediate);
    this.#syncTimer = undefined;
    this.#syncImmediate = undefined;
  }

  /** Runs syncWatchers soon: at the next turn of the event loop (now) or after syncIntervalMs. */
  #scheduleSync(now: boolean): void {
    if (this.#closed || this.#syncImmediate !== undefined) return;
    if (now) {
      if (this.#syncTimer !== undefined) clearTimeout(this.#syncTimer);
      this.#syncTimer = undefined;
      this.#syncImmediate = setImmediate(() => this.#syncLoop());
    } else if (this.#syncTimer === undefined) {
      this.#syncTimer = setTimeout(() => this.#syncLoop(), this.#opts.syncIntervalMs);
      this.#syncTimer.unref();
    }
  }

  #syncLoop(): void {
    this.#syncImmediate = undefined;
    this.#syncTimer = undefined;
    if (this.#closed || this.#unsynced.size === 0) return;
    const progressed = this.syncWatchers();
    if (this.#unsynced.size > 0) this.#scheduleSync(progressed);
  }

  /**
   * One round of catching up (etcd's syncWatchers): up to maxWatchersPerSync
   * unsynced watchers get the history from their minRev, at most
   * watchBatchMaxRevs revisions each. Returns whether anything moved: a
   * response queued, a watcher canceled by compaction or synced.
   */
  syncWatchers(): boolean {
    if (this.#unsynced.size === 0) return false;
    const curRev = this.#kv.currentRev;
    const compactRev = this.#kv.compactRev;
    const wg = this.#unsynced.choose(this.#opts.maxWatchersPerSync);
    const chosen = [...wg.watchers];
    let progressed = false;
    let minRev = Number.POSITIVE_INFINITY;
    const waiting: Watcher[] = [];
    for (const w of chosen) {
      if (w.minRev < compactRev) {
        // Canceled once the compaction response is queued; until then it waits here.
        if (w.send({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev })) {
          w.compacted = true;
          this.#unsynced.delete(w);
          progressed = true;
        }
        continue;
      }
      if (w.minRev < minRev) minRev = w.minRev;
      waiting.push(w);
    }
    if (waiting.length === 0) return progressed;

    const { events, endRev } = this.#readHistory(minRev, curRev);
    const group = wg === this.#unsynced && waiting.length === chosen.length ? wg : groupOf(waiting);
    const wb = newWatcherBatch(group, events, this.#opts.watchBatchMaxRevs);
    let victims: WatcherBatch | undefined;
    for (const w of waiting) {
      const next = Math.max(w.minRev, endRev);
      const eb = wb.get(w);
      if (eb === undefined) {
        if (next > w.minRev) progressed = true;
        w.minRev = next;
        if (next > curRev) {
          this.#unsynced.delete(w);
          this.#synced.add(w);
        }
        continue;
      }
      w.minRev = eb.moreRev !== 0 ? eb.moreRev : next;
      if (w.send({ watchId: w.id, events: eb.evs, revision: curRev, compactRevision: 0 })) {
        progressed = true;
        if (w.minRev > curRev) {
          this.#unsynced.delete(w);
          this.#synced.add(w);
        }
      } else {
        w.victim = true;
        (victims ??= new Map()).set(w, eb);
        this.#unsynced.delete(w);
      }
    }
    if (victims !== undefined) this.#addVictims(victims);
    return progressed;
  }

  /**
   * The events of revisions [from, curRev], or of a prefix of them holding
   * about maxEventsPerSync records; endRev is the first revision not read.
   * A revision is never split, however many events it has.
   */
  #readHistory(from: number, curRev: number): { events: WatchEvent[]; endRev: number } {
    const cap = this.#opts.maxEventsPerSync;
    let raw = this.#kv.events(from, curRev + 1, cap);
    let endRev = curRev + 1;
    if (raw.length >= cap && raw.length > 0) {
      const first = raw[0]!.kv.modRevision;
      const last = raw[raw.length - 1]!.kv.modRevision;
      if (first === last) {
        raw = this.#kv.events(first, first + 1);
        endRev = first + 1;
      } else {
        let n = raw.length;
        while (n > 0 && raw[n - 1]!.kv.modRevision === last) n--;
        raw = raw.slice(0, n);
        endRev = last;
      }
    }
    const events = new Array<WatchEvent>(raw.length);
    for (let i = 0; i < raw.length; i++) events[i] = eventOfHistory(raw[i]!);
    return { events, endRev };
  }
}

function groupOf(ws: readonly Watcher[]): WatcherGroup {
  const g = new WatcherGroup();
  for (const w of ws) g.add(w);
  return g;
}
