/**
 * Runs a member in this process: bootstrap its storage, start raft, serve gRPC
 * on the client URLs (and HTTP metrics/health on the metrics URLs). The handle's
 * close() stops accepting requests, stops raft, and closes the WAL and backend.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { createGrpcServer } from './api/grpc-server.js';
import { LeaderMonitor } from './api/leader-monitor.js';
import { OpenStreams } from './api/open-streams.js';
import { ETCD_CLUSTER_VERSION } from './config/version.js';
import { createHttpHandler } from './http/create-http-handler.js';
import type { HealthStatus } from './http/health-status.js';
import { listenClientPort, type ClientPortHandle } from './http/listen-client-port.js';
import { createServerMetrics } from './http/metrics.js';
import { startHttpServer, type HttpServerHandle } from './http/start-http-server.js';
import { bindHost } from './http/bind-host.js';
import { startPeerServer, type PeerServerHandle } from './cluster/start-peer-server.js';
import { defaultServerConfig, type ServerConfigOverrides } from './config/default-server-config.js';
import type { ServerConfig } from './config/server-config.js';
import { createLogger } from './util/logger.js';
import { AutoCompactor } from './etcd/auto-compactor.js';
import { bootstrap } from './etcd/bootstrap.js';
import { EtcdServer } from './etcd/etcd-server.js';

const SHUTDOWN_GRACE_MS = 2000;

export interface ServerHandle {
  readonly server: EtcdServer;
  /** The first client URL actually bound, e.g. http://127.0.0.1:2379. */
  readonly clientUrl: string;
  readonly clientUrls: readonly string[];
  readonly config: ServerConfig;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
}

function isServerConfig(c: ServerConfig | ServerConfigOverrides): c is ServerConfig {
  return 'action' in c && 'initialClusterMembers' in c;
}

/**
 * Starts a member. Accepts a full ServerConfig (as parsed from flags) or
 * overrides of the defaults, e.g. `{ dataDir }` or `{ experimentalBackendStorage: 'memory' }`.
 * In overrides, client URLs default to 127.0.0.1 on a free port.
 */
export async function startServer(config: ServerConfig | ServerConfigOverrides = {}, opts: StartOptions = {}): Promise<ServerHandle> {
  const cfg = isServerConfig(config)
    ? config
    : defaultServerConfig({
        listenClientUrls: 'http://127.0.0.1:0',
        advertiseClientUrls: 'http://127.0.0.1:0',
        ...config,
      });
  const log = opts.logger ?? createLogger({ level: cfg.logLevel, outputs: cfg.logOutputs });
  const boot = await bootstrap(cfg);
  const server = new EtcdServer(
    boot,
    {
      name: cfg.name,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      electionTicks: cfg.electionTicks,
      maxRequestBytes: cfg.maxRequestBytes,
      preVote: cfg.preVote,
      snapshotCount: cfg.snapshotCount,
      peerUrls: cfg.initialAdvertisePeerUrls.map((u) => u.href),
      dataDir: cfg.experimentalBackendStorage === 'memory' ? undefined : cfg.dataDir,
      backendBatchIntervalMs: cfg.backendBatchIntervalMs,
      backendBatchLimit: cfg.backendBatchLimit,
    },
    log,
  );
  const streams = { open: new OpenStreams(), leaders: new LeaderMonitor(server, cfg.electionTimeoutMs) };
  const grpcServer: grpc.Server = createGrpcServer(server, {
    maxRequestBytes: cfg.maxRequestBytes,
    maxTxnOps: cfg.maxTxnOps,
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    keepAliveMinTimeMs: cfg.grpcKeepAliveMinTimeMs,
    keepAliveIntervalMs: cfg.grpcKeepAliveIntervalMs,
    keepAliveTimeoutMs: cfg.grpcKeepAliveTimeoutMs,
    watchProgressNotifyIntervalMs: cfg.experimentalWatchProgressNotifyIntervalMs,
  }, streams);
  const metrics = createServerMetrics();
  metrics.sample(metrics.hasLeader, () => (server.lead !== 0n ? 1 : 0));
  metrics.sample(metrics.isLeader, () => (server.isLeader ? 1 : 0));
  metrics.sample(metrics.proposalsCommittedTotal, () => server.commitIndex);
  metrics.sample(metrics.proposalsAppliedTotal, () => server.appliedIndex);
  metrics.sample(metrics.dbTotalSizeInBytes, () => server.backend.size());
  metrics.sample(metrics.dbTotalSizeInUseInBytes, () => server.backend.sizeInUse());
  metrics.sample(metrics.keysTotal, () => server.kv.index.size);
  metrics.sample(metrics.currentRevision, () => server.kv.currentRev);
  metrics.sample(metrics.watchStreamTotal, () => server.watchable.stats.streams);
  metrics.sample(metrics.watcherTotal, () => {
    const w = server.watchable.stats;
    return w.synced + w.unsynced + w.victims;
  });
  metrics.sample(metrics.slowWatcherTotal, () => {
    const w = server.watchable.stats;
    return w.unsynced + w.victims;
  });
  metrics.sample(metrics.compactRevision, () => Math.max(server.kv.compactRev, 0));
  const status = (): HealthStatus => ({ hasLeader: server.lead !== 0n, alarms: [] });
  const httpHandler = createHttpHandler({
    logger: log,
    status,
    metrics: metrics.registry,
    clusterVersion: () => ETCD_CLUSTER_VERSION,
  });
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listeners: ClientPortHandle[] = [];
  const metricsListeners: HttpServerHandle[] = [];
  const peerListeners: PeerServerHandle[] = [];
  const clientUrls: string[] = [];
  const closeListeners = async (): Promise<void> => {
    await Promise.all([
      ...listeners.map((l) => l.close()),
      ...metricsListeners.map((l) => l.close()),
      ...peerListeners.map((l) => l.close()),
    ]);
  };
  try {
    // Peers must be able to reach this member before raft starts talking to them.
    const peerService = server.peerService();
    for (const u of cfg.listenPeerUrls) {
      peerListeners.push(await startPeerServer({ host: bindHost(u.hostname), port: u.port, service: peerService }));
    }
    server.start();
    for (const u of cfg.listenClientUrls) {
      const l = await listenClientPort({
        host: u.hostname,
        port: u.port,
        logger: log,
        onHttp2Connection: (socket) => injector.injectConnection(socket),
        onHttp1Request: (req, res) => {
          if (!httpHandler(req, res)) {
            res.statusCode = 404;
            res.end('404 page not found\n');
          }
        },
      });
      listeners.push(l);
      clientUrls.push(`${u.scheme}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`);
    }
    for (const u of cfg.listenMetricsUrls) {
      metricsListeners.push(
        await startHttpServer({ host: u.hostname, port: u.port, logger: log, status, metrics: metrics.registry, serveVersion: false }),
      );
    }
  } catch (err) {
    await closeListeners();
    grpcServer.forceShutdown();
    await server.stop();
    await boot.logStore.close();
    await boot.backend.close();
    throw err;
  }
  // Client requests wait for a leader themselves; the member's name and client URLs
  // (the ports actually bound, when 0 was asked for) are published through the log.
  const advertised = cfg.advertiseClientUrls.map((u) => u.href);
  void server.publish(advertised.some((u) => /:0$/.test(u)) ? clientUrls : advertised);
  const compactor =
    cfg.autoCompaction === null
      ? undefined
      : new AutoCompactor(
          cfg.autoCompaction,
          {
            currentRevision: () => server.kv.currentRev,
            compact: async (revision) => {
              await server.compact({ revision, physical: false });
            },
          },
          log,
        );
  compactor?.start();
  log.info({ name: cfg.name, memberId: server.memberId.toString(16), clientUrls }, 'serving client requests');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      compactor?.stop();
      // Watch and keep-alive streams never finish by themselves: end them so the graceful shutdown can complete.
      server.watchable.close();
      streams.leaders.stop();
      streams.open.endAll();
      // Graceful first: in-flight calls finish; connections still open after a grace period are cut.
      await new Promise<void>((resolve) => {
        const grace = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        grpcServer.tryShutdown(() => {
          clearTimeout(grace);
          resolve();
        });
      });
      await closeListeners();
      await server.stop();
      await boot.logStore.close();
      await boot.backend.close();
    })());
  return { server, clientUrl: clientUrls[0] ?? '', clientUrls, config: cfg, close };
}
