import { etcdserverpb, FROM_KEY_END, prefixEnd, type mvccpb } from '@etcd-ts/api';
import { toBuffer, type Bytes } from '../codec.js';

/** Server-side event filters: 'noput' drops puts, 'nodelete' drops deletes. */
export type WatchFilter = 'noput' | 'nodelete';

/** Options of `Watch.watch()`. At most one of `prefix`, `rangeEnd`, `fromKey`. */
export interface WatchOptions {
  /** Watch every key that starts with `key` (an empty key: every key). */
  readonly prefix?: boolean | undefined;
  /** Watch the half-open range [key, rangeEnd). */
  readonly rangeEnd?: Bytes | undefined;
  /** Watch every key >= key. */
  readonly fromKey?: boolean | undefined;
  /**
   * First revision to deliver, inclusive: history from there is replayed
   * before live events. Default: only changes made after the server confirms
   * the watch (`Watcher.created`).
   */
  readonly startRevision?: number | undefined;
  /** Attach the previous key-value to every event (when not compacted). */
  readonly prevKv?: boolean | undefined;
  readonly filters?: readonly WatchFilter[] | undefined;
  /** Ask the server for periodic progress notifications while there are no events. */
  readonly progressNotify?: boolean | undefined;
  /**
   * Let the server split one revision's events over several responses when
   * they exceed its request size limit. The watcher reassembles them: a
   * delivered response never holds part of a revision.
   */
  readonly fragment?: boolean | undefined;
  /** Closes the watcher; it then ends with an AbortedError. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One batch delivered by a watcher: the events of one or more whole
 * revisions, in revision order, or a progress notification (no events).
 */
export interface WatchResponse {
  /** Keys (and prevKv keys) relative to the watch's key prefix. */
  readonly events: mvccpb.Event[];
  /**
   * The response header's revision. For a progress notification: the store
   * revision the watch has caught up with. For events it may be ahead of the
   * last event (history replay reports the store's current revision).
   */
  readonly revision: number;
  /** A progress notification: no events, only `revision`. */
  readonly progress: boolean;
}

const EMPTY: Buffer = Buffer.alloc(0);

const isFromKeyEnd = (b: Buffer): boolean => b.length === 1 && b[0] === 0;

/**
 * The wire [key, rangeEnd) of a watch, inside `keyPrefix` when it is not
 * empty: both get the prefix, a from-key end "\0" becomes the prefix's end,
 * and the all-keys watch (key "" or "\0" with end "\0") becomes the prefix
 * range, so that a watch never reaches outside its namespace.
 */
export function watchRange(key: Bytes, opts: WatchOptions, keyPrefix: Buffer): { key: Buffer; rangeEnd: Buffer } {
  const given = [opts.prefix === true, opts.rangeEnd !== undefined, opts.fromKey === true].filter(Boolean).length;
  if (given > 1) throw new TypeError('watch: use at most one of prefix, rangeEnd and fromKey');
  const k = toBuffer(key);
  let end: Buffer = EMPTY;
  if (opts.prefix === true) end = prefixEnd(k);
  else if (opts.fromKey === true) end = FROM_KEY_END;
  else if (opts.rangeEnd !== undefined) end = toBuffer(opts.rangeEnd);
  if (keyPrefix.length === 0) return { key: k, rangeEnd: end };
  const fromKey = isFromKeyEnd(end);
  const allKeys = fromKey && (k.length === 0 || isFromKeyEnd(k));
  return {
    key: allKeys ? keyPrefix : Buffer.concat([keyPrefix, k]),
    rangeEnd: end.length === 0 ? EMPTY : fromKey ? prefixEnd(keyPrefix) : Buffer.concat([keyPrefix, end]),
  };
}

/** The create request of a watch, without its start revision (that is the resume point, see WatchSubscription). */
export type WatchCreateBase = Omit<etcdserverpb.WatchCreateRequestInit, 'startRevision' | 'watchId'>;

/** Validates `opts` and builds the create request fields that never change across resumes. */
export function createBase(key: Bytes, opts: WatchOptions, keyPrefix: Buffer): WatchCreateBase {
  const s = opts.startRevision;
  if (s !== undefined && !(Number.isSafeInteger(s) && s >= 0)) {
    throw new RangeError(`watch: startRevision must be a non-negative safe integer, got ${s}`);
  }
  const filters = (opts.filters ?? []).map((f) => {
    if (f === 'noput') return etcdserverpb.WatchCreateRequest_FilterType.NOPUT;
    if (f === 'nodelete') return etcdserverpb.WatchCreateRequest_FilterType.NODELETE;
    throw new TypeError(`watch: unknown filter ${JSON.stringify(f)}`);
  });
  return {
    ...watchRange(key, opts, keyPrefix),
    filters,
    prevKv: opts.prevKv === true,
    progressNotify: opts.progressNotify === true,
    fragment: opts.fragment === true,
  };
}
