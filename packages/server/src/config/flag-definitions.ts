/**
 * Value types of etcd's flags, named after the Go flag type behind each:
 * uint/uint64/int/int64 parse like Go's strconv in base 0, uint32 is etcd's own
 * Uint32Value, urls is etcd's UniqueURLs, strings is UniqueStringsValue, choice is
 * SelectiveStringValue, ignored is etcd's IgnoredFlag (a no-op boolean).
 */
export type FlagKind =
  | 'string'
  | 'bool'
  | 'uint'
  | 'uint32'
  | 'uint64'
  | 'int'
  | 'int64'
  | 'duration'
  | 'urls'
  | 'strings'
  | 'choice'
  | 'ignored';

/**
 * - supported: honoured by etcd-ts.
 * - inert: accepted for compatibility; setting it explicitly produces a warning.
 * - unsupported: accepted only at its default value; any other value is a ConfigError.
 * - ignored: a flag etcd itself accepts and ignores.
 */
export type FlagSupport = 'supported' | 'inert' | 'unsupported' | 'ignored';

export const FLAG_GROUPS = [
  'Member',
  'Clustering',
  'Security',
  'Auth',
  'Profiling and Monitoring',
  'Logging',
  'v2 Proxy (to be deprecated in v4)',
  'Experimental feature',
  'Unsafe feature',
  'TO BE DEPRECATED',
  'Other',
] as const;
export type FlagGroup = (typeof FLAG_GROUPS)[number];

export interface FlagDefinition {
  /** Name without dashes, exactly as etcd 3.4 spells it. */
  readonly name: string;
  readonly kind: FlagKind;
  /** Default in the flag's own text syntax; parsed with the same rules as user input. */
  readonly defaultValue: string;
  readonly usage: string;
  readonly group: FlagGroup;
  readonly support: FlagSupport;
  /** Allowed values of a choice flag. */
  readonly choices?: readonly string[];
  /** Default as shown by --help when it differs from defaultValue. */
  readonly helpDefault?: string;
  /** Not listed by --help (etcd hides these too). */
  readonly hidden?: boolean;
}

const IGNORED_BY_ETCD = [
  'cluster-active-size',
  'cluster-remove-delay',
  'cluster-sync-interval',
  'config',
  'force',
  'max-result-buffer',
  'max-retry-attempts',
  'peer-heartbeat-interval',
  'peer-election-timeout',
  'retry-interval',
  'snapshot',
  'v',
  'vv',
  'test.coverprofile',
  'test.outputdir',
];

type Def = Omit<FlagDefinition, 'support'> & { readonly support?: FlagSupport };

const DEFS: readonly Def[] = [
  // Member
  { name: 'name', kind: 'string', defaultValue: 'default', group: 'Member', usage: 'Human-readable name of this member.' },
  { name: 'data-dir', kind: 'string', defaultValue: '', helpDefault: '${name}.etcd', group: 'Member', usage: 'Directory holding the data of this member.' },
  { name: 'wal-dir', kind: 'string', defaultValue: '', group: 'Member', usage: 'Separate directory for the write-ahead log (default: inside the data directory).' },
  { name: 'snapshot-count', kind: 'uint64', defaultValue: '100000', group: 'Member', usage: 'Committed transactions between two snapshots to disk.' },
  { name: 'heartbeat-interval', kind: 'uint', defaultValue: '100', group: 'Member', usage: 'Heartbeat interval in milliseconds.' },
  { name: 'election-timeout', kind: 'uint', defaultValue: '1000', group: 'Member', usage: 'Election timeout in milliseconds; at least 5 heartbeat intervals, at most 50000.' },
  { name: 'initial-election-tick-advance', kind: 'bool', defaultValue: 'true', group: 'Member', usage: 'Fast-forward election ticks at start so the first election happens sooner.' },
  { name: 'listen-peer-urls', kind: 'urls', defaultValue: 'http://localhost:2380', group: 'Member', usage: 'Comma-separated URLs to accept peer traffic on.' },
  { name: 'listen-client-urls', kind: 'urls', defaultValue: 'http://localhost:2379', group: 'Member', usage: 'Comma-separated URLs to accept client traffic on.' },
  { name: 'max-snapshots', kind: 'uint', defaultValue: '5', group: 'Member', usage: 'Snapshot files to keep (0 keeps all).' },
  { name: 'max-wals', kind: 'uint', defaultValue: '5', group: 'Member', usage: 'WAL files to keep (0 keeps all).' },
  { name: 'quota-backend-bytes', kind: 'int64', defaultValue: '0', group: 'Member', usage: 'Backend size that raises the NOSPACE alarm (0 means 2 GiB, negative disables the quota).' },
  { name: 'backend-batch-interval', kind: 'duration', defaultValue: '0', helpDefault: '', group: 'Member', usage: 'Longest time before a backend batch commits (0: 100ms).' },
  { name: 'backend-batch-limit', kind: 'int', defaultValue: '0', group: 'Member', usage: 'Most operations in a backend batch before it commits (0: 10000).' },
  { name: 'max-txn-ops', kind: 'uint', defaultValue: '128', group: 'Member', usage: 'Most operations allowed in one transaction.' },
  { name: 'max-request-bytes', kind: 'uint', defaultValue: '1572864', group: 'Member', usage: 'Largest client request accepted, in bytes.' },
  { name: 'max-concurrent-streams', kind: 'uint32', defaultValue: '4294967295', helpDefault: 'math.MaxUint32', group: 'Member', usage: 'Most concurrent streams one client connection may open.' },
  { name: 'grpc-keepalive-min-time', kind: 'duration', defaultValue: '5s', group: 'Member', usage: 'Shortest interval a client may ping the server at.' },
  { name: 'grpc-keepalive-interval', kind: 'duration', defaultValue: '2h', group: 'Member', usage: 'How often the server pings an idle client connection (0 disables).' },
  { name: 'grpc-keepalive-timeout', kind: 'duration', defaultValue: '20s', group: 'Member', usage: 'How long to wait for a ping answer before closing the connection (0 disables).' },

  // Clustering
  { name: 'initial-advertise-peer-urls', kind: 'urls', defaultValue: 'http://localhost:2380', group: 'Clustering', usage: "Comma-separated peer URLs of this member, as announced to the rest of the cluster." },
  { name: 'initial-cluster', kind: 'string', defaultValue: 'default=http://localhost:2380', group: 'Clustering', usage: 'Members of the cluster at bootstrap, as name=peer-url pairs separated by commas.' },
  { name: 'initial-cluster-state', kind: 'choice', choices: ['new', 'existing'], defaultValue: 'new', group: 'Clustering', usage: "'new' to bootstrap a cluster, 'existing' to join one." },
  { name: 'initial-cluster-token', kind: 'string', defaultValue: 'etcd-cluster', group: 'Clustering', usage: 'Token that keeps distinct clusters from joining each other at bootstrap.' },
  { name: 'advertise-client-urls', kind: 'urls', defaultValue: 'http://localhost:2379', group: 'Clustering', usage: 'Comma-separated client URLs of this member, as announced to clients.' },
  { name: 'discovery', kind: 'string', defaultValue: '', group: 'Clustering', support: 'unsupported', usage: 'Discovery service URL for bootstrap (not supported by etcd-ts).' },
  { name: 'discovery-fallback', kind: 'choice', choices: ['proxy', 'exit'], defaultValue: 'proxy', group: 'Clustering', support: 'inert', usage: "What to do when discovery fails ('exit' or 'proxy')." },
  { name: 'discovery-proxy', kind: 'string', defaultValue: '', group: 'Clustering', support: 'unsupported', usage: 'HTTP proxy for the discovery service (not supported by etcd-ts).' },
  { name: 'discovery-srv', kind: 'string', defaultValue: '', group: 'Clustering', support: 'unsupported', usage: 'DNS SRV domain for bootstrap (not supported by etcd-ts).' },
  { name: 'discovery-srv-name', kind: 'string', defaultValue: '', group: 'Clustering', support: 'unsupported', usage: 'Suffix of the DNS SRV name for bootstrap (not supported by etcd-ts).' },
  { name: 'strict-reconfig-check', kind: 'bool', defaultValue: 'true', group: 'Clustering', usage: 'Refuse membership changes that could lose quorum.' },
  { name: 'pre-vote', kind: 'bool', defaultValue: 'false', group: 'Clustering', usage: 'Run the raft pre-vote phase before elections.' },
  { name: 'auto-compaction-retention', kind: 'string', defaultValue: '0', group: 'Clustering', usage: "History to keep when compacting automatically: hours or a duration such as '5m' (periodic), or a revision count (revision). 0 disables." },
  { name: 'auto-compaction-mode', kind: 'string', defaultValue: 'periodic', group: 'Clustering', usage: "How to read --auto-compaction-retention: 'periodic' (time) or 'revision' (revision count)." },
  { name: 'enable-v2', kind: 'bool', defaultValue: 'false', group: 'Clustering', support: 'unsupported', usage: 'Serve the etcd v2 API (not supported by etcd-ts).' },

  // Security
  { name: 'cert-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'TLS certificate for client connections (TLS is not supported by etcd-ts yet).' },
  { name: 'key-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'TLS key for client connections.' },
  { name: 'client-cert-auth', kind: 'bool', defaultValue: 'false', group: 'Security', support: 'unsupported', usage: 'Require client certificates.' },
  { name: 'client-crl-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Certificate revocation list for client certificates.' },
  { name: 'client-cert-allowed-hostname', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Host name required in client certificates.' },
  { name: 'trusted-ca-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'CA bundle for verifying client certificates.' },
  { name: 'auto-tls', kind: 'bool', defaultValue: 'false', group: 'Security', support: 'unsupported', usage: 'Serve clients over TLS with generated certificates.' },
  { name: 'peer-cert-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'TLS certificate for peer connections.' },
  { name: 'peer-key-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'TLS key for peer connections.' },
  { name: 'peer-client-cert-auth', kind: 'bool', defaultValue: 'false', group: 'Security', support: 'unsupported', usage: 'Require certificates from peers.' },
  { name: 'peer-trusted-ca-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'CA bundle for verifying peer certificates.' },
  { name: 'peer-cert-allowed-cn', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Common name required in peer certificates.' },
  { name: 'peer-cert-allowed-hostname', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Host name required in peer certificates.' },
  { name: 'peer-auto-tls', kind: 'bool', defaultValue: 'false', group: 'Security', support: 'unsupported', usage: 'Use generated certificates between peers.' },
  { name: 'peer-crl-file', kind: 'string', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Certificate revocation list for peer certificates.' },
  { name: 'cipher-suites', kind: 'strings', defaultValue: '', group: 'Security', support: 'unsupported', usage: 'Comma-separated TLS cipher suites.' },
  { name: 'cors', kind: 'strings', defaultValue: '*', group: 'Security', usage: 'Comma-separated origins allowed for CORS (empty or * allows all).' },
  { name: 'host-whitelist', kind: 'strings', defaultValue: '*', group: 'Security', usage: 'Comma-separated Host header values accepted on insecure HTTP (empty or * allows all).' },

  // Auth
  { name: 'auth-token', kind: 'string', defaultValue: 'simple', group: 'Auth', usage: "Auth token type and options: 'simple', or 'jwt,pub-key=...,priv-key=...,sign-method=...'." },
  { name: 'bcrypt-cost', kind: 'uint', defaultValue: '10', group: 'Auth', usage: 'bcrypt cost for password hashes, 4 to 31.' },
  { name: 'auth-token-ttl', kind: 'uint', defaultValue: '300', group: 'Auth', usage: 'Lifetime of a simple auth token, in seconds.' },

  // Profiling and Monitoring
  { name: 'enable-pprof', kind: 'bool', defaultValue: 'false', group: 'Profiling and Monitoring', support: 'inert', usage: 'Serve runtime profiles (accepted; etcd-ts serves none).' },
  { name: 'metrics', kind: 'string', defaultValue: 'basic', group: 'Profiling and Monitoring', usage: "Metrics detail: 'basic' or 'extensive'." },
  { name: 'listen-metrics-urls', kind: 'urls', defaultValue: '', group: 'Profiling and Monitoring', usage: 'Comma-separated URLs serving only /metrics and /health.' },

  // Logging
  { name: 'logger', kind: 'string', defaultValue: 'capnslog', group: 'Logging', usage: "'zap' or 'capnslog'; both produce JSON lines in etcd-ts." },
  { name: 'log-outputs', kind: 'strings', defaultValue: 'default', group: 'Logging', usage: "Comma-separated log targets: 'stderr', 'stdout' or file paths (file paths need --logger=zap)." },
  { name: 'log-level', kind: 'string', defaultValue: 'info', group: 'Logging', usage: 'One of debug, info, warn, error, panic, fatal.' },

  // v2 Proxy
  { name: 'proxy', kind: 'choice', choices: ['off', 'readonly', 'on'], defaultValue: 'off', group: 'v2 Proxy (to be deprecated in v4)', support: 'unsupported', usage: "v2 proxy mode ('off', 'readonly' or 'on'); only 'off' is supported." },
  { name: 'proxy-failure-wait', kind: 'uint', defaultValue: '5000', group: 'v2 Proxy (to be deprecated in v4)', support: 'inert', usage: 'Milliseconds a failed endpoint stays excluded.' },
  { name: 'proxy-refresh-interval', kind: 'uint', defaultValue: '30000', group: 'v2 Proxy (to be deprecated in v4)', support: 'inert', usage: 'Milliseconds between endpoint refreshes.' },
  { name: 'proxy-dial-timeout', kind: 'uint', defaultValue: '1000', group: 'v2 Proxy (to be deprecated in v4)', support: 'inert', usage: 'Dial timeout in milliseconds.' },
  { name: 'proxy-write-timeout', kind: 'uint', defaultValue: '5000', group: 'v2 Proxy (to be deprecated in v4)', support: 'inert', usage: 'Write timeout in milliseconds.' },
  { name: 'proxy-read-timeout', kind: 'uint', defaultValue: '0', group: 'v2 Proxy (to be deprecated in v4)', support: 'inert', usage: 'Read timeout in milliseconds.' },

  // Experimental feature
  { name: 'experimental-initial-corrupt-check', kind: 'bool', defaultValue: 'false', group: 'Experimental feature', usage: 'Check for data corruption before serving traffic.' },
  { name: 'experimental-corrupt-check-time', kind: 'duration', defaultValue: '0s', group: 'Experimental feature', usage: 'Interval between cluster corruption checks (0 disables).' },
  { name: 'experimental-enable-v2v3', kind: 'string', defaultValue: '', group: 'Experimental feature', support: 'unsupported', usage: 'Prefix for serving v2 over the v3 store (not supported by etcd-ts).' },
  { name: 'experimental-backend-bbolt-freelist-type', kind: 'string', defaultValue: 'array', group: 'Experimental feature', support: 'inert', usage: 'bbolt freelist type (no effect in etcd-ts).' },
  { name: 'experimental-enable-lease-checkpoint', kind: 'bool', defaultValue: 'false', group: 'Experimental feature', usage: 'Let the leader checkpoint remaining lease TTLs to the other members.' },
  { name: 'experimental-enable-lease-checkpoint-persist', kind: 'bool', defaultValue: 'false', group: 'Experimental feature', hidden: true, usage: 'Persist checkpointed lease TTLs; needs --experimental-enable-lease-checkpoint.' },
  { name: 'experimental-compaction-batch-limit', kind: 'int', defaultValue: '0', helpDefault: '1000', group: 'Experimental feature', usage: 'Most revisions deleted per compaction batch.' },
  { name: 'experimental-peer-skip-client-san-verification', kind: 'bool', defaultValue: 'false', group: 'Experimental feature', support: 'inert', usage: 'Skip SAN checks of peer client certificates.' },
  { name: 'experimental-watch-progress-notify-interval', kind: 'duration', defaultValue: '0', helpDefault: '10m', group: 'Experimental feature', usage: 'Interval of periodic watch progress notifications.' },
  { name: 'experimental-warning-apply-duration', kind: 'duration', defaultValue: '100ms', group: 'Experimental feature', usage: 'Applying a request for longer than this logs a warning.' },
  { name: 'experimental-backend-storage', kind: 'choice', choices: ['lmdb', 'memory'], defaultValue: 'lmdb', group: 'Experimental feature', usage: "etcd-ts only: backend storage engine, 'lmdb' (on disk, durable) or 'memory' (lost at exit; for tests and embedding)." },

  // Unsafe feature
  { name: 'force-new-cluster', kind: 'bool', defaultValue: 'false', group: 'Unsafe feature', usage: 'Restart as a new one-member cluster keeping the data.' },
  { name: 'unsafe-no-fsync', kind: 'bool', defaultValue: 'false', group: 'Unsafe feature', usage: 'Never fsync; a crash can lose acknowledged writes.' },

  // TO BE DEPRECATED
  { name: 'debug', kind: 'bool', defaultValue: 'false', group: 'TO BE DEPRECATED', usage: "Debug-level logging; use '--log-level=debug' instead." },
  { name: 'log-package-levels', kind: 'string', defaultValue: '', group: 'TO BE DEPRECATED', support: 'inert', usage: 'Per-package log levels (no effect in etcd-ts).' },
  { name: 'log-output', kind: 'strings', defaultValue: 'default', group: 'TO BE DEPRECATED', hidden: true, usage: "Replaced by '--log-outputs'." },

  // Other
  { name: 'config-file', kind: 'string', defaultValue: '', group: 'Other', hidden: true, usage: 'Server configuration file; when given, other flags and environment variables are ignored.' },
  { name: 'version', kind: 'bool', defaultValue: 'false', group: 'Other', hidden: true, usage: 'Print the version and exit.' },
  { name: 'enable-grpc-gateway', kind: 'bool', defaultValue: 'true', group: 'Other', hidden: true, usage: 'Serve the JSON gateway to the gRPC API on client URLs.' },

  ...IGNORED_BY_ETCD.map(
    (name): Def => ({ name, kind: 'ignored', defaultValue: '', group: 'Other', support: 'ignored', hidden: true, usage: '' }),
  ),
];

/** Every flag etcd 3.4 defines, plus --experimental-backend-storage, keyed by name. */
export const FLAG_DEFINITIONS: ReadonlyMap<string, FlagDefinition> = new Map(
  DEFS.map((d): [string, FlagDefinition] => [d.name, { ...d, support: d.support ?? 'supported' }]),
);
