/**
 * The Watch service: one ServerWatchStream per call. Responses are encoded
 * by the stream itself (header and events are shared between watchers), so
 * the service's serializer passes encoded responses through.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { etcdError, etcdserverpb, WatchService } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { ServerWatchStream, type WatchCall } from './server-watch-stream.js';
import { toGrpcError } from './to-grpc-error.js';

/** etcd's minWatchProgressInterval: shorter progress intervals are raised to it. */
export const MIN_WATCH_PROGRESS_INTERVAL_MS = 100;
/** etcd's grpcOverheadBytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's rpctypes.MetadataRequireLeaderKey. */
const REQUIRE_LEADER_KEY = 'hasleader';

/** WatchService whose response serializer also accepts already-encoded responses. */
export const WatchServiceDefinition = {
  watch: {
    ...WatchService.watch,
    responseSerialize: (m: etcdserverpb.WatchResponseInit | Buffer): Buffer =>
      Buffer.isBuffer(m) ? m : etcdserverpb.WatchResponse.encode(m),
  },
};

export interface WatchServiceOptions {
  readonly maxRequestBytes: number;
  /** etcd's --experimental-watch-progress-notify-interval (0: the default, 10 minutes). */
  readonly progressNotifyIntervalMs: number;
}

export function watchService(s: EtcdServer, opts: WatchServiceOptions): UntypedServiceImplementation {
  const progressIntervalMs =
    opts.progressNotifyIntervalMs > 0 ? Math.max(MIN_WATCH_PROGRESS_INTERVAL_MS, opts.progressNotifyIntervalMs) : 10 * 60_000;
  return {
    watch: (call: WatchCall) => {
      // Like etcd's stream interceptor: a client that requires a leader is refused without one.
      if (call.metadata.get(REQUIRE_LEADER_KEY)[0] === 'true' && s.lead === 0n) {
        const g = toGrpcError(etcdError('NO_LEADER'));
        call.emit('error', Object.assign(new Error(g.details), g));
        return;
      }
      new ServerWatchStream(s, call, { maxFragmentBytes: opts.maxRequestBytes + GRPC_OVERHEAD_BYTES, progressIntervalMs });
    },
  };
}
