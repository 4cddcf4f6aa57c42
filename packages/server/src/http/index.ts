export { bindHost } from './bind-host.js';
export { createHttpHandler, PATH_HEALTH, PATH_METRICS, PATH_VERSION } from './create-http-handler.js';
export type { HttpEndpointsOptions, HttpRequestHandler } from './create-http-handler.js';
export { ensureDefaultMetrics } from './ensure-default-metrics.js';
export { unhealthyReason } from './health-status.js';
export type { HealthStatus } from './health-status.js';
export {
  BACKEND_SNAPSHOT_BUCKETS,
  DEFRAG_BUCKETS,
  DISK_LATENCY_BUCKETS,
  GRPC_HANDLING_BUCKETS,
  LEASE_TTL_BUCKETS,
  PEER_RTT_BUCKETS,
  createServerMetrics,
} from './metrics.js';
export type { ServerMetrics, ServerMetricsOptions } from './metrics.js';
export { startHttpServer } from './start-http-server.js';
export type { HttpServerHandle, StartHttpServerOptions } from './start-http-server.js';
export { listenClientPort } from './listen-client-port.js';
export type { ClientPortHandle, ClientPortOptions } from './listen-client-port.js';
