import type { WatchEvent } from './watch-event.js';

/** What the store sends to one watcher (etcd's mvcc.WatchResponse). */
export interface WatchResponse {
  readonly watchId: number;
  /** Revision-ordered events; empty for a progress notification or a compaction. */
  readonly events: readonly WatchEvent[];
  /**
   * The store revision the watcher has observed: the events' revision for a
   * live notification, the store's revision for a catch-up batch or a
   * progress notification, 0 for a compaction.
   */
  readonly revision: number;
  /** Non-zero: the watcher was canceled because its next revision was compacted. */
  readonly compactRevision: number;
}

/** A response about the stream's watchers themselves: created, canceled, progress. */
export interface ControlResponse {
  readonly watchId: number;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly cancelReason: string;
  /** Header revision. */
  readonly revision: number;
}

/** One item of a watch stream's outgoing queue, in the order it must be sent. */
export type StreamItem =
  | { readonly kind: 'watch'; readonly resp: WatchResponse }
  | { readonly kind: 'control'; readonly resp: ControlResponse };
