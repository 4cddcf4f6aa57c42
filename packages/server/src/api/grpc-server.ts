/**
 * The client-facing gRPC server: etcd's services on every --listen-client-urls
 * address, with etcd's message size limit (max request bytes plus 512 KiB of
 * gRPC overhead, so oversized requests reach the member's own, clearer check).
 */
import * as grpc from '@grpc/grpc-js';
import { ClusterService, KVService, LeaseService, MaintenanceService } from '@etcd-ts/api';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { clusterService } from './cluster-service.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { maintenanceService } from './maintenance-service.js';
import type { LeaderMonitor } from './leader-monitor.js';
import type { OpenStreams } from './open-streams.js';
import { learnerAllowsKV, learnerAllowsMaintenance, learnerGuard } from './learner-guard.js';
import { watchService, WatchServiceDefinition } from './watch-service.js';

/** etcd's grpcOverheadBytes. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export interface GrpcServerOptions {
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly maxConcurrentStreams: number;
  readonly keepAliveMinTimeMs: number;
  readonly keepAliveIntervalMs: number;
  readonly keepAliveTimeoutMs: number;
  /** etcd's --experimental-watch-progress-notify-interval; 0 or absent: 10 minutes. */
  readonly watchProgressNotifyIntervalMs?: number;
}

/** Registries of the long-lived streams of the server (shutdown, leader loss). */
export interface ServerStreams {
  readonly open: OpenStreams;
  readonly leaders: LeaderMonitor;
}

export function createGrpcServer(s: EtcdServer, opts: GrpcServerOptions, streams: ServerStreams): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.max_concurrent_streams': Math.min(opts.maxConcurrentStreams, 2 ** 31 - 1),
    'grpc.http2.min_ping_interval_without_data_ms': opts.keepAliveMinTimeMs,
    ...(opts.keepAliveIntervalMs > 0 ? { 'grpc.keepalive_time_ms': opts.keepAliveIntervalMs } : {}),
    'grpc.keepalive_timeout_ms': opts.keepAliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    // channelz call tracing costs work on every call and nothing here reads it.
    'grpc.enable_channelz': 0,
  });
  server.addService(KVService, learnerGuard(s, kvService(s, { maxTxnOps: opts.maxTxnOps }), learnerAllowsKV));
  server.addService(LeaseService, learnerGuard(s, leaseService(s, streams.open, streams.leaders)));
  server.addService(
    WatchServiceDefinition,
    learnerGuard(
      s,
      watchService(
        s,
        { maxRequestBytes: opts.maxRequestBytes, progressNotifyIntervalMs: opts.watchProgressNotifyIntervalMs ?? 0 },
        streams.leaders,
      ),
    ),
  );
  server.addService(MaintenanceService, learnerGuard(s, maintenanceService(s), learnerAllowsMaintenance));
  server.addService(ClusterService, learnerGuard(s, clusterService(s)));
  return server;
}
