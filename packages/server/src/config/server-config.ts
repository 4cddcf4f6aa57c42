import { LOG_LEVELS, type LogLevel } from '../util/logger.js';

export { LOG_LEVELS, type LogLevel };

export type ClusterState = 'new' | 'existing';
export type AutoCompactionMode = 'periodic' | 'revision';
/** Storage engine of the backend; specific to etcd-ts (--experimental-backend-storage). */
export type BackendStorage = 'lmdb' | 'memory';
export type LoggerKind = 'zap' | 'capnslog';
export type AuthTokenType = 'simple' | 'jwt' | '';
/** What the process should do: run the server, or print help / version and exit 0. */
export type ConfigAction = 'serve' | 'help' | 'version';
/** Where an explicitly set flag got its value. */
export type ConfigSource = 'flag' | 'env' | 'config-file' | 'override';

/**
 * A validated http(s) URL of the form scheme://host:port with no path.
 * Invariant: `href` is `${scheme}://${host}` where host is `hostname` (bracketed
 * when it is an IPv6 literal) followed by `:${port}`.
 */
export interface EtcdUrl {
  readonly href: string;
  readonly scheme: 'http' | 'https';
  /** Host name or IP literal without IPv6 brackets; what a socket binds to or dials. */
  readonly hostname: string;
  /** 0..65535; 0 asks the OS for an ephemeral port when binding. */
  readonly port: number;
}

/** Resolved --auto-compaction-mode/--auto-compaction-retention; null means disabled. */
export type AutoCompaction =
  | { readonly mode: 'periodic'; readonly retentionMs: number }
  | { readonly mode: 'revision'; readonly retentionRevisions: number };

export interface InitialClusterMember {
  readonly name: string;
  readonly peerUrls: readonly EtcdUrl[];
}

/**
 * A fully resolved etcd server configuration: every default applied, every
 * derived value computed, every cross-flag rule of etcd 3.4 checked.
 * Field names are the camelCase of etcd's flag names; durations carry a unit
 * suffix (Ms, Seconds).
 */
export interface ServerConfig {
  readonly action: ConfigAction;
  /** Messages etcd would log as warnings while reading its configuration. */
  readonly warnings: readonly string[];
  /** Flags given a value explicitly (keyed by flag name without dashes); absent ones hold defaults. */
  readonly setBy: Readonly<Record<string, ConfigSource>>;
  /** --config-file (or ETCD_CONFIG_FILE); '' when none. */
  readonly configFile: string;

  // member
  readonly name: string;
  /** --data-dir; defaults to `${name}.etcd`, relative to the working directory. */
  readonly dataDir: string;
  /** --wal-dir; '' means the WAL lives inside the data directory. */
  readonly walDir: string;
  /** Committed entries between snapshots; 0 given is resolved to 100000 as etcd does. */
  readonly snapshotCount: number;
  readonly maxSnapshots: number;
  readonly maxWals: number;
  readonly heartbeatIntervalMs: number;
  /** Invariant: >= 5 * heartbeatIntervalMs and <= 50000. */
  readonly electionTimeoutMs: number;
  /** floor(electionTimeoutMs / heartbeatIntervalMs), the raft election tick count. */
  readonly electionTicks: number;
  readonly initialElectionTickAdvance: boolean;
  /** Sorted and de-duplicated, as etcd keeps URL lists. */
  readonly listenPeerUrls: readonly EtcdUrl[];
  readonly listenClientUrls: readonly EtcdUrl[];
  /** Extra listeners serving only /metrics and /health; empty when not set. */
  readonly listenMetricsUrls: readonly EtcdUrl[];
  /** -1 disables the quota, 0 means the 2 GiB default; see effectiveQuotaBackendBytes. */
  readonly quotaBackendBytes: number;
  /** Longest time a backend batch stays open before it commits; > 0 (0 given is resolved to 100). */
  readonly backendBatchIntervalMs: number;
  /** Most operations in a backend batch before it commits; > 0 (0 given is resolved to 10000). */
  readonly backendBatchLimit: number;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  readonly maxConcurrentStreams: number;
  readonly grpcKeepAliveMinTimeMs: number;
  readonly grpcKeepAliveIntervalMs: number;
  readonly grpcKeepAliveTimeoutMs: number;

  // clustering
  readonly initialAdvertisePeerUrls: readonly EtcdUrl[];
  readonly advertiseClientUrls: readonly EtcdUrl[];
  /** The --initial-cluster string as resolved (`${name}=${peer url}` pairs). */
  readonly initialCluster: string;
  /** initialCluster parsed; members in name order, each with sorted peer URLs. */
  readonly initialClusterMembers: readonly InitialClusterMember[];
  readonly initialClusterState: ClusterState;
  readonly initialClusterToken: string;
  readonly strictReconfigCheck: boolean;
  readonly preVote: boolean;
  readonly autoCompactionMode: AutoCompactionMode;
  /** --auto-compaction-retention as given ("0", "1", "5m", "1h30m", "1000"). */
  readonly autoCompactionRetention: string;
  /** null when retention is zero (auto compaction off). */
  readonly autoCompaction: AutoCompaction | null;
  readonly enableV2: boolean;

  // security (http layer)
  readonly cors: readonly string[];
  readonly hostWhitelist: readonly string[];

  // auth
  /** --auth-token as given, e.g. "simple" or "jwt,pub-key=...,priv-key=...,sign-method=RS256". */
  readonly authToken: string;
  readonly authTokenType: AuthTokenType;
  /** Options after the token type, e.g. { 'sign-method': 'RS256', ttl: '10m' }. */
  readonly authTokenOptions: Readonly<Record<string, string>>;
  /** Within 4..31; out-of-range values are resolved to 10 with a warning, as etcd does. */
  readonly bcryptCost: number;
  readonly authTokenTtlSeconds: number;

  // monitoring
  /** Accepted for compatibility; etcd-ts serves no pprof endpoints. */
  readonly enablePprof: boolean;
  /** --metrics: 'basic' or 'extensive'. */
  readonly metrics: string;
  readonly enableGrpcGateway: boolean;

  // logging
  readonly logger: LoggerKind;
  readonly logLevel: LogLevel;
  /**
   * 'stderr', 'stdout' or file paths; etcd's 'default' is resolved to 'stderr'.
   * Empty only when set so through defaultServerConfig (logging disabled).
   */
  readonly logOutputs: readonly string[];

  // experimental and unsafe
  readonly experimentalBackendStorage: BackendStorage;
  readonly experimentalInitialCorruptCheck: boolean;
  readonly experimentalCorruptCheckTimeMs: number;
  readonly experimentalEnableLeaseCheckpoint: boolean;
  readonly experimentalEnableLeaseCheckpointPersist: boolean;
  /** Revisions deleted per compaction batch; 0 given is resolved to 1000. */
  readonly experimentalCompactionBatchLimit: number;
  /** 0 given is resolved to 10 minutes. */
  readonly experimentalWatchProgressNotifyIntervalMs: number;
  readonly experimentalWarningApplyDurationMs: number;
  readonly forceNewCluster: boolean;
  readonly unsafeNoFsync: boolean;
}
