import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import { etcdError } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { failStream } from './to-grpc-error.js';

/** Stream metadata by which a client asks for a member with a leader (etcd's rpctypes.MetadataRequireLeaderKey). */
const REQUIRE_LEADER_KEY = 'hasleader';
/** Election timeouts without a leader before open streams that require one are ended (etcd's maxNoLeaderCnt). */
const MAX_NO_LEADER_COUNT = 3;

type Stream = ServerDuplexStream<unknown, unknown>;

export const requiresLeader = (md: Metadata): boolean => md.get(REQUIRE_LEADER_KEY)[0] === 'true';

/**
 * etcd's stream interceptor for `hasleader` streams (watch, lease keep-alive):
 * such a stream is refused while the member has no leader, and the open ones
 * are ended with "etcdserver: no leader" once the member has been without a
 * leader for MAX_NO_LEADER_COUNT consecutive election timeouts, so their
 * clients move to a member that is part of a quorum.
 *
 * Invariant: `streams` holds exactly the open streams that asked for a leader.
 */
export class LeaderMonitor {
  readonly #streams = new Set<Stream>();
  #noLeaderCount = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly s: EtcdServer,
    electionTimeoutMs: number,
  ) {
    this.#timer = setInterval(() => this.check(), electionTimeoutMs);
    this.#timer.unref();
  }

  /**
   * Admits a new stream: false (and the stream ended with "no leader") when it
   * requires a leader and the member has none; otherwise true, and the stream
   * is watched if it requires a leader.
   */
  admit(call: Stream): boolean {
    if (!requiresLeader(call.metadata)) return true;
    if (this.s.lead === 0n) {
      noLeader(call);
      return false;
    }
    this.#streams.add(call);
    call.on('close', () => this.#streams.delete(call));
    return true;
  }

  private check(): void {
    this.#noLeaderCount = this.s.lead === 0n ? this.#noLeaderCount + 1 : 0;
    if (this.#noLeaderCount < MAX_NO_LEADER_COUNT) return;
    for (const call of this.#streams) noLeader(call);
    this.#streams.clear();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function noLeader(call: Stream): void {
  failStream(call, etcdError('NO_LEADER'));
}
