import { toBuffer, type Bytes } from '../codec.js';
import { ClientClosedError } from '../errors.js';
import type { Rpc } from '../rpc.js';
import { WatchMux } from './watch-mux.js';
import { createBase, type WatchOptions } from './watch-options.js';
import { endWatcher, Watcher } from './watcher.js';

export interface WatchInit {
  /**
   * Every watched key and range lives under this prefix, which is stripped
   * from the keys of delivered events (the namespace view of a client).
   */
  readonly keyPrefix?: Buffer | undefined;
}

/**
 * Watches of one client. All watchers share one Watch stream per endpoint
 * connection (normally a single stream), resumed without loss or duplicates
 * after connection failures, on another endpoint when the current one fails.
 */
export class Watch {
  #mux: WatchMux;
  /** Whether this instance owns `#mux` (views made by withPrefix share their parent's). */
  #owner = true;
  readonly #prefix: Buffer;
  /** Watchers made through this instance and not ended (closed by close()). */
  readonly #watchers = new Set<Watcher>();

  constructor(private readonly rpc: Rpc, opts: WatchInit = {}) {
    this.#prefix = opts.keyPrefix ?? Buffer.alloc(0);
    this.#mux = new WatchMux(rpc);
  }

  /** The key prefix of this view (empty for the client itself). */
  get keyPrefix(): Buffer {
    return this.#prefix;
  }

  /** Watch streams open right now (shared by views). */
  get streamCount(): number {
    return this.#mux.streamCount;
  }

  /**
   * Watches `key`, or a range with `prefix`, `rangeEnd` or `fromKey`. Throws
   * ClientClosedError once the client is closed, TypeError / RangeError for
   * invalid options.
   */
  watch(key: Bytes, opts: WatchOptions = {}): Watcher {
    if (this.#mux.closed || this.rpc.isClosed) throw new ClientClosedError();
    const base = createBase(key, opts, this.#prefix);
    const w = new Watcher(this.#mux, base, opts.startRevision ?? 0, this.#prefix.length, opts.signal);
    if (!w.isClosed) {
      this.#watchers.add(w);
      void w.closed.then(() => this.#watchers.delete(w));
    }
    return w;
  }

  /** A view in which every key is under `prefix` (after this view's own prefix); it shares this one's streams. */
  withPrefix(prefix: Bytes): Watch {
    const v = new Watch(this.rpc, { keyPrefix: Buffer.concat([this.#prefix, toBuffer(prefix)]) });
    v.#mux = this.#mux;
    v.#owner = false;
    return v;
  }

  /**
   * Ends the watchers made through this instance with ClientClosedError; the
   * owner (not a withPrefix view) also closes every stream and every watcher
   * of its views.
   */
  async close(): Promise<void> {
    const all = [...this.#watchers].map((w) => w.closed);
    if (this.#owner) {
      this.#mux.close();
    } else {
      // A view's watchers end as the client's would.
      const err = new ClientClosedError();
      for (const w of [...this.#watchers]) w[endWatcher](err);
    }
    await Promise.all(all);
  }
}
