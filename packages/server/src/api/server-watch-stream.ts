/**
 * One Watch RPC (etcd's serverWatchStream): turns the client's create,
 * cancel and progress requests into operations on a WatchStream, and sends
 * the stream's queued responses to the client in order, as fast as the
 * client reads them.
 *
 * Flow control: a response is taken from the WatchStream queue only while
 * the MessageWriter accepts more (few enough writes wait for HTTP/2), so a
 * client that stops reading leaves responses in the bounded queue, and the
 * store parks the watchers whose responses no longer fit
 * (they resume from history once the client reads again). Requests stop
 * being read while more than CTRL_STREAM_BUF_LEN control responses wait.
 *
 * As in etcd, a client that half-closes keeps receiving events until it
 * cancels the call.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { etcdError, etcdserverpb, mvccpb, PreEncoded } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { EVENT_DELETE, EVENT_PUT, type WatchEvent } from '../watch/watch-event.js';
import { WatchError } from '../watch/watch-error.js';
import type { ControlResponse, StreamItem, WatchResponse } from '../watch/watch-response.js';
import type { WatchStream } from '../watch/watch-stream.js';
import type { WatchFilter } from '../watch/watcher.js';
import { MessageWriter } from './message-writer.js';
import { failStream } from './to-grpc-error.js';

/** etcd's ctrlStreamBufLen. */
export const CTRL_STREAM_BUF_LEN = 16;
/** etcd's clientv3.InvalidWatchID. */
export const INVALID_WATCH_ID = -1;

export type WatchCall = ServerDuplexStream<etcdserverpb.WatchRequest, Buffer>;

export interface ServerWatchStreamOptions {
  /** Responses above this size are split when the watcher asked for fragments (max request bytes + gRPC overhead). */
  readonly maxFragmentBytes: number;
  /** Progress notification period before jitter. */
  readonly progressIntervalMs: number;
  /** Called once when the stream is done. */
  readonly onDone?: () => void;
}

const ZERO_KEY = Buffer.from([0]);
const EMPTY = Buffer.alloc(0);

const filterNoPut: WatchFilter = (ev) => ev.type === EVENT_PUT;
const filterNoDelete: WatchFilter = (ev) => ev.type === EVENT_DELETE;

function filtersFromRequest(types: readonly number[]): WatchFilter[] {
  const out: WatchFilter[] = [];
  for (const t of types) {
    if (t === etcdserverpb.WatchCreateRequest_FilterType.NOPUT) out.push(filterNoPut);
    else if (t === etcdserverpb.WatchCreateRequest_FilterType.NODELETE) out.push(filterNoDelete);
  }
  return out;
}

/**
 * Response headers are the same for every response of a revision and term:
 * the last one encoded is kept.
 */
class HeaderCache {
  #rev = -1;
  #term = -1;
  #value: PreEncoded | undefined;
  constructor(private readonly s: EtcdServer) {}

  get(rev: number): PreEncoded {
    const term = this.s.term;
    if (this.#value === undefined || rev !== this.#rev || term !== this.#term) {
      this.#value = new PreEncoded(
        etcdserverpb.ResponseHeader.encode({ clusterId: this.s.clusterId, memberId: this.s.memberId, revision: rev, raftTerm: term }),
      );
      this.#rev = rev;
      this.#term = term;
    }
    return this.#value;
  }
}

const headerCaches = new WeakMap<EtcdServer, HeaderCache>();

function headerCache(s: EtcdServer): HeaderCache {
  let c = headerCaches.get(s);
  if (c === undefined) {
    c = new HeaderCache(s);
    headerCaches.set(s, c);
  }
  return c;
}

export class ServerWatchStream {
  readonly #s: EtcdServer;
  readonly #call: WatchCall;
  readonly #opts: ServerWatchStreamOptions;
  readonly #ws: WatchStream;
  readonly #headers: HeaderCache;
  readonly #writer: MessageWriter;
  /** Watch IDs with progress_notify; false once events were sent since the last tick (etcd elides that tick). */
  readonly #progress = new Map<number, boolean>();
  readonly #prevKv = new Set<number>();
  readonly #fragment = new Set<number>();
  #progressTimer: NodeJS.Timeout | undefined;
  #pumpScheduled = false;
  /** The writer pushed back: nothing more is written until it says so. */
  #blocked = false;
  #readPaused = false;
  #done = false;

  constructor(s: EtcdServer, call: WatchCall, opts: ServerWatchStreamOptions) {
    this.#s = s;
    this.#call = call;
    this.#opts = opts;
    this.#headers = headerCache(s);
    this.#ws = s.watchable.newWatchStream({
      onReady: () => this.#schedulePump(),
      onClose: () => this.#fail(etcdError('STOPPED')),
    });
    this.#writer = new MessageWriter(call, () => {
      this.#blocked = false;
      this.#pump();
    });
    call.on('data', (req: etcdserverpb.WatchRequest) => this.#onRequest(req));
    call.on('cancelled', () => this.#close());
    call.on('error', () => this.#close());
    call.on('close', () => this.#close());
    if (this.#ws.closed) this.#fail(etcdError('STOPPED'));
  }

  #onRequest(req: etcdserverpb.WatchRequest): void {
    if (this.#done) return;
    try {
      if (req.createRequest !== undefined) this.#create(req.createRequest);
      else if (req.cancelRequest !== undefined) this.#cancel(req.cancelRequest.watchId);
      else if (req.progressRequest !== undefined) {
        this.#control({ watchId: INVALID_WATCH_ID, created: false, canceled: false, cancelReason: '', revision: this.#ws.rev() });
      }
      // Anything else is ignored, as etcd does, rather than ending the stream.
    } catch (err) {
      // Not a refusal etcd would answer in band: the stream ends with the error's status.
      this.#fail(err);
    }
  }

  #create(creq: etcdserverpb.WatchCreateRequest): void {
    // etcd: an empty key is the smallest key; an empty range end means the
    // single key, and a range end of one zero byte means every key >= key.
    const key = creq.key.length === 0 ? ZERO_KEY : Buffer.from(creq.key);
    let end: Buffer | undefined;
    if (creq.rangeEnd.length === 0) end = undefined;
    else if (creq.rangeEnd.length === 1 && creq.rangeEnd[0] === 0) end = EMPTY;
    else end = Buffer.from(creq.rangeEnd);
    const wsrev = this.#ws.rev();
    const startRev = creq.startRevision === 0 ? wsrev + 1 : creq.startRevision;
    let id: number;
    let cancelReason = '';
    try {
      id = this.#ws.watch({ id: creq.watchId, key, end, startRev, filters: filtersFromRequest(creq.filters) });
      if (creq.progressNotify) {
        this.#progress.set(id, true);
        this.#startProgressTicker();
      }
      if (creq.prevKv) this.#prevKv.add(id);
      if (creq.fragment) this.#fragment.add(id);
    } catch (err) {
      if (!(err instanceof WatchError)) throw err;
      id = INVALID_WATCH_ID;
      cancelReason = err.message;
    }
    this.#control({ watchId: id, created: true, canceled: cancelReason !== '', cancelReason, revision: wsrev });
  }

  #cancel(id: number): void {
    try {
      this.#ws.cancel(id);
    } catch (err) {
      if (err instanceof WatchError) return;
      throw err;
    }
    this.#control({ watchId: id, created: false, canceled: true, cancelReason: '', revision: this.#ws.rev() });
    this.#progress.delete(id);
    this.#prevKv.delete(id);
    this.#fragment.delete(id);
  }

  #control(resp: ControlResponse): void {
    this.#ws.postControl(resp);
    if (this.#ws.queuedControl >= CTRL_STREAM_BUF_LEN && !this.#readPaused) {
      this.#readPaused = true;
      this.#call.pause();
    }
  }

  #startProgressTicker(): void {
    if (this.#progressTimer !== undefined || this.#done) return;
    // etcd adds up to a tenth of jitter so that watchers created together do not report together.
    const interval = this.#opts.progressIntervalMs;
    const period = interval + Math.floor(Math.random() * Math.max(1, Math.floor(interval / 10)));
    this.#progressTimer = setInterval(() => {
      for (const [id, due] of this.#progress) {
        if (due) this.#ws.requestProgress(id);
        this.#progress.set(id, true);
      }
    }, period);
    this.#progressTimer.unref();
  }

  /**
   * Sends what was queued once the code that queued it has run to its end: an
   * apply batch's notifications reach every watcher first, then each stream
   * hands its share to HTTP/2 in one go, ahead of the responses to the writes
   * of that batch (which continue in later microtasks). HTTP/2 puts all of
   * it on the wire in the same turn of the event loop.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled || this.#blocked || this.#done) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Sends queued responses until the queue is empty or gRPC pushes back. */
  #pump(): void {
    while (!this.#blocked && !this.#done) {
      const item = this.#ws.take();
      if (item === undefined) break;
      if (!this.#send(item)) this.#blocked = true;
    }
    if (this.#readPaused && this.#ws.queuedControl < CTRL_STREAM_BUF_LEN && !this.#done) {
      this.#readPaused = false;
      this.#call.resume();
    }
  }

  /** Writes one item; false when the writer pushed back (wait until it is writable again). */
  #send(item: StreamItem): boolean {
    if (item.kind === 'control') {
      const r = item.resp;
      return this.#write(
        etcdserverpb.WatchResponse.encode({
          header: this.#headers.get(r.revision),
          watchId: r.watchId,
          created: r.created,
          canceled: r.canceled,
          cancelReason: r.cancelReason,
        }),
      );
    }
    const r = item.resp;
    const id = r.watchId;
    const events = this.#events(r, this.#prevKv.has(id));
    const wr: etcdserverpb.WatchResponseInit = {
      header: this.#headers.get(r.revision),
      watchId: id,
      events,
      compactRevision: r.compactRevision,
      canceled: r.compactRevision !== 0,
    };
    const ok = this.#fragment.has(id) ? this.#sendFragments(wr, events) : this.#write(etcdserverpb.WatchResponse.encode(wr));
    if (events.length > 0 && this.#progress.has(id)) this.#progress.set(id, false);
    return ok;
  }

  #events(r: WatchResponse, prevKv: boolean): (PreEncoded | mvccpb.EventInit)[] {
    const out = new Array<PreEncoded | mvccpb.EventInit>(r.events.length);
    for (let i = 0; i < r.events.length; i++) {
      const ev = r.events[i]!;
      out[i] = prevKv && !ev.isCreate ? this.#withPrevKv(ev) : ev.wire();
    }
    return out;
  }

  /** The event with the key's value just before it, when that revision is still readable. */
  #withPrevKv(ev: WatchEvent): PreEncoded | mvccpb.EventInit {
    const rev = ev.modRevision - 1;
    if (rev <= 0) return ev.wire();
    let prev: Buffer | undefined;
    try {
      prev = this.#s.kv.read().rangeRaw(ev.kv.key, undefined, { rev }).kvs[0];
    } catch {
      prev = undefined;
    }
    if (prev === undefined) return ev.wire();
    return { type: ev.type, kv: ev.kv, prevKv: new PreEncoded(prev) };
  }

  /**
   * etcd's sendFragments: a response of at least maxFragmentBytes with two
   * or more events goes out in pieces, each as large as fits (at least one
   * event), all but the last with fragment set.
   */
  #sendFragments(wr: etcdserverpb.WatchResponseInit, events: readonly (PreEncoded | mvccpb.EventInit)[]): boolean {
    const max = this.#opts.maxFragmentBytes;
    if (events.length < 2 || etcdserverpb.WatchResponse.encodedSize(wr) < max) {
      return this.#write(etcdserverpb.WatchResponse.encode(wr));
    }
    const base = etcdserverpb.WatchResponse.encodedSize({ ...wr, events: [], fragment: true });
    let ok = true;
    let idx = 0;
    while (idx < events.length) {
      const cur: (PreEncoded | mvccpb.EventInit)[] = [];
      let size = base;
      for (; idx < events.length; idx++) {
        const ev = events[idx]!;
        const es = etcdserverpb.WatchResponse.encodedSize({ events: [ev] });
        if (cur.length > 0 && size + es >= max) break;
        cur.push(ev);
        size += es;
      }
      ok = this.#write(etcdserverpb.WatchResponse.encode({ ...wr, events: cur, fragment: idx < events.length })) && ok;
    }
    return ok;
  }

  #write(bytes: Buffer): boolean {
    if (this.#done) return true;
    return this.#writer.write(bytes);
  }

  /** Ends the call with err's status (grpc-js sends the status of an 'error' it sees on the call). */
  #fail(err: unknown): void {
    if (this.#done) return;
    this.#close();
    failStream(this.#call, err);
  }

  #close(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#progressTimer !== undefined) clearInterval(this.#progressTimer);
    this.#progressTimer = undefined;
    this.#ws.close();
    this.#opts.onDone?.();
  }
}
