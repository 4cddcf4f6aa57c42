/**
 * Whether a peer is reachable, after etcd's peerStatus: a peer is active while
 * an outgoing stream to it is established and accepted, and `since` is when it
 * last became active (etcd's activeSince; undefined while inactive). The
 * transport reports raft messages to an inactive peer as unreachable.
 */
import type { Logger } from '../util/logger.js';

export type PeerState =
  /** No attempt has failed yet since the peer was added or its URLs changed. */
  | 'connecting'
  | 'active'
  /** The last attempt failed or the stream broke; a redial is pending. */
  | 'inactive';

export class PeerStatus {
  private current: PeerState = 'connecting';
  private activeAt: Date | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly peerId: bigint,
    private readonly logger: Logger | undefined,
  ) {}

  get state(): PeerState {
    return this.current;
  }

  get since(): Date | undefined {
    return this.activeAt;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  activate(): void {
    if (this.current === 'active') return;
    this.current = 'active';
    this.activeAt = new Date();
    this.lastError = undefined;
    this.logger?.info({ 'remote-peer-id': this.peerId.toString(16) }, 'peer became active');
  }

  deactivate(reason: string): void {
    if (this.current === 'active') {
      this.logger?.warn({ 'remote-peer-id': this.peerId.toString(16), error: reason }, 'peer became inactive (message send to peer failed)');
    } else if (this.lastError !== reason) {
      this.logger?.debug({ 'remote-peer-id': this.peerId.toString(16), error: reason }, 'peer still inactive');
    }
    this.current = 'inactive';
    this.activeAt = undefined;
    this.lastError = reason;
  }

  /** Back to 'connecting' (the URLs changed): messages queue again until the next attempt's outcome. */
  reconnecting(): void {
    this.current = 'connecting';
    this.activeAt = undefined;
  }
}
