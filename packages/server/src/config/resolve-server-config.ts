import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';
import { MAX_QUOTA_BACKEND_BYTES } from './effective-quota-backend-bytes.js';
import type { GoFlagSet } from './go-flag-set.js';
import { AuthTokenError, parseAuthToken } from './parse-auth-token.js';
import { AutoCompactionError, parseAutoCompaction } from './parse-auto-compaction.js';
import { EtcdUrlError } from './parse-etcd-urls.js';
import { parseInitialCluster } from './parse-initial-cluster.js';
import { LOG_LEVELS } from './server-config.js';
import type { ConfigAction, EtcdUrl, LogLevel, LoggerKind, ServerConfig } from './server-config.js';

/**
 * How flags were supplied, which changes two defaults exactly as etcd's entry
 * points differ:
 * - 'cli' (command line and environment): setting --listen-client-urls without
 *   --advertise-client-urls is an error (etcdmain's rule).
 * - 'file' (--config-file): as 'cli', except a missing advertise list keeps its default.
 * - 'embed' (defaultServerConfig): advertise URLs not given default to the listen
 *   URLs given, which is what an in-process server wants.
 */
export type ResolveMode = 'cli' | 'file' | 'embed';

const DEFAULT_SNAPSHOT_COUNT = 100_000;
const DEFAULT_COMPACTION_BATCH_LIMIT = 1000;
/** etcd's defaultBatchInterval and defaultBatchLimit (backend package). */
const DEFAULT_BACKEND_BATCH_INTERVAL_MS = 100;
const DEFAULT_BACKEND_BATCH_LIMIT = 10_000;
const DEFAULT_WATCH_PROGRESS_NOTIFY_MS = 10 * 60_000;
const MAX_ELECTION_MS = 50_000;
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
const BCRYPT_DEFAULT_COST = 10;

function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** etcd's checkBindURLs: a listen URL must name an IP address or "localhost". */
function checkBindUrls(urls: readonly EtcdUrl[]): void {
  for (const u of urls) {
    if (u.hostname === 'localhost') continue;
    if (isIP(u.hostname) === 0) throw new ConfigError('invalid-config', `expected IP in URL for binding (${u.href})`);
  }
}

/** etcd's checkHostURLs: an advertised URL must have a non-empty host. */
function checkHostUrls(flag: string, urls: readonly EtcdUrl[]): void {
  for (const u of urls) {
    if (u.hostname === '') {
      const list = urls.map((x) => x.href).join(',');
      throw new ConfigError(
        'invalid-config',
        `--${flag} ${JSON.stringify(list)} must be "host:port" (unexpected empty host (${u.href}))`,
        flag,
      );
    }
  }
}

const UNSUPPORTED_REASON: Readonly<Record<string, string>> = {
  discovery: 'discovery is not implemented; bootstrap with --initial-cluster',
  'discovery-srv': 'discovery is not implemented; bootstrap with --initial-cluster',
  'discovery-srv-name': 'discovery is not implemented; bootstrap with --initial-cluster',
  'discovery-proxy': 'discovery is not implemented; bootstrap with --initial-cluster',
  proxy: 'the v2 proxy is not implemented',
  'enable-v2': 'the v2 API is not implemented',
  'experimental-enable-v2v3': 'the v2 API is not implemented',
};

function resolveLogging(
  fs: GoFlagSet,
  mode: ResolveMode,
  warnings: string[],
): { logger: LoggerKind; logLevel: LogLevel; logOutputs: string[] } {
  const logger = fs.string('logger');
  if (logger !== 'zap' && logger !== 'capnslog') {
    throw new ConfigError('invalid-config', `unknown logger option ${JSON.stringify(logger)}`, 'logger');
  }
  let outputs = [...fs.strings('log-outputs')];
  if (fs.isSet('log-output')) {
    if (fs.isSet('log-outputs')) {
      throw new ConfigError('invalid-config', "both '--log-output' and '--log-outputs' are set; only set '--log-outputs'", 'log-output');
    }
    warnings.push("'--log-output' flag has been deprecated! Please use '--log-outputs'!");
    outputs = [...fs.strings('log-output')];
  }
  if (outputs.length === 0 && mode !== 'embed') {
    throw new ConfigError('invalid-config', '--log-outputs must name at least one output', 'log-outputs');
  }
  if (logger === 'capnslog' && outputs.length > 0) {
    if (outputs.length !== 1) {
      throw new ConfigError(
        'invalid-config',
        `--logger=capnslog supports only 1 value in '--log-outputs', got ${goQuoteList(outputs)}`,
        'log-outputs',
      );
    }
    const o = outputs[0] as string;
    if (o !== 'default' && o !== 'stderr' && o !== 'stdout') {
      throw new ConfigError(
        'invalid-config',
        `unknown log-output ${JSON.stringify(o)} (only supports "default", "stderr", "stdout")`,
        'log-outputs',
      );
    }
  } else if (outputs.length > 1 && outputs.includes('default')) {
    throw new ConfigError('invalid-config', 'multi logoutput for "default" is not supported yet', 'log-outputs');
  }
  const resolved: string[] = [];
  for (const o of outputs) {
    let target = o;
    if (o === 'default') target = 'stderr';
    if (o === 'systemd/journal') {
      warnings.push("log output 'systemd/journal' is not supported by etcd-ts; logging to stderr");
      target = 'stderr';
    }
    if (!resolved.includes(target)) resolved.push(target);
  }

  const level = fs.string('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      'invalid-config',
      `unknown level ${JSON.stringify(level)} for --log-level (only supports ${LOG_LEVELS.join(', ')})`,
      'log-level',
    );
  }
  let logLevel = level as LogLevel;
  if (fs.bool('debug')) {
    warnings.push("deprecated '--debug' flag is set; use '--log-level=debug' instead");
    if (!fs.isSet('log-level')) logLevel = 'debug';
  }
  return { logger, logLevel, logOutputs: resolved };
}

/**
 * Builds the ServerConfig from a parsed flag set, applying etcd 3.4's derived
 * defaults and validation in etcd's order, so that the first error reported is
 * the one etcd would report.
 */
export function resolveServerConfig(
  fs: GoFlagSet,
  mode: ResolveMode,
  action: ConfigAction,
  inheritedWarnings: readonly string[],
): ServerConfig {
  const warnings = [...inheritedWarnings, ...fs.warnings];

  const name = fs.string('name');
  let dataDir = fs.string('data-dir');
  if (dataDir === '') {
    dataDir = `${name}.etcd`;
    if (mode !== 'embed' && action === 'serve') warnings.push(`no data-dir provided, using default data-dir ./${dataDir}`);
  }

  const listenPeerUrls = fs.urls('listen-peer-urls');
  const listenClientUrls = fs.urls('listen-client-urls');
  const listenMetricsUrls = fs.urls('listen-metrics-urls');
  let initialAdvertisePeerUrls = fs.urls('initial-advertise-peer-urls');
  let advertiseClientUrls = fs.urls('advertise-client-urls');
  let advertiseClientMissing = false;
  if (fs.isSet('listen-client-urls') && !fs.isSet('advertise-client-urls')) {
    if (mode === 'cli') advertiseClientMissing = true;
    if (mode === 'embed') advertiseClientUrls = listenClientUrls;
  }
  if (mode === 'embed' && fs.isSet('listen-peer-urls') && !fs.isSet('initial-advertise-peer-urls')) {
    initialAdvertisePeerUrls = listenPeerUrls;
  }

  const discoverySet = fs.string('discovery') !== '' || fs.string('discovery-srv') !== '' || fs.string('discovery-srv-name') !== '';
  let initialCluster = fs.string('initial-cluster');
  if (!fs.isSet('initial-cluster')) {
    const member = name === '' ? 'default' : name;
    initialCluster = discoverySet ? '' : initialAdvertisePeerUrls.map((u) => `${member}=${u.href}`).join(',');
  }

  // etcd's embed.Config.Validate, in its order.
  const logging = resolveLogging(fs, mode, warnings);
  checkBindUrls(listenPeerUrls);
  checkBindUrls(listenClientUrls);
  checkBindUrls(listenMetricsUrls);
  checkHostUrls('initial-advertise-peer-urls', initialAdvertisePeerUrls);
  checkHostUrls('advertise-client-urls', advertiseClientUrls);
  const bootstrapSources = [fs.string('discovery') !== '', initialCluster !== '', fs.string('discovery-srv') !== ''];
  if (bootstrapSources.filter(Boolean).length > 1) {
    throw new ConfigError(
      'invalid-config',
      'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
    );
  }
  const heartbeatIntervalMs = fs.number('heartbeat-interval');
  const electionTimeoutMs = fs.number('election-timeout');
  if (heartbeatIntervalMs <= 0) {
    throw new ConfigError('invalid-config', `--heartbeat-interval must be >0 (set to ${heartbeatIntervalMs}ms)`, 'heartbeat-interval');
  }
  if (electionTimeoutMs <= 0) {
    throw new ConfigError('invalid-config', `--election-timeout must be >0 (set to ${electionTimeoutMs}ms)`, 'election-timeout');
  }
  if (5 * heartbeatIntervalMs > electionTimeoutMs) {
    throw new ConfigError(
      'invalid-config',
      `--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`,
      'election-timeout',
    );
  }
  if (electionTimeoutMs > MAX_ELECTION_MS) {
    throw new ConfigError(
      'invalid-config',
      `--election-timeout[${electionTimeoutMs}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`,
      'election-timeout',
    );
  }
  if (advertiseClientMissing) {
    throw new ConfigError(
      'invalid-config',
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
      'advertise-client-urls',
    );
  }
  const autoCompactionMode = fs.string('auto-compaction-mode');
  if (autoCompactionMode !== 'periodic' && autoCompactionMode !== 'revision') {
    throw new ConfigError('invalid-config', `unknown auto-compaction-mode ${JSON.stringify(autoCompactionMode)}`, 'auto-compaction-mode');
  }
  const leaseCheckpoint = fs.bool('experimental-enable-lease-checkpoint');
  const leaseCheckpointPersist = fs.bool('experimental-enable-lease-checkpoint-persist');
  if (leaseCheckpointPersist && !leaseCheckpoint) {
    throw new ConfigError(
      'invalid-config',
      'setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint',
      'experimental-enable-lease-checkpoint-persist',
    );
  }

  // Settings etcd-ts cannot honour and must not silently ignore.
  for (const def of fs.definitions.values()) {
    if (!fs.isSet(def.name)) continue;
    if (def.support === 'unsupported') {
      const isDefault =
        def.kind === 'bool'
          ? fs.bool(def.name) === (def.defaultValue === 'true')
          : def.kind === 'strings'
            ? fs.strings(def.name).length === 0
            : fs.string(def.name) === def.defaultValue;
      if (isDefault) continue;
      const reason = UNSUPPORTED_REASON[def.name] ?? 'TLS is not implemented';
      throw new ConfigError('unsupported', `--${def.name} is not supported by etcd-ts (${reason})`, def.name);
    }
    if (def.support === 'inert') warnings.push(`--${def.name} has no effect in etcd-ts`);
  }
  const tlsListen: [readonly EtcdUrl[], string][] = [
    [listenClientUrls, 'TLS key/cert (--cert-file, --key-file) must be provided for client url %s with HTTPS scheme'],
    [listenMetricsUrls, 'TLS key/cert (--cert-file, --key-file) must be provided for metrics url %s with HTTPS scheme'],
    [listenPeerUrls, 'TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url %s with HTTPS scheme'],
  ];
  for (const [urls, template] of tlsListen) {
    const https = urls.find((u) => u.scheme === 'https');
    if (https !== undefined) throw new ConfigError('unsupported', template.replace('%s', https.href));
  }

  // Values etcd resolves while starting the server.
  const autoCompactionRetention = fs.string('auto-compaction-retention');
  let autoCompaction: ServerConfig['autoCompaction'];
  try {
    autoCompaction = parseAutoCompaction(autoCompactionMode, autoCompactionRetention);
  } catch (e) {
    if (e instanceof AutoCompactionError) throw new ConfigError('invalid-config', e.message, 'auto-compaction-retention');
    throw e;
  }
  const authToken = fs.string('auth-token');
  let authSpec: ReturnType<typeof parseAuthToken>;
  try {
    authSpec = parseAuthToken(authToken);
  } catch (e) {
    if (e instanceof AuthTokenError) throw new ConfigError('invalid-config', e.message, 'auth-token');
    throw e;
  }
  let initialClusterMembers: ServerConfig['initialClusterMembers'];
  try {
    initialClusterMembers = parseInitialCluster(initialCluster);
  } catch (e) {
    if (e instanceof EtcdUrlError) {
      throw new ConfigError('invalid-config', `invalid --initial-cluster ${JSON.stringify(initialCluster)}: ${e.message}`, 'initial-cluster');
    }
    throw e;
  }

  let snapshotCount = fs.number('snapshot-count');
  if (snapshotCount === 0) {
    warnings.push(`--snapshot-count=0 is replaced by the default ${DEFAULT_SNAPSHOT_COUNT}`);
    snapshotCount = DEFAULT_SNAPSHOT_COUNT;
  }
  let bcryptCost = fs.number('bcrypt-cost');
  if (bcryptCost < BCRYPT_MIN_COST || bcryptCost > BCRYPT_MAX_COST) {
    warnings.push(
      `--bcrypt-cost=${bcryptCost} is outside ${BCRYPT_MIN_COST}..${BCRYPT_MAX_COST}; using the default ${BCRYPT_DEFAULT_COST}`,
    );
    bcryptCost = BCRYPT_DEFAULT_COST;
  }
  const quotaBackendBytes = fs.number('quota-backend-bytes');
  if (quotaBackendBytes > MAX_QUOTA_BACKEND_BYTES) {
    warnings.push(`--quota-backend-bytes=${quotaBackendBytes} exceeds the recommended maximum of ${MAX_QUOTA_BACKEND_BYTES} bytes`);
  }
  // As etcd: 0 stands for the default, so these resolved values are > 0.
  const compactionBatchLimit = positiveOrDefault(fs, 'experimental-compaction-batch-limit', DEFAULT_COMPACTION_BATCH_LIMIT);
  const backendBatchIntervalMs = positiveOrDefault(fs, 'backend-batch-interval', DEFAULT_BACKEND_BATCH_INTERVAL_MS, 'ms');
  const backendBatchLimit = positiveOrDefault(fs, 'backend-batch-limit', DEFAULT_BACKEND_BATCH_LIMIT);
  let watchProgressMs = fs.number('experimental-watch-progress-notify-interval');
  if (watchProgressMs <= 0) watchProgressMs = DEFAULT_WATCH_PROGRESS_NOTIFY_MS;

  const metrics = fs.string('metrics');
  if (metrics !== 'basic' && metrics !== 'extensive') {
    warnings.push(`--metrics=${JSON.stringify(metrics)} is neither 'basic' nor 'extensive'; treated as 'basic'`);
  }

  return {
    action,
    warnings,
    setBy: fs.setFlags(),
    configFile: fs.string('config-file'),
    name,
    dataDir,
    walDir: fs.string('wal-dir'),
    snapshotCount,
    maxSnapshots: fs.number('max-snapshots'),
    maxWals: fs.number('max-wals'),
    heartbeatIntervalMs,
    electionTimeoutMs,
    electionTicks: Math.floor(electionTimeoutMs / heartbeatIntervalMs),
    initialElectionTickAdvance: fs.bool('initial-election-tick-advance'),
    listenPeerUrls,
    listenClientUrls,
    listenMetricsUrls,
    quotaBackendBytes,
    backendBatchIntervalMs,
    backendBatchLimit,
    maxTxnOps: fs.number('max-txn-ops'),
    maxRequestBytes: fs.number('max-request-bytes'),
    maxConcurrentStreams: fs.number('max-concurrent-streams'),
    grpcKeepAliveMinTimeMs: fs.number('grpc-keepalive-min-time'),
    grpcKeepAliveIntervalMs: fs.number('grpc-keepalive-interval'),
    grpcKeepAliveTimeoutMs: fs.number('grpc-keepalive-timeout'),
    initialAdvertisePeerUrls,
    advertiseClientUrls,
    initialCluster,
    initialClusterMembers,
    initialClusterState: fs.string('initial-cluster-state') === 'existing' ? 'existing' : 'new',
    initialClusterToken: fs.string('initial-cluster-token'),
    strictReconfigCheck: fs.bool('strict-reconfig-check'),
    preVote: fs.bool('pre-vote'),
    autoCompactionMode,
    autoCompactionRetention,
    autoCompaction,
    enableV2: fs.bool('enable-v2'),
    cors: fs.strings('cors'),
    hostWhitelist: fs.strings('host-whitelist'),
    authToken,
    authTokenType: authSpec.type,
    authTokenOptions: authSpec.options,
    bcryptCost,
    authTokenTtlSeconds: fs.number('auth-token-ttl'),
    enablePprof: fs.bool('enable-pprof'),
    metrics,
    enableGrpcGateway: fs.bool('enable-grpc-gateway'),
    logger: logging.logger,
    logLevel: logging.logLevel,
    logOutputs: logging.logOutputs,
    experimentalBackendStorage: fs.string('experimental-backend-storage') === 'memory' ? 'memory' : 'lmdb',
    experimentalInitialCorruptCheck: fs.bool('experimental-initial-corrupt-check'),
    experimentalCorruptCheckTimeMs: fs.number('experimental-corrupt-check-time'),
    experimentalEnableLeaseCheckpoint: leaseCheckpoint,
    experimentalEnableLeaseCheckpointPersist: leaseCheckpointPersist,
    experimentalCompactionBatchLimit: compactionBatchLimit,
    experimentalWatchProgressNotifyIntervalMs: watchProgressMs,
    experimentalWarningApplyDurationMs: fs.number('experimental-warning-apply-duration'),
    forceNewCluster: fs.bool('force-new-cluster'),
    unsafeNoFsync: fs.bool('unsafe-no-fsync'),
  };
}

/** A numeric flag where 0 stands for its default; a negative value is a ConfigError naming the flag. */
function positiveOrDefault(fs: GoFlagSet, flag: string, fallback: number, unit = ''): number {
  const n = fs.number(flag);
  if (n < 0) throw new ConfigError('invalid-config', `--${flag} must not be negative (set to ${n}${unit})`, flag);
  return n === 0 ? fallback : n;
}
