import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, register } from 'prom-client';
import type { Registry } from 'prom-client';
import { ETCD_CLUSTER_VERSION, ETCD_VERSION } from '../config/version.js';
import type { Logger } from '../util/logger.js';
import { ensureDefaultMetrics } from './ensure-default-metrics.js';
import type { HealthStatus } from './health-status.js';
import { unhealthyReason } from './health-status.js';

export const PATH_METRICS = '/metrics';
export const PATH_HEALTH = '/health';
export const PATH_VERSION = '/version';

export interface HttpEndpointsOptions {
  readonly logger: Logger;
  /** Called for every /health request. */
  readonly status: () => HealthStatus | Promise<HealthStatus>;
  /** The server's own registry (see createServerMetrics); served after the default registry. */
  readonly metrics: Registry;
  /** Cluster version for /version; null reports "not_decided" as etcd does before it is decided. */
  readonly clusterVersion?: () => string | null;
  /** Serve /version too; the --listen-metrics-urls listeners serve only /metrics and /health. Default true. */
  readonly serveVersion?: boolean;
  /** Include prom-client's default registry (process_* and nodejs_* metrics). Default true. */
  readonly includeDefaultMetrics?: boolean;
}

/**
 * Serves one request if its path is one of etcd's HTTP endpoints and returns
 * true (the response is then owned by the handler); returns false, leaving the
 * response untouched, for any other path.
 */
export type HttpRequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A complete response with a Content-Length, as Go writes small bodies. */
function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Go's http.Error: plain text, no sniffing, a trailing newline. */
function sendError(res: ServerResponse, status: number, body: string): void {
  send(res, status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, `${body}\n`);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendError(res, 405, 'Method Not Allowed');
}

function counterIn(registry: Registry, name: string): Counter | undefined {
  const m = registry.getSingleMetric(name);
  return m instanceof Counter ? m : undefined;
}

/**
 * etcd's /metrics, /health and /version, for any node:http server (the metrics
 * listener, or a client-URL listener next to gRPC).
 * - /metrics: Prometheus text of the default registry then `metrics`.
 * - /health: GET only; 200 {"health":"true"} or 503 {"health":"false"} when there
 *   is no leader, an alarm not listed in ?exclude= is active, or the quorum
 *   read failed. Counts into etcd_server_health_success/_failures when those
 *   are registered in `metrics`.
 * - /version: GET only; {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}.
 */
export function createHttpHandler(options: HttpEndpointsOptions): HttpRequestHandler {
  const { logger, metrics } = options;
  const includeDefault = options.includeDefaultMetrics ?? true;
  if (includeDefault) ensureDefaultMetrics();
  const serveVersion = options.serveVersion ?? true;

  async function serveMetrics(res: ServerResponse): Promise<void> {
    const parts: string[] = [];
    if (includeDefault && metrics !== register) parts.push(await register.metrics());
    parts.push(await metrics.metrics());
    send(res, 200, { 'Content-Type': metrics.contentType }, parts.join('\n'));
  }

  async function serveHealth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const excluded = new Set(query.getAll('exclude').filter((a) => a !== ''));
    let reason: string | null;
    try {
      reason = unhealthyReason(await options.status(), excluded);
    } catch (e) {
      reason = `status check failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (reason === null) {
      counterIn(metrics, 'etcd_server_health_success')?.inc();
      logger.debug({ status: 200 }, '/health OK');
      send(res, 200, { 'Content-Type': 'text/plain; charset=utf-8' }, JSON.stringify({ health: 'true' }));
      return;
    }
    counterIn(metrics, 'etcd_server_health_failures')?.inc();
    logger.warn({ reason, status: 503 }, '/health error');
    sendError(res, 503, JSON.stringify({ health: 'false' }));
  }

  function serveVersionInfo(res: ServerResponse): void {
    const cluster = options.clusterVersion === undefined ? ETCD_CLUSTER_VERSION : options.clusterVersion();
    send(res, 200, { 'Content-Type': 'application/json' }, JSON.stringify({ etcdserver: ETCD_VERSION, etcdcluster: cluster ?? 'not_decided' }));
  }

  const fail = (res: ServerResponse, path: string) => (e: unknown) => {
    logger.error({ error: e instanceof Error ? e.message : String(e), path }, 'failed to serve HTTP request');
    if (!res.headersSent) sendError(res, 500, 'Internal Server Error');
    else res.destroy();
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case PATH_METRICS:
        serveMetrics(res).catch(fail(res, path));
        return true;
      case PATH_HEALTH:
        if (req.method !== 'GET') methodNotAllowed(res, 'GET');
        else serveHealth(req, res).catch(fail(res, path));
        return true;
      case PATH_VERSION:
        if (!serveVersion) return false;
        if (req.method !== 'GET') methodNotAllowed(res, 'GET');
        else serveVersionInfo(res);
        return true;
      default:
        return false;
    }
  };
}
