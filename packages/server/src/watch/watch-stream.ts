import type { Watcher, WatchChannel, WatchFilter } from './watcher.js';
import { WatchError } from './watch-error.js';
import type { ControlResponse, StreamItem, WatchResponse } from './watch-response.js';

/** etcd's clientv3.AutoWatchID: the stream picks the ID. */
export const AUTO_WATCH_ID = 0;

/** What a stream needs of the store that owns its watchers (the WatchableStore). */
export interface WatchStreamHost {
  /** The store's current revision. */
  readonly rev: number;
  watch(key: string, end: string | undefined, startRev: number, id: number, ch: WatchChannel, filters: readonly WatchFilter[]): Watcher;
  cancelWatcher(w: Watcher): void;
  progress(w: Watcher): void;
  /** A watch response left a stream queue. */
  channelFreed(): void;
  streamClosed(ws: WatchStream): void;
}

export interface WatchStreamHooks {
  /** Called after an item was queued; the consumer should take() soon. */
  readonly onReady: () => void;
  /** Called once when the store closes the stream (server shutdown). */
  readonly onClose?: () => void;
}

export interface WatchRequestSpec {
  /** 0 (AUTO_WATCH_ID): the stream picks the smallest free ID at or above its cursor. */
  readonly id: number;
  readonly key: Uint8Array;
  /** undefined: the single key; empty: every key >= key; otherwise the exclusive end. */
  readonly end: Uint8Array | undefined;
  /** The first revision to deliver; <= 0 or above the current revision: only future events. */
  readonly startRev: number;
  readonly filters?: readonly WatchFilter[];
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Rough bytes a response holds in memory, for the queue's byte bound. */
function footprint(resp: WatchResponse): number {
  let n = 64;
  for (const ev of resp.events) n += 48 + ev.kv.key.length + ev.kv.value.length;
  return n;
}

/**
 * The watchers of one client stream and the bounded queue their responses
 * wait in until the stream's consumer sends them (etcd's watchStream and its
 * buffered channel).
 *
 * Invariants: at most chanBufLen watch responses are queued, and, beyond the
 * first, no more than chanBufBytes of them; control responses are not bounded
 * here (the consumer stops reading requests while many are queued). Items
 * leave in the order they were queued. After close() nothing is queued.
 */
export class WatchStream implements WatchChannel {
  readonly #store: WatchStreamHost;
  readonly #hooks: WatchStreamHooks;
  readonly #chanBufLen: number;
  readonly #chanBufBytes: number;
  readonly #queue: { readonly item: StreamItem; readonly size: number }[] = [];
  #queuedWatch = 0;
  #queuedControl = 0;
  #queuedBytes = 0;
  #nextId = 0;
  #closed = false;
  readonly #watchers = new Map<number, Watcher>();

  constructor(store: WatchStreamHost, hooks: WatchStreamHooks, chanBufLen: number, chanBufBytes: number) {
    this.#store = store;
    this.#hooks = hooks;
    this.#chanBufLen = chanBufLen;
    this.#chanBufBytes = chanBufBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Number of live watchers. */
  get size(): number {
    return this.#watchers.size;
  }

  /** Queued control responses. */
  get queuedControl(): number {
    return this.#queuedControl;
  }

  /** Queued watch responses. */
  get queuedWatch(): number {
    return this.#queuedWatch;
  }

  /** The store's current revision. */
  rev(): number {
    return this.#store.rev;
  }

  /**
   * Creates a watcher and returns its ID. Fails with ErrEmptyWatcherRange
   * for a range whose end is not above its key (or on a closed stream) and
   * with ErrWatcherDuplicateID for an ID in use.
   */
  watch(spec: WatchRequestSpec): number {
    const end = spec.end;
    if (end !== undefined && end.length !== 0 && Buffer.compare(spec.key, end) >= 0) {
      throw new WatchError('ErrEmptyWatcherRange');
    }
    if (this.#closed) throw new WatchError('ErrEmptyWatcherRange');
    let id = spec.id;
    if (id === AUTO_WATCH_ID) {
      while (this.#watchers.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    } else if (this.#watchers.has(id)) {
      throw new WatchError('ErrWatcherDuplicateID');
    }
    const w = this.#store.watch(latin1(spec.key), end === undefined ? undefined : latin1(end), spec.startRev, id, this, spec.filters ?? []);
    this.#watchers.set(id, w);
    return id;
  }

  /** Cancels a watcher; ErrWatcherNotExist if the stream has none with this ID. */
  cancel(id: number): void {
    const w = this.#watchers.get(id);
    if (w === undefined || this.#closed) throw new WatchError('ErrWatcherNotExist');
    this.#store.cancelWatcher(w);
    this.#watchers.delete(id);
  }

  /** Queues a progress notification for the watcher if it is synced (nothing otherwise). */
  requestProgress(id: number): void {
    const w = this.#watchers.get(id);
    if (w !== undefined) this.#store.progress(w);
  }

  trySend(resp: WatchResponse): boolean {
    if (this.#closed) return false;
    if (this.#queuedWatch >= this.#chanBufLen) return false;
    const size = footprint(resp);
    if (this.#queuedWatch > 0 && this.#queuedBytes + size > this.#chanBufBytes) return false;
    this.#queuedWatch++;
    this.#queuedBytes += size;
    this.#queue.push({ item: { kind: 'watch', resp }, size });
    this.#hooks.onReady();
    return true;
  }

  /** Queues a control response (created, canceled, progress) behind everything already queued. */
  postControl(resp: ControlResponse): void {
    if (this.#closed) return;
    this.#queuedControl++;
    this.#queue.push({ item: { kind: 'control', resp }, size: 0 });
    this.#hooks.onReady();
  }

  /** The oldest queued item, removed from the queue. */
  take(): StreamItem | undefined {
    const q = this.#queue.shift();
    if (q === undefined) return undefined;
    if (q.item.kind === 'control') {
      this.#queuedControl--;
    } else {
      this.#queuedWatch--;
      this.#queuedBytes -= q.size;
      this.#store.channelFreed();
    }
    return q.item;
  }

  /** Cancels every watcher and drops whatever is queued. */
  close(): void {
    if (this.#closed) return;
    for (const w of this.#watchers.values()) this.#store.cancelWatcher(w);
    this.#watchers.clear();
    this.#closed = true;
    this.#queue.length = 0;
    this.#queuedWatch = 0;
    this.#queuedControl = 0;
    this.#queuedBytes = 0;
    this.#store.streamClosed(this);
  }

  /** Closes the stream on behalf of the store and tells the consumer. */
  shutdown(): void {
    if (this.#closed) return;
    this.close();
    this.#hooks.onClose?.();
  }
}
