/**
 * Lease calls that only the leader can answer (keep-alive, time-to-live), sent
 * by a follower to the leader's client URL, as etcd forwards them to its
 * leader. One connection per leader URL is kept and reused.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdError, fromGrpcStatus, LeaseService, type etcdserverpb } from '@etcd-ts/api';

type LeaseClient = grpc.Client & {
  leaseKeepAlive(options: grpc.CallOptions): grpc.ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequestInit, etcdserverpb.LeaseKeepAliveResponse>;
  leaseTimeToLive(
    req: etcdserverpb.LeaseTimeToLiveRequestInit,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: etcdserverpb.LeaseTimeToLiveResponse) => void,
  ): void;
};

const LeaseClientCtor = grpc.makeGenericClientConstructor(LeaseService as unknown as grpc.ServiceDefinition, 'Lease');

function toError(err: grpc.ServiceError): Error {
  return fromGrpcStatus(err.code, err.details) ?? err;
}

export class LeaderLeaseClient {
  private url: string | undefined;
  private client: LeaseClient | undefined;

  constructor(private readonly timeoutMs: number) {}

  private clientFor(clientUrls: readonly string[]): LeaseClient {
    const url = clientUrls[0];
    if (url === undefined) throw etcdError('NO_LEADER');
    if (this.client === undefined || this.url !== url) {
      this.client?.close();
      this.url = url;
      this.client = new LeaseClientCtor(url.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure()) as unknown as LeaseClient;
    }
    return this.client;
  }

  /** Renews the lease on the leader; resolves with the TTL (0 when the leader does not know it). */
  renew(leaderClientUrls: readonly string[], id: bigint): Promise<number> {
    const call = this.clientFor(leaderClientUrls).leaseKeepAlive({ deadline: Date.now() + this.timeoutMs });
    return new Promise((resolve, reject) => {
      call.once('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
        resolve(r.TTL);
        call.end();
      });
      call.once('error', (err: grpc.ServiceError) => reject(toError(err)));
      call.once('end', () => reject(etcdError('NO_LEADER')));
      call.write({ ID: id });
    });
  }

  timeToLive(leaderClientUrls: readonly string[], req: etcdserverpb.LeaseTimeToLiveRequestInit): Promise<etcdserverpb.LeaseTimeToLiveResponse> {
    const client = this.clientFor(leaderClientUrls);
    return new Promise((resolve, reject) => {
      client.leaseTimeToLive(req, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err !== null) reject(toError(err));
        else if (res === undefined) reject(etcdError('NO_LEADER'));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
