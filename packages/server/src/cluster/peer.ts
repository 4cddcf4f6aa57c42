/**
 * One remote member as seen by the transport (etcd's peer): its URLs, the
 * bounded queue and long-lived stream for raft messages, and the snapshot
 * path for MsgSnap. Invariants: messages are dropped (and the peer reported
 * unreachable) rather than queued while the peer is inactive or the queue is
 * full; at most one snapshot is in flight; nothing is reported after stop().
 */
import type { PeerClient } from '@etcd-ts/api';
import { SnapshotStatus } from '../raft/raw-node.js';
import type { Message } from '../raft/types.js';
import { createPeerClient } from './peer-client.js';
import type { PeerContext } from './peer-context.js';
import { PeerError, PeerSnapshotError, PeerTransportStoppedError, PeerUnavailableError } from './peer-errors.js';
import { identityMetadata } from './peer-identity.js';
import { PeerQueue } from './peer-queue.js';
import type { PeerState } from './peer-status.js';
import { PeerStatus } from './peer-status.js';
import { PeerStream } from './peer-stream.js';
import type { PeerStreamHost } from './peer-stream.js';
import { peerTarget } from './peer-target.js';
import { sendSnapshot } from './snapshot-sender.js';
import { encodeWireMessage } from './wire-message.js';

export interface PeerStats {
  readonly id: bigint;
  readonly urls: readonly string[];
  readonly state: PeerState;
  /** When the peer last became active; undefined while it is not. */
  readonly activeSince: Date | undefined;
  /** Why the peer is inactive, if it is. */
  readonly lastError: string | undefined;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** Messages handed to gRPC (not necessarily delivered). */
  readonly sentMessages: number;
  /** Encoded raft message bytes handed to gRPC (etcd_network_peer_sent_bytes_total, without snapshots). */
  readonly sentBytes: number;
  readonly sentFrames: number;
  /** Messages dropped: queue full, peer inactive, or queued when the stream failed. */
  readonly droppedMessages: number;
  readonly snapshotsSent: number;
  readonly snapshotsFailed: number;
  /** Database bytes of the snapshots sent successfully. */
  readonly snapshotBytesSent: number;
  readonly snapshotInFlight: boolean;
}

/** Throws PeerInvalidUrlError; a peer needs at least one URL. */
export function validatePeerUrls(urls: readonly string[], ctx: PeerContext): string[] {
  if (urls.length === 0) throw new RangeError('a peer needs at least one URL');
  for (const u of urls) peerTarget(u, ctx.clientOptions.tls);
  return [...urls];
}

export class Peer implements PeerStreamHost {
  readonly status: PeerStatus;
  readonly queue: PeerQueue;
  private urls: string[];
  /** Index in `urls` of the URL to dial next (etcd's urlPicker). */
  private urlIndex = 0;
  private readonly clients = new Map<string, PeerClient>();
  private readonly stream: PeerStream;
  private snapshot: AbortController | undefined;
  private snapshotDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly counters = { sentMessages: 0, sentBytes: 0, sentFrames: 0, droppedMessages: 0, snapshotsSent: 0, snapshotsFailed: 0, snapshotBytesSent: 0 };

  constructor(
    readonly id: bigint,
    urls: readonly string[],
    readonly ctx: PeerContext,
  ) {
    this.urls = validatePeerUrls(urls, ctx);
    this.status = new PeerStatus(id, ctx.logger);
    this.queue = new PeerQueue(ctx.limits.maxQueuedMessages, ctx.limits.maxQueuedBytes);
    this.stream = new PeerStream(this);
  }

  /** Queues a raft message (other than MsgSnap) for the stream; false when it was dropped. */
  enqueue(m: Message): boolean {
    if (this.stopped || this.status.state === 'inactive' || !this.queue.push(encodeWireMessage(m))) {
      this.counters.droppedMessages++;
      return false;
    }
    this.stream.notify();
    return true;
  }

  /** Starts streaming a MsgSnap; the outcome is reported through reportSnapshot. */
  sendSnapshot(m: Message): void {
    if (this.stopped) return;
    if (this.snapshot !== undefined) {
      this.counters.snapshotsFailed++;
      this.ctx.logger?.warn({ 'remote-peer-id': this.id.toString(16) }, 'dropped MsgSnap: a snapshot to this peer is already in flight');
      this.ctx.reportSnapshot(this.id, SnapshotStatus.Failure);
      return;
    }
    const abort = new AbortController();
    this.snapshot = abort;
    this.snapshotDone = this.runSnapshot(m, abort.signal).finally(() => {
      this.snapshot = undefined;
    });
  }

  update(urls: readonly string[]): void {
    const next = validatePeerUrls(urls, this.ctx);
    const current = this.urls[this.urlIndex % this.urls.length];
    for (const [url, client] of this.clients) {
      if (!next.includes(url)) {
        client.close();
        this.clients.delete(url);
      }
    }
    this.urls = next;
    const keep = current === undefined ? -1 : next.indexOf(current);
    this.urlIndex = keep >= 0 ? keep : 0;
    if (keep < 0) {
      this.status.reconnecting();
      this.stream.restart();
    }
  }

  stats(): PeerStats {
    return {
      id: this.id,
      urls: [...this.urls],
      state: this.status.state,
      activeSince: this.status.since,
      lastError: this.status.error,
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.bytes,
      ...this.counters,
      snapshotInFlight: this.snapshot !== undefined,
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.clear();
    this.snapshot?.abort();
    await Promise.all([this.stream.stop(), this.snapshotDone]);
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  // PeerStreamHost

  pick(): { readonly url: string; readonly client: PeerClient } {
    const url = this.urls[this.urlIndex % this.urls.length] as string;
    let client = this.clients.get(url);
    if (client === undefined) {
      client = createPeerClient(url, this.ctx.clientOptions);
      this.clients.set(url, client);
    }
    return { url, client };
  }

  urlFailed(url: string): void {
    if (this.urls[this.urlIndex % this.urls.length] === url) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
  }

  streamFailed(err: PeerError): void {
    if (this.stopped) return;
    this.counters.droppedMessages += this.queue.clear();
    this.status.deactivate(err.message);
    this.ctx.reportUnreachable(this.id);
    this.ctx.peerError(this.id, err);
  }

  framed(messages: number, bytes: number): void {
    this.counters.sentMessages += messages;
    this.counters.sentBytes += bytes;
    this.counters.sentFrames++;
  }

  private async runSnapshot(m: Message, signal: AbortSignal): Promise<void> {
    const { url, client } = this.pick();
    const index = m.snapshot?.metadata.index ?? 0;
    const log = { 'remote-peer-id': this.id.toString(16), 'snapshot-index': index };
    try {
      let data;
      try {
        data = this.ctx.snapshotData?.(m);
      } catch (err) {
        throw new PeerSnapshotError('cannot open the snapshot data', { cause: err });
      }
      this.ctx.logger?.info(log, 'sending database snapshot');
      const sent = await sendSnapshot({
        client,
        metadata: identityMetadata({ memberId: this.ctx.localId, clusterId: this.ctx.clusterId, to: this.id, peerUrls: this.ctx.localUrls }),
        message: m,
        data,
        chunkBytes: this.ctx.limits.snapshotChunkBytes,
        signal,
      });
      if (this.stopped) return;
      this.counters.snapshotsSent++;
      this.counters.snapshotBytesSent += sent.bytes;
      this.ctx.logger?.info({ ...log, bytes: sent.bytes }, 'sent database snapshot');
      this.ctx.reportSnapshot(this.id, SnapshotStatus.Finish);
    } catch (err) {
      if (this.stopped || err instanceof PeerTransportStoppedError) return;
      const e = err instanceof PeerError ? err : new PeerSnapshotError(String(err), { cause: err });
      this.counters.snapshotsFailed++;
      this.ctx.logger?.warn({ ...log, error: e.message }, 'failed to send database snapshot');
      if (e instanceof PeerUnavailableError) this.urlFailed(url);
      this.ctx.reportUnreachable(this.id);
      this.ctx.reportSnapshot(this.id, SnapshotStatus.Failure);
      this.ctx.peerError(this.id, e);
    }
  }
}
