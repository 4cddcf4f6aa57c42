/**
 * The Lease service. Grant and revoke go through the log; keep-alives and
 * time-to-live are answered by the leader's lessor. As in etcd, a keep-alive
 * for an unknown lease answers TTL 0 and keeps the stream open, and a
 * time-to-live for an unknown lease answers TTL -1.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { isEtcdError, type etcdserverpb } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { responseHeader, withHeader } from './response-header.js';
import { failStream } from './to-grpc-error.js';
import type { LeaderMonitor } from './leader-monitor.js';
import type { OpenStreams } from './open-streams.js';
import { unary } from './unary.js';

type KeepAliveStream = ServerDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponseInit>;

export function leaseService(s: EtcdServer, streams: OpenStreams, leaders: LeaderMonitor): UntypedServiceImplementation {
  return {
    leaseGrant: unary(async (r: etcdserverpb.LeaseGrantRequest) => withHeader(s, await s.leaseGrant(r))),
    leaseRevoke: unary(async (r: etcdserverpb.LeaseRevokeRequest) => withHeader(s, await s.leaseRevoke(r))),
    leaseTimeToLive: unary(async (r: etcdserverpb.LeaseTimeToLiveRequest) => {
      try {
        return withHeader(s, await s.leaseTimeToLive(r));
      } catch (err) {
        if (!isEtcdError(err, 'LEASE_NOT_FOUND')) throw err;
        return { header: responseHeader(s), ID: r.ID, TTL: -1 };
      }
    }),
    leaseLeases: unary(() => withHeader(s, s.leaseLeases())),
    leaseKeepAlive: (call: KeepAliveStream) => {
      if (!leaders.admit(call as ServerDuplexStream<unknown, unknown>)) return;
      streams.add(call as ServerDuplexStream<unknown, unknown>);
      // Renewals of one stream are answered in request order.
      let chain = Promise.resolve();
      call.on('data', (req: etcdserverpb.LeaseKeepAliveRequest) => {
        chain = chain.then(async () => {
          let ttl: number;
          try {
            ttl = await s.leaseRenew(req.ID);
          } catch (err) {
            if (!isEtcdError(err, 'LEASE_NOT_FOUND')) throw err;
            ttl = 0;
          }
          if (!call.cancelled && call.writable) call.write({ header: responseHeader(s), ID: req.ID, TTL: ttl });
        }).catch((err: unknown) => {
          if (!call.cancelled) failStream(call, err);
        });
      });
      call.on('end', () => {
        void chain.finally(() => call.end());
      });
      call.on('error', () => {});
    },
  };
}
