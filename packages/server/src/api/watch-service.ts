/**
 * The Watch service: one ServerWatchStream per call. Responses are encoded
 * by the stream itself (header and events are shared between watchers), so
 * the service's serializer passes encoded responses through.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { etcdserverpb, WatchService } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import type { LeaderMonitor } from './leader-monitor.js';
import { ServerWatchStream, type WatchCall } from './server-watch-stream.js';

/** etcd's minWatchProgressInterval: shorter progress intervals are raised to it. */
export const MIN_WATCH_PROGRESS_INTERVAL_MS = 100;
/** etcd's grpcOverheadBytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

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

export function watchService(s: EtcdServer, opts: WatchServiceOptions, leaders: LeaderMonitor): UntypedServiceImplementation {
  const progressIntervalMs =
    opts.progressNotifyIntervalMs > 0 ? Math.max(MIN_WATCH_PROGRESS_INTERVAL_MS, opts.progressNotifyIntervalMs) : 10 * 60_000;
  return {
    watch: (call: WatchCall) => {
      if (!leaders.admit(call as ServerDuplexStream<unknown, unknown>)) return;
      new ServerWatchStream(s, call, { maxFragmentBytes: opts.maxRequestBytes + GRPC_OVERHEAD_BYTES, progressIntervalMs });
    },
  };
}
