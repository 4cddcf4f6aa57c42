import type { etcdserverpb, mvccpb } from '@etcd-ts/api';
import { WatchCanceledError, WatchCompactedError } from '../errors.js';
import type { WatchCreateBase, WatchResponse } from './watch-options.js';

/**
 * etcd's message in a cancel_reason. etcd 3.4 writes gRPC errors there in
 * their Go form, "rpc error: code = PermissionDenied desc = etcdserver:
 * permission denied"; the message is what follows "desc = ".
 */
export function cancelReasonMessage(reason: string): string {
  const m = /^rpc error: code = \w+ desc = (.*)$/s.exec(reason);
  return m?.[1] ?? reason;
}

/** Where a subscription reports to (implemented by Watcher). */
export interface WatchSink {
  /** The server confirmed the watch on `endpoint` (the first time and after every resume). */
  connected(endpoint: string): void;
  /** Events (keys stripped of the key prefix) or a progress notification. */
  deliver(res: WatchResponse): void;
  /** The stream carrying the watch broke; it will be re-created. */
  disconnected(err: Error, endpoint: string): void;
  /** The watch is over (compaction, server cancel, client closed). Terminal. */
  end(err: Error): void;
}

/** What a subscription needs of the stream carrying it (implemented by WatchStream). */
export interface SubscriptionStream {
  /** Cancels the watch on the server (if created) and forgets it. */
  remove(sub: WatchSubscription): void;
  /** Sends a progress request; false when the stream cannot send now. */
  requestProgress(): boolean;
}

/**
 * The part of a watch that streams see: what to ask the server for, where to
 * resume, and where to report. One per Watcher; it moves from stream to
 * stream as connections break.
 */
export class WatchSubscription {
  /**
   * The resume point: start_revision of the next create request.
   *
   * Invariant: every event of this watch with mod_revision < nextRevision has
   * been delivered exactly once, and none with mod_revision >= nextRevision
   * has. 0 only until the first create of a watch that starts "now" is
   * confirmed (the server picks the revision; see onCreated).
   *
   * Advanced by:
   *  - the created response of a "now" watch: header.revision + 1 (etcd starts
   *    such a watch at the revision after the one in that header);
   *  - delivered events: last mod_revision + 1 (etcd never splits a revision's
   *    events across responses, fragments aside, and fragments are reassembled
   *    before they get here);
   *  - a progress notification of this watch: header.revision + 1 (etcd sends
   *    them only to synced watchers, through the same queue as their events,
   *    so every event up to that revision was sent before it).
   * Never by:
   *  - the header revision of a response with events (history replay reports
   *    the store's current revision, ahead of the events it carries);
   *  - the broadcast answer to a progress_request (watch ID -1): etcd 3.4 sends
   *    it from the control queue without checking that the watcher is synced,
   *    so events at or below its revision may still follow.
   */
  nextRevision: number;
  /** The stream this watch is on (being created or established); undefined while waiting to resume. */
  /** The stream carrying this watch. */
  stream: SubscriptionStream | undefined;
  /** The server's ID for this watch on `stream`, once created. */
  watchId: number | undefined;

  constructor(
    readonly base: WatchCreateBase,
    startRevision: number,
    private readonly prefixLength: number,
    readonly sink: WatchSink,
  ) {
    this.nextRevision = startRevision;
  }

  /** The create request that resumes this watch exactly where invariant nextRevision says. */
  createRequest(): etcdserverpb.WatchCreateRequestInit {
    return { ...this.base, startRevision: this.nextRevision };
  }

  /** The server confirmed the watch (created, not canceled) on the stream to `endpoint`. */
  onCreated(headerRevision: number, endpoint: string): void {
    if (this.nextRevision === 0) this.nextRevision = headerRevision + 1;
    this.sink.connected(endpoint);
  }

  /** A whole (reassembled) response for this watch that is neither created nor canceled. */
  onResponse(res: etcdserverpb.WatchResponse): void {
    const revision = res.header?.revision ?? 0;
    if (res.events.length === 0) {
      // A progress notification of this watch.
      if (revision + 1 > this.nextRevision) this.nextRevision = revision + 1;
      this.sink.deliver({ events: [], revision, progress: true });
      return;
    }
    // Events come in revision order. A server that replays from the resume
    // point sends nothing below it; dropping anything below keeps "exactly
    // once" even if one did.
    const from = this.nextRevision;
    const events = res.events.filter((e) => (e.kv?.modRevision ?? 0) >= from);
    const last = events[events.length - 1];
    if (last === undefined) return;
    this.nextRevision = (last.kv?.modRevision ?? 0) + 1;
    if (this.prefixLength > 0) for (const e of events) this.strip(e);
    this.sink.deliver({ events, revision, progress: false });
  }

  /** The stream-wide answer to a progress_request: reported, but the resume point stays (see nextRevision). */
  onBroadcastProgress(revision: number): void {
    this.sink.deliver({ events: [], revision, progress: true });
  }

  /** The server canceled the watch: compaction, or another reason (e.g. permission denied). */
  onCanceled(res: etcdserverpb.WatchResponse): void {
    this.sink.end(
      res.compactRevision > 0
        ? new WatchCompactedError(res.compactRevision, this.nextRevision)
        : new WatchCanceledError(cancelReasonMessage(res.cancelReason)),
    );
  }

  private strip(e: mvccpb.Event): void {
    if (e.kv) e.kv.key = e.kv.key.subarray(this.prefixLength);
    if (e.prevKv) e.prevKv.key = e.prevKv.key.subarray(this.prefixLength);
  }
}
