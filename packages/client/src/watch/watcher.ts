import { EventEmitter } from 'node:events';
import { mvccpb } from '@etcd-ts/api';
import { AbortedError } from '../errors.js';
import type { WatchMux } from './watch-mux.js';
import type { WatchCreateBase, WatchResponse } from './watch-options.js';
import { WatchSubscription, type WatchSink } from './watch-subscription.js';

/** Handlers a Watcher calls (`watcher.on(name, handler)`). */
export interface WatcherEvents {
  /** Every event, in revision order. */
  event: [event: mvccpb.Event];
  put: [event: mvccpb.Event];
  delete: [event: mvccpb.Event];
  /** A progress notification: `revision` as in WatchResponse. */
  progress: [revision: number];
  /** The watcher ended with an error (compaction, server cancel, abort, client closed). Terminal. */
  error: [error: Error];
  /** The server confirmed the watch on `endpoint` (first time and after every resume). */
  connected: [endpoint: string];
  /** The stream broke; the watch is being re-created from where it stopped. */
  disconnected: [error: Error, endpoint: string];
}

/** The handler names that consume responses (with 'error', the others are notifications). */
const DATA_EVENTS: ReadonlySet<string | symbol> = new Set(['event', 'put', 'delete', 'progress']);

/** One consumer's queue of responses (an iterator over the watcher): FIFO, amortized O(1). */
class ResponseQueue {
  #items: (WatchResponse | undefined)[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  /** The watcher ended (or the iterator returned): nothing is pushed any more. */
  ended = false;
  push(r: WatchResponse): void {
    this.#items.push(r);
    this.wake();
  }
  shift(): WatchResponse | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const r = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return r;
  }
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
  wake(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  wait(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }
}

/** Ends a watcher with an error (for Watch; not part of the public API). */
export const endWatcher: unique symbol = Symbol('endWatcher');

/** Rethrows a handler's exception outside the delivery path (like an uncaught exception in any callback). */
function reportHandlerError(err: unknown): void {
  process.nextTick(() => {
    throw err;
  });
}

/**
 * A watch on a key or range: an async iterable of WatchResponse batches
 * (`for await (const res of watcher)`), of single events (`events()`), and an
 * EventEmitter ('put', 'delete', 'event', 'progress', 'error', 'connected',
 * 'disconnected').
 *
 * Delivery: every event exactly once, in revision order, across broken
 * connections and member failures (the watch resumes from the revision after
 * the last one delivered). Compaction of that revision ends the watcher with
 * WatchCompactedError.
 *
 * Buffering: each iterator buffers the responses it has not consumed yet,
 * without bound; a slow consumer holds them in memory, the stream is never
 * paused for it (it is shared by every watch of the client). Until a first
 * consumer (an iterator, or a handler for 'event', 'put', 'delete' or
 * 'progress') is attached, responses are held for it.
 *
 * Lifecycle: `close()` (or `Symbol.asyncDispose`, or the `signal` option, or
 * leaving a `for await` loop early) cancels the watch. `closed` resolves once
 * the watcher ended, with the terminal error or undefined; iteration ends
 * after the buffered responses, throwing that error if there is one.
 */
export class Watcher extends EventEmitter<WatcherEvents> implements AsyncIterable<WatchResponse>, AsyncDisposable {
  /** Resolves when the server first confirmed the watch; rejects if the watcher ends before. */
  readonly created: Promise<void>;
  /** Resolves when the watcher has ended: with the terminal error, or undefined after close(). Never rejects. */
  readonly closed: Promise<Error | undefined>;

  readonly #sub: WatchSubscription;
  readonly #mux: WatchMux;
  readonly #queues = new Set<ResponseQueue>();
  /** Responses that arrived while no consumer was attached (or while earlier ones wait to be flushed). */
  readonly #early: WatchResponse[] = [];
  #flushScheduled = false;
  #ended = false;
  #terminal: Error | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void =>
    this.#end(new AbortedError('watch aborted', false, { cause: this.#signal?.reason }));
  #resolveCreated!: () => void;
  #rejectCreated!: (err: Error) => void;
  #resolveClosed!: (err: Error | undefined) => void;

  /** Created by Watch.watch(). */
  constructor(mux: WatchMux, base: WatchCreateBase, startRevision: number, prefixLength: number, signal?: AbortSignal) {
    super();
    this.created = new Promise<void>((resolve, reject) => {
      this.#resolveCreated = resolve;
      this.#rejectCreated = reject;
    });
    this.created.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#mux = mux;
    const sink: WatchSink = {
      connected: (endpoint) => {
        this.#resolveCreated();
        this.#emit('connected', endpoint);
      },
      deliver: (res) => this.#deliver(res),
      disconnected: (err, endpoint) => this.#emit('disconnected', err, endpoint),
      end: (err) => this.#end(err),
    };
    this.#sub = new WatchSubscription(base, startRevision, prefixLength, sink);
    (this as EventEmitter).on('newListener', (name: string | symbol) => {
      if (DATA_EVENTS.has(name)) this.#scheduleFlush();
    });
    this.#signal = signal;
    if (signal?.aborted) {
      this.#onAbort();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    mux.add(this.#sub);
  }

  /**
   * The revision the watch resumes from after a disconnection: every event
   * below it has been delivered (0 until a watch that starts "now" is created).
   */
  get resumeRevision(): number {
    return this.#sub.nextRevision;
  }

  /** Whether the watcher has ended. */
  get isClosed(): boolean {
    return this.#ended;
  }

  /**
   * Asks the server for a progress notification on this watcher's stream
   * (every watch on the stream gets it, as a response with `progress: true`).
   * False when the watch is not on an open stream right now (e.g. resuming).
   *
   * On etcd 3.4 the answer can overtake events of the same revision still
   * being replayed, so the watcher does not resume from it; notifications
   * from `progressNotify` do not have that problem.
   */
  requestProgress(): boolean {
    return this.#sub.stream?.requestProgress() ?? false;
  }

  /** Cancels the watch. Resolves once the watcher has ended. */
  async close(): Promise<void> {
    this.#end(undefined);
    await this.closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Ends the watcher with `err` as if the server or the client had ended it. */
  [endWatcher](err: Error): void {
    this.#end(err);
  }

  /** Responses one batch at a time. Leaving the loop early closes the watcher. */
  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    const q = new ResponseQueue();
    this.#queues.add(q);
    this.#scheduleFlush();
    if (this.#ended) q.ended = true;
    return {
      next: async (): Promise<IteratorResult<WatchResponse>> => {
        for (;;) {
          const r = q.shift();
          if (r !== undefined) return { value: r, done: false };
          // Held responses still to come are flushed into q (it is a consumer) unless it was returned.
          if (q.ended && (this.#early.length === 0 || !this.#queues.has(q))) {
            this.#queues.delete(q);
            if (this.#terminal !== undefined) throw this.#terminal;
            return { value: undefined, done: true };
          }
          await q.wait();
        }
      },
      return: async (): Promise<IteratorResult<WatchResponse>> => {
        q.ended = true;
        q.clear();
        this.#queues.delete(q);
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * Single events (progress notifications skipped). The iterator is attached
   * at once, so it sees everything from now on. Leaving the loop early
   * closes the watcher.
   */
  events(): AsyncIterableIterator<mvccpb.Event> {
    const batches = this[Symbol.asyncIterator]();
    let batch: mvccpb.Event[] = [];
    let i = 0;
    const it: AsyncIterableIterator<mvccpb.Event> = {
      next: async () => {
        while (i >= batch.length) {
          const r = await batches.next();
          if (r.done === true) return { value: undefined, done: true };
          batch = r.value.events;
          i = 0;
        }
        return { value: batch[i++] as mvccpb.Event, done: false };
      },
      return: async () => {
        await batches.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  #hasConsumer(): boolean {
    if (this.#queues.size > 0) return true;
    for (const name of DATA_EVENTS) if (this.listenerCount(name as keyof WatcherEvents) > 0) return true;
    return false;
  }

  #deliver(res: WatchResponse): void {
    if (this.#ended) return;
    // Anything held back goes first, to keep revision order.
    if (this.#early.length > 0 || !this.#hasConsumer()) {
      this.#early.push(res);
      return;
    }
    this.#dispatch(res);
  }

  /** Hands held responses to the consumers attached meanwhile, after the current synchronous code. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#early.length === 0) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      while (this.#early.length > 0 && this.#hasConsumer()) this.#dispatch(this.#early.shift() as WatchResponse);
      if (this.#early.length === 0) for (const q of this.#queues) if (q.ended) q.wake();
    });
  }

  #dispatch(res: WatchResponse): void {
    for (const q of this.#queues) q.push(res);
    if (res.progress) this.#emit('progress', res.revision);
    for (const ev of res.events) {
      this.#emit('event', ev);
      this.#emit(ev.type === mvccpb.Event_EventType.DELETE ? 'delete' : 'put', ev);
    }
  }

  #emit<K extends keyof WatcherEvents>(name: K, ...args: WatcherEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: WatcherEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      reportHandlerError(err);
    }
  }

  #end(err: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#terminal = err;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#mux.remove(this.#sub);
    this.#rejectCreated(err ?? new AbortedError('watch closed before the server confirmed it', false));
    for (const q of this.#queues) {
      q.ended = true;
      q.wake();
    }
    if (err !== undefined && this.listenerCount('error') > 0) this.#emit('error', err);
    this.#resolveClosed(err);
  }
}
