/**
 * Runs a member in this process: bootstrap its storage, start raft, serve gRPC
 * on the client URLs (and HTTP metrics/health on the metrics URLs). The handle's
 * close() stops accepting requests, stops raft, and closes the WAL and backend.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { bindGrpc, createGrpcServer } from '../api/grpc-server.js';
import { defaultServerConfig, type ServerConfigOverrides } from '../config/default-server-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { createLogger } from '../util/logger.js';
import { bootstrap } from './bootstrap.js';
import { EtcdServer } from './etcd-server.js';

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
      maxTxnOps: cfg.maxTxnOps,
      preVote: cfg.preVote,
      clientUrls: cfg.advertiseClientUrls.map((u) => u.href),
      snapshotCount: cfg.snapshotCount,
    },
    log,
  );
  const grpcServer: grpc.Server = createGrpcServer(server, {
    maxRequestBytes: cfg.maxRequestBytes,
    maxTxnOps: cfg.maxTxnOps,
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    keepAliveMinTimeMs: cfg.grpcKeepAliveMinTimeMs,
    keepAliveIntervalMs: cfg.grpcKeepAliveIntervalMs,
    keepAliveTimeoutMs: cfg.grpcKeepAliveTimeoutMs,
  });
  const clientUrls: string[] = [];
  try {
    for (const u of cfg.listenClientUrls) {
      const port = await bindGrpc(grpcServer, u.hostname, u.port);
      clientUrls.push(`${u.scheme}://${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${port}`);
    }
  } catch (err) {
    grpcServer.forceShutdown();
    await boot.logStore.close();
    await boot.backend.close();
    throw err;
  }
  // A client URL advertised with port 0 names the port actually bound.
  const self = server.members.get(server.memberId);
  if (self !== undefined && self.clientURLs.some((u) => /:0$/.test(u))) {
    server.members.set(server.memberId, { ...self, clientURLs: clientUrls });
  }
  server.start();
  await server.waitLeader(Math.max(5000, 4 * cfg.electionTimeoutMs));
  log.info({ name: cfg.name, memberId: server.memberId.toString(16), clientUrls }, 'serving client requests');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      await server.stop();
      await boot.logStore.close();
      await boot.backend.close();
    })());
  return { server, clientUrl: clientUrls[0] ?? '', clientUrls, config: cfg, close };
}
