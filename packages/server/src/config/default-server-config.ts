import { ConfigError } from './config-error.js';
import { FLAG_DEFINITIONS } from './flag-definitions.js';
import { GoFlagSet } from './go-flag-set.js';
import { FlagValueError } from './parse-flag-value.js';
import { resolveServerConfig } from './resolve-server-config.js';
import type { AutoCompactionMode, BackendStorage, ClusterState, LogLevel, LoggerKind, ServerConfig } from './server-config.js';

type Urls = string | readonly string[];

/** Settings for an in-process server, named like the ServerConfig fields they set. */
export interface ServerConfigOverrides {
  readonly name?: string;
  readonly dataDir?: string;
  readonly walDir?: string;
  readonly snapshotCount?: number;
  readonly maxSnapshots?: number;
  readonly maxWals?: number;
  readonly heartbeatIntervalMs?: number;
  readonly electionTimeoutMs?: number;
  readonly initialElectionTickAdvance?: boolean;
  readonly listenPeerUrls?: Urls;
  readonly listenClientUrls?: Urls;
  readonly listenMetricsUrls?: Urls;
  readonly quotaBackendBytes?: number;
  readonly backendBatchIntervalMs?: number;
  readonly backendBatchLimit?: number;
  readonly maxTxnOps?: number;
  readonly maxRequestBytes?: number;
  readonly maxConcurrentStreams?: number;
  readonly grpcKeepAliveMinTimeMs?: number;
  readonly grpcKeepAliveIntervalMs?: number;
  readonly grpcKeepAliveTimeoutMs?: number;
  readonly initialAdvertisePeerUrls?: Urls;
  readonly advertiseClientUrls?: Urls;
  readonly initialCluster?: string;
  readonly initialClusterState?: ClusterState;
  readonly initialClusterToken?: string;
  readonly strictReconfigCheck?: boolean;
  readonly preVote?: boolean;
  readonly autoCompactionMode?: AutoCompactionMode;
  readonly autoCompactionRetention?: string | number;
  readonly cors?: string | readonly string[];
  readonly hostWhitelist?: string | readonly string[];
  readonly authToken?: string;
  readonly bcryptCost?: number;
  readonly authTokenTtlSeconds?: number;
  readonly enablePprof?: boolean;
  readonly metrics?: string;
  readonly enableGrpcGateway?: boolean;
  readonly logger?: LoggerKind;
  readonly logLevel?: LogLevel;
  readonly logOutputs?: string | readonly string[];
  readonly experimentalBackendStorage?: BackendStorage;
  readonly experimentalInitialCorruptCheck?: boolean;
  readonly experimentalCorruptCheckTimeMs?: number;
  readonly experimentalEnableLeaseCheckpoint?: boolean;
  readonly experimentalEnableLeaseCheckpointPersist?: boolean;
  readonly experimentalCompactionBatchLimit?: number;
  readonly experimentalWatchProgressNotifyIntervalMs?: number;
  readonly experimentalWarningApplyDurationMs?: number;
  readonly forceNewCluster?: boolean;
  readonly unsafeNoFsync?: boolean;
}

/** Override field -> flag name; fields ending in Ms map onto Go duration flags unless listed in MS_AS_NUMBER. */
const OVERRIDE_FLAGS: Readonly<Record<keyof ServerConfigOverrides, string>> = {
  name: 'name',
  dataDir: 'data-dir',
  walDir: 'wal-dir',
  snapshotCount: 'snapshot-count',
  maxSnapshots: 'max-snapshots',
  maxWals: 'max-wals',
  heartbeatIntervalMs: 'heartbeat-interval',
  electionTimeoutMs: 'election-timeout',
  initialElectionTickAdvance: 'initial-election-tick-advance',
  listenPeerUrls: 'listen-peer-urls',
  listenClientUrls: 'listen-client-urls',
  listenMetricsUrls: 'listen-metrics-urls',
  quotaBackendBytes: 'quota-backend-bytes',
  backendBatchIntervalMs: 'backend-batch-interval',
  backendBatchLimit: 'backend-batch-limit',
  maxTxnOps: 'max-txn-ops',
  maxRequestBytes: 'max-request-bytes',
  maxConcurrentStreams: 'max-concurrent-streams',
  grpcKeepAliveMinTimeMs: 'grpc-keepalive-min-time',
  grpcKeepAliveIntervalMs: 'grpc-keepalive-interval',
  grpcKeepAliveTimeoutMs: 'grpc-keepalive-timeout',
  initialAdvertisePeerUrls: 'initial-advertise-peer-urls',
  advertiseClientUrls: 'advertise-client-urls',
  initialCluster: 'initial-cluster',
  initialClusterState: 'initial-cluster-state',
  initialClusterToken: 'initial-cluster-token',
  strictReconfigCheck: 'strict-reconfig-check',
  preVote: 'pre-vote',
  autoCompactionMode: 'auto-compaction-mode',
  autoCompactionRetention: 'auto-compaction-retention',
  cors: 'cors',
  hostWhitelist: 'host-whitelist',
  authToken: 'auth-token',
  bcryptCost: 'bcrypt-cost',
  authTokenTtlSeconds: 'auth-token-ttl',
  enablePprof: 'enable-pprof',
  metrics: 'metrics',
  enableGrpcGateway: 'enable-grpc-gateway',
  logger: 'logger',
  logLevel: 'log-level',
  logOutputs: 'log-outputs',
  experimentalBackendStorage: 'experimental-backend-storage',
  experimentalInitialCorruptCheck: 'experimental-initial-corrupt-check',
  experimentalCorruptCheckTimeMs: 'experimental-corrupt-check-time',
  experimentalEnableLeaseCheckpoint: 'experimental-enable-lease-checkpoint',
  experimentalEnableLeaseCheckpointPersist: 'experimental-enable-lease-checkpoint-persist',
  experimentalCompactionBatchLimit: 'experimental-compaction-batch-limit',
  experimentalWatchProgressNotifyIntervalMs: 'experimental-watch-progress-notify-interval',
  experimentalWarningApplyDurationMs: 'experimental-warning-apply-duration',
  forceNewCluster: 'force-new-cluster',
  unsafeNoFsync: 'unsafe-no-fsync',
};

function toFlagText(kind: string, value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  if (kind === 'duration' && typeof value === 'number') return `${value}ms`;
  return String(value);
}

/**
 * The configuration etcd would run with given no flags, with `overrides`
 * applied and validated by the same rules as the command line (errors name the
 * override field). For embedding: listen URLs given without matching advertise
 * URLs are also advertised, and no warning about the default data directory is
 * produced. Port 0 in a listen URL asks for an ephemeral port.
 * Throws ConfigError.
 */
export function defaultServerConfig(overrides: ServerConfigOverrides = {}): ServerConfig {
  const fs = new GoFlagSet(FLAG_DEFINITIONS);
  for (const [field, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const flag = OVERRIDE_FLAGS[field as keyof ServerConfigOverrides] as string | undefined;
    if (flag === undefined) throw new ConfigError('invalid-config', `unknown server config field ${JSON.stringify(field)}`);
    const def = FLAG_DEFINITIONS.get(flag);
    if (def === undefined) throw new Error(`flag -${flag} is not defined`);
    const text = toFlagText(def.kind, value);
    try {
      fs.set(flag, text, 'override');
    } catch (e) {
      if (!(e instanceof FlagValueError)) throw e;
      throw new ConfigError('invalid-config', `invalid value ${JSON.stringify(text)} for ${field}: ${e.message}`, flag);
    }
  }
  return resolveServerConfig(fs, 'embed', 'serve', []);
}
