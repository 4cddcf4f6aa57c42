/**
 * One Probe call to a peer URL: its identity and membership (how a joining
 * member learns the cluster, as etcd's GetClusterFromRemotePeers does over
 * /members), and a health check of the peer listener.
 */
import { Metadata } from '@grpc/grpc-js';
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js';
import type { etcdtspeerpb } from '@etcd-ts/api';
import type { Member } from './member.js';
import { createPeerClient } from './peer-client.js';
import { fromPeerStatus } from './peer-errors.js';

export interface ProbePeerOptions {
  /** The caller's cluster ID, or 0n (default) when it does not know it yet. */
  readonly clusterId?: bigint;
  /** Default 5000. */
  readonly timeoutMs?: number;
  readonly tls?: ChannelCredentials;
}

export interface ProbeResult {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly members: readonly Member[];
}

/** Throws a PeerError: PeerClusterMismatchError when clusterId is given and differs, PeerUnavailableError when unreachable. */
export async function probePeer(url: string, opts: ProbePeerOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = createPeerClient(url, {
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    keepAliveMs: 5000,
    keepAliveTimeoutMs: 5000,
    backoffMinMs: 100,
    backoffMaxMs: 1000,
  });
  try {
    const res = await new Promise<etcdtspeerpb.ProbeResponse>((resolve, reject) => {
      client.probe(
        { clusterId: opts.clusterId ?? 0n },
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, r?: etcdtspeerpb.ProbeResponse) => {
          if (err !== null || r === undefined) reject(fromPeerStatus(err ?? new Error('no response')));
          else resolve(r);
        },
      );
    });
    return {
      memberId: res.memberId,
      clusterId: res.clusterId,
      members: res.members.map((m) => ({
        id: m.ID,
        name: m.name,
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
        isLearner: m.isLearner,
      })),
    };
  } finally {
    client.close();
  }
}
