/**
 * What every Peer of one transport shares: the local identity, the bounds,
 * and the callbacks into raft. The transport guarantees the callbacks are
 * never invoked synchronously from send() and never after stop().
 */
import type { SnapshotStatus } from '../raft/raw-node.js';
import type { Message } from '../raft/types.js';
import type { Logger } from '../util/logger.js';
import type { PeerClientOptions } from './peer-client.js';
import type { PeerError } from './peer-errors.js';
import type { ByteSource } from './rechunk.js';

export interface PeerLimits {
  /** Messages waiting for one peer's stream (etcd: 4096). */
  readonly maxQueuedMessages: number;
  /** Bytes waiting for one peer's stream. */
  readonly maxQueuedBytes: number;
  /** Target size of one Stream frame; a single larger message still goes alone. */
  readonly maxFrameBytes: number;
  /** Size of each database chunk of SendSnapshot. */
  readonly snapshotChunkBytes: number;
  /** How long a new stream may wait for the peer's acceptance. */
  readonly dialTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export interface PeerContext {
  readonly localId: bigint;
  readonly clusterId: bigint;
  readonly localUrls: readonly string[];
  readonly limits: PeerLimits;
  readonly clientOptions: PeerClientOptions;
  readonly logger: Logger | undefined;
  readonly snapshotData: ((m: Message) => ByteSource) | undefined;
  reportUnreachable(id: bigint): void;
  reportSnapshot(id: bigint, status: SnapshotStatus): void;
  peerError(id: bigint, err: PeerError): void;
}
