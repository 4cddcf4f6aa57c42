export { ConfigError } from './config-error.js';
export type { ConfigErrorCode } from './config-error.js';
export { defaultServerConfig } from './default-server-config.js';
export type { ServerConfigOverrides } from './default-server-config.js';
export {
  DEFAULT_QUOTA_BACKEND_BYTES,
  MAX_QUOTA_BACKEND_BYTES,
  effectiveQuotaBackendBytes,
} from './effective-quota-backend-bytes.js';
export { FLAG_DEFINITIONS, FLAG_GROUPS } from './flag-definitions.js';
export type { FlagDefinition, FlagGroup, FlagKind, FlagSupport } from './flag-definitions.js';
export { flagToEnv } from './flag-to-env.js';
export { formatUsage, formatUsageLine } from './format-usage.js';
export { parseEtcdUrl, parseEtcdUrls, EtcdUrlError } from './parse-etcd-urls.js';
export { parseGoDuration, GoDurationError } from './parse-go-duration.js';
export { parseInitialCluster } from './parse-initial-cluster.js';
export { parseServerConfig } from './parse-server-config.js';
export type { ParseServerConfigOptions } from './parse-server-config.js';
export { LOG_LEVELS } from './server-config.js';
export type {
  AuthTokenType,
  AutoCompaction,
  AutoCompactionMode,
  BackendStorage,
  ClusterState,
  ConfigAction,
  ConfigSource,
  EtcdUrl,
  InitialClusterMember,
  LogLevel,
  LoggerKind,
  ServerConfig,
} from './server-config.js';
export { ETCD_CLUSTER_VERSION, ETCD_MIN_CLUSTER_VERSION, ETCD_TS_VERSION, ETCD_VERSION, formatVersion } from './version.js';
