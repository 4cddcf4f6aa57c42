/**
 * The raft transport between members (etcd's rafthttp.Transport over gRPC).
 * send() is the raft-node Transport: it routes each message to its peer, where
 * MsgSnap takes the snapshot path (SendSnapshot, with the database from
 * snapshotData) and everything else is queued for the peer's long-lived Stream
 * call. Bounds and failure reporting follow etcd: a message that finds the
 * peer inactive or its queue full is dropped and the peer is reported
 * unreachable to raft, which then probes it instead of pipelining; a snapshot
 * ends with reportSnapshot(Finish | Failure).
 *
 * Callbacks into raft are never made synchronously from send() (they are
 * deferred to a microtask) and never after stop(); an exception thrown by one
 * is logged and swallowed.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { SnapshotStatus } from '../raft/raw-node.js';
import { MessageType } from '../raft/types.js';
import type { Message } from '../raft/types.js';
import type { Logger } from '../util/logger.js';
import type { PeerContext, PeerLimits } from './peer-context.js';
import type { PeerError } from './peer-errors.js';
import { Peer } from './peer.js';
import type { PeerStats } from './peer.js';
import type { ByteSource } from './rechunk.js';

export interface PeerTransportOptions {
  /** This member's ID (raft node ID). */
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** This member's advertised peer URLs, sent with every call. */
  readonly peerUrls?: readonly string[];
  /** raft's RawNode.reportUnreachable. */
  readonly reportUnreachable: (id: bigint) => void;
  /** raft's RawNode.reportSnapshot. */
  readonly reportSnapshot: (id: bigint, status: SnapshotStatus) => void;
  /**
   * The backend database to stream after a MsgSnap (etcd's merged snapshot
   * message). Called once per MsgSnap sent; absent means no database bytes
   * follow the MsgSnap.
   */
  readonly snapshotData?: (m: Message) => ByteSource;
  /** Every failed stream or snapshot to a peer, typed; removal and cluster mismatch are PeerMemberRemovedError and PeerClusterMismatchError. */
  readonly onPeerError?: (id: bigint, err: PeerError) => void;
  readonly logger?: Logger;
  /** TLS credentials for https:// peer URLs. */
  readonly tls?: ChannelCredentials;
  /** Default 4096 (etcd's streamBufSize). */
  readonly maxQueuedMessages?: number;
  /** Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** Default 1 MiB. */
  readonly maxFrameBytes?: number;
  /** Default 1 MiB. */
  readonly snapshotChunkBytes?: number;
  /** Default 5000 (etcd's ConnReadTimeout). */
  readonly dialTimeoutMs?: number;
  /** Default 100 (etcd's DialRetryFrequency). */
  readonly backoffMinMs?: number;
  /** Default 1000. */
  readonly backoffMaxMs?: number;
  /** HTTP/2 keepalive ping interval on peer connections; default 5000. */
  readonly keepAliveMs?: number;
  /** Default 5000. */
  readonly keepAliveTimeoutMs?: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  maxQueuedMessages: 4096,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxFrameBytes: 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  dialTimeoutMs: 5000,
  backoffMinMs: 100,
  backoffMaxMs: 1000,
};

export class PeerTransport {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  private readonly ctx: PeerContext;
  private readonly peers = new Map<bigint, Peer>();
  private readonly logger: Logger | undefined;
  private stopped = false;

  constructor(opts: PeerTransportOptions) {
    if (opts.memberId === 0n) throw new RangeError('memberId must not be 0');
    this.memberId = opts.memberId;
    this.clusterId = opts.clusterId;
    this.logger = opts.logger;
    const limits: PeerLimits = {
      maxQueuedMessages: opts.maxQueuedMessages ?? DEFAULT_PEER_LIMITS.maxQueuedMessages,
      maxQueuedBytes: opts.maxQueuedBytes ?? DEFAULT_PEER_LIMITS.maxQueuedBytes,
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_PEER_LIMITS.maxFrameBytes,
      snapshotChunkBytes: opts.snapshotChunkBytes ?? DEFAULT_PEER_LIMITS.snapshotChunkBytes,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_PEER_LIMITS.dialTimeoutMs,
      backoffMinMs: opts.backoffMinMs ?? DEFAULT_PEER_LIMITS.backoffMinMs,
      backoffMaxMs: opts.backoffMaxMs ?? DEFAULT_PEER_LIMITS.backoffMaxMs,
    };
    const guard = <A extends unknown[]>(name: string, fn: ((...args: A) => void) | undefined) => {
      return (...args: A): void => {
        if (fn === undefined) return;
        queueMicrotask(() => {
          if (this.stopped) return;
          try {
            fn(...args);
          } catch (err) {
            this.logger?.error({ error: err instanceof Error ? err.message : String(err) }, `peer transport ${name} callback threw`);
          }
        });
      };
    };
    this.ctx = {
      localId: opts.memberId,
      clusterId: opts.clusterId,
      localUrls: [...(opts.peerUrls ?? [])],
      limits,
      clientOptions: {
        ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
        keepAliveMs: opts.keepAliveMs ?? 5000,
        keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 5000,
        backoffMinMs: limits.backoffMinMs,
        backoffMaxMs: limits.backoffMaxMs,
      },
      logger: opts.logger,
      snapshotData: opts.snapshotData,
      reportUnreachable: guard('reportUnreachable', opts.reportUnreachable),
      reportSnapshot: guard('reportSnapshot', opts.reportSnapshot),
      peerError: guard('onPeerError', opts.onPeerError),
    };
  }

  /** Starts talking to member `id` at `urls`; ignored if the peer exists. Throws PeerInvalidUrlError. */
  addPeer(id: bigint, urls: readonly string[]): void {
    if (this.stopped || this.peers.has(id)) return;
    if (id === 0n || id === this.memberId) throw new RangeError(`invalid peer ID ${id.toString(16)}`);
    this.peers.set(id, new Peer(id, urls, this.ctx));
    this.logger?.info({ 'remote-peer-id': id.toString(16), 'remote-peer-urls': urls }, 'added remote peer');
  }

  /** Stops talking to member `id`: its queue is dropped and its stream and snapshot cancelled. */
  removePeer(id: bigint): Promise<void> {
    const p = this.peers.get(id);
    if (p === undefined) return Promise.resolve();
    this.peers.delete(id);
    this.logger?.info({ 'remote-peer-id': id.toString(16) }, 'removed remote peer');
    return p.stop();
  }

  /** New URLs for member `id`; the stream redials if its current URL is gone. Throws PeerInvalidUrlError. */
  updatePeer(id: bigint, urls: readonly string[]): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    p.update(urls);
    this.logger?.info({ 'remote-peer-id': id.toString(16), 'remote-peer-urls': urls }, 'updated remote peer');
  }

  hasPeer(id: bigint): boolean {
    return this.peers.has(id);
  }

  peerIds(): bigint[] {
    return [...this.peers.keys()];
  }

  /** The raft-node Transport: never throws, never blocks. Messages to unknown peers are ignored (as in etcd). */
  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    let unreachable: Set<bigint> | undefined;
    for (const m of messages) {
      if (m.to === 0n) continue;
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.logger?.debug({ type: m.type, 'unknown-target-peer-id': m.to.toString(16) }, 'ignored message send request; unknown remote peer target');
        continue;
      }
      if (m.type === MessageType.MsgSnap) {
        p.sendSnapshot(m);
        continue;
      }
      if (!p.enqueue(m)) (unreachable ??= new Set()).add(m.to);
    }
    if (unreachable !== undefined) for (const id of unreachable) this.ctx.reportUnreachable(id);
  }

  /** When the peer last became active (etcd's ActiveSince); undefined when it is not active or unknown. */
  activeSince(id: bigint): Date | undefined {
    return this.peers.get(id)?.status.since;
  }

  isActive(id: bigint): boolean {
    return this.peers.get(id)?.status.state === 'active';
  }

  peerStats(id: bigint): PeerStats | undefined {
    return this.peers.get(id)?.stats();
  }

  /** Closes every stream, cancels snapshots in flight and closes the connections; no callback runs afterwards. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const peers = [...this.peers.values()];
    this.peers.clear();
    await Promise.all(peers.map((p) => p.stop()));
  }
}
