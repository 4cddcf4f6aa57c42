import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/config/config-error.js';
import { FLAG_DEFINITIONS } from '../src/config/flag-definitions.js';
import { flagToEnv } from '../src/config/flag-to-env.js';
import { parseServerConfig } from '../src/config/parse-server-config.js';
import type { ServerConfig } from '../src/config/server-config.js';

const hrefs = (urls: readonly { href: string }[]): string[] => urls.map((u) => u.href);

function parse(argv: string[], env: Record<string, string | undefined> = {}): ServerConfig {
  return parseServerConfig(argv, env);
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new assert.Assertion({ message: 'expected a ConfigError', generated: false, operator: 'throws' } as never);
}

test('defaults are etcd 3.4 defaults', () => {
  const c = parse([]);
  assert.is(c.action, 'serve');
  assert.is(c.name, 'default');
  assert.is(c.dataDir, 'default.etcd');
  assert.is(c.walDir, '');
  assert.equal(hrefs(c.listenClientUrls), ['http://localhost:2379']);
  assert.equal(hrefs(c.advertiseClientUrls), ['http://localhost:2379']);
  assert.equal(hrefs(c.listenPeerUrls), ['http://localhost:2380']);
  assert.equal(hrefs(c.initialAdvertisePeerUrls), ['http://localhost:2380']);
  assert.equal(c.listenMetricsUrls, []);
  assert.is(c.initialCluster, 'default=http://localhost:2380');
  assert.equal(c.initialClusterMembers.map((m) => [m.name, hrefs(m.peerUrls)]), [['default', ['http://localhost:2380']]]);
  assert.is(c.initialClusterState, 'new');
  assert.is(c.initialClusterToken, 'etcd-cluster');
  assert.is(c.heartbeatIntervalMs, 100);
  assert.is(c.electionTimeoutMs, 1000);
  assert.is(c.electionTicks, 10);
  assert.is(c.initialElectionTickAdvance, true);
  assert.is(c.snapshotCount, 100000);
  assert.is(c.maxSnapshots, 5);
  assert.is(c.maxWals, 5);
  assert.is(c.quotaBackendBytes, 0);
  assert.is(c.backendBatchIntervalMs, 100);
  assert.is(c.backendBatchLimit, 10000);
  assert.is(c.maxRequestBytes, 1572864);
  assert.is(c.maxTxnOps, 128);
  assert.is(c.maxConcurrentStreams, 4294967295);
  assert.is(c.grpcKeepAliveMinTimeMs, 5000);
  assert.is(c.grpcKeepAliveIntervalMs, 2 * 3600 * 1000);
  assert.is(c.grpcKeepAliveTimeoutMs, 20000);
  assert.is(c.autoCompactionMode, 'periodic');
  assert.is(c.autoCompactionRetention, '0');
  assert.is(c.autoCompaction, null);
  assert.is(c.logger, 'capnslog');
  assert.is(c.logLevel, 'info');
  assert.equal(c.logOutputs, ['stderr']);
  assert.is(c.enablePprof, false);
  assert.is(c.metrics, 'basic');
  assert.is(c.forceNewCluster, false);
  assert.is(c.strictReconfigCheck, true);
  assert.is(c.preVote, false);
  assert.is(c.enableV2, false);
  assert.is(c.authToken, 'simple');
  assert.is(c.authTokenType, 'simple');
  assert.equal(c.authTokenOptions, {});
  assert.is(c.bcryptCost, 10);
  assert.is(c.authTokenTtlSeconds, 300);
  assert.equal(c.cors, ['*']);
  assert.equal(c.hostWhitelist, ['*']);
  assert.is(c.enableGrpcGateway, true);
  assert.is(c.experimentalBackendStorage, 'lmdb');
  assert.is(c.experimentalCompactionBatchLimit, 1000);
  assert.is(c.experimentalWatchProgressNotifyIntervalMs, 600000);
  assert.is(c.experimentalWarningApplyDurationMs, 100);
  assert.is(c.experimentalCorruptCheckTimeMs, 0);
  assert.is(c.unsafeNoFsync, false);
  assert.equal(c.setBy, {});
  assert.equal(c.warnings, ['no data-dir provided, using default data-dir ./default.etcd']);
});

// [flag, value given, field, expected value of the field]
const CASES: [string, string, keyof ServerConfig, unknown][] = [
  ['name', 'infra1', 'name', 'infra1'],
  ['data-dir', '/var/lib/etcd', 'dataDir', '/var/lib/etcd'],
  ['wal-dir', '/wal', 'walDir', '/wal'],
  ['snapshot-count', '5000', 'snapshotCount', 5000],
  ['max-snapshots', '0', 'maxSnapshots', 0],
  ['max-wals', '9', 'maxWals', 9],
  ['heartbeat-interval', '50', 'heartbeatIntervalMs', 50],
  ['election-timeout', '2000', 'electionTimeoutMs', 2000],
  ['initial-election-tick-advance', 'false', 'initialElectionTickAdvance', false],
  ['listen-peer-urls', 'http://10.0.0.2:2380,http://10.0.0.1:2380', 'listenPeerUrls', ['http://10.0.0.1:2380', 'http://10.0.0.2:2380']],
  ['listen-metrics-urls', 'http://0.0.0.0:2381', 'listenMetricsUrls', ['http://0.0.0.0:2381']],
  ['quota-backend-bytes', '8589934592', 'quotaBackendBytes', 8589934592],
  ['backend-batch-interval', '5ms', 'backendBatchIntervalMs', 5],
  ['backend-batch-limit', '7', 'backendBatchLimit', 7],
  ['max-txn-ops', '1024', 'maxTxnOps', 1024],
  ['max-request-bytes', '10485760', 'maxRequestBytes', 10485760],
  ['max-concurrent-streams', '100', 'maxConcurrentStreams', 100],
  ['grpc-keepalive-min-time', '1m30s', 'grpcKeepAliveMinTimeMs', 90000],
  ['grpc-keepalive-interval', '0', 'grpcKeepAliveIntervalMs', 0],
  ['grpc-keepalive-timeout', '1.5s', 'grpcKeepAliveTimeoutMs', 1500],
  ['initial-advertise-peer-urls', 'http://10.0.0.1:2380', 'initialAdvertisePeerUrls', ['http://10.0.0.1:2380']],
  ['advertise-client-urls', 'https://etcd.example.com:2379', 'advertiseClientUrls', ['https://etcd.example.com:2379']],
  ['initial-cluster', 'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380', 'initialCluster', 'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380'],
  ['initial-cluster-state', 'existing', 'initialClusterState', 'existing'],
  ['initial-cluster-token', 'tok', 'initialClusterToken', 'tok'],
  ['strict-reconfig-check', 'false', 'strictReconfigCheck', false],
  ['pre-vote', 'true', 'preVote', true],
  ['auto-compaction-retention', '1h30m', 'autoCompaction', { mode: 'periodic', retentionMs: 5400000 }],
  ['auto-compaction-mode', 'revision', 'autoCompactionMode', 'revision'],
  ['cors', 'http://b:1,http://a:1', 'cors', ['http://a:1', 'http://b:1']],
  ['host-whitelist', 'example.com', 'hostWhitelist', ['example.com']],
  ['auth-token', 'jwt,sign-method=RS256,ttl=10m', 'authTokenOptions', { 'sign-method': 'RS256', ttl: '10m' }],
  ['bcrypt-cost', '12', 'bcryptCost', 12],
  ['auth-token-ttl', '60', 'authTokenTtlSeconds', 60],
  ['enable-pprof', 'true', 'enablePprof', true],
  ['metrics', 'extensive', 'metrics', 'extensive'],
  ['enable-grpc-gateway', 'false', 'enableGrpcGateway', false],
  ['logger', 'zap', 'logger', 'zap'],
  ['log-level', 'debug', 'logLevel', 'debug'],
  ['log-outputs', 'stdout', 'logOutputs', ['stdout']],
  ['experimental-backend-storage', 'memory', 'experimentalBackendStorage', 'memory'],
  ['experimental-initial-corrupt-check', 'true', 'experimentalInitialCorruptCheck', true],
  ['experimental-corrupt-check-time', '3m', 'experimentalCorruptCheckTimeMs', 180000],
  ['experimental-enable-lease-checkpoint', 'true', 'experimentalEnableLeaseCheckpoint', true],
  ['experimental-compaction-batch-limit', '50', 'experimentalCompactionBatchLimit', 50],
  ['experimental-watch-progress-notify-interval', '5s', 'experimentalWatchProgressNotifyIntervalMs', 5000],
  ['experimental-warning-apply-duration', '1s', 'experimentalWarningApplyDurationMs', 1000],
  ['force-new-cluster', 'true', 'forceNewCluster', true],
  ['unsafe-no-fsync', 'true', 'unsafeNoFsync', true],
];

function fieldValue(c: ServerConfig, field: keyof ServerConfig): unknown {
  const v = c[field];
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null && 'href' in v[0]) {
    return hrefs(v as { href: string }[]);
  }
  return v;
}

test('every flag can be given as --flag=value, --flag value, -flag value and ETCD_ variable', () => {
  for (const [flag, value, field, expected] of CASES) {
    const def = FLAG_DEFINITIONS.get(flag);
    assert.ok(def, flag);
    const forms: [string[], Record<string, string>, string][] = [
      [[`--${flag}=${value}`], {}, 'flag'],
      [[`-${flag}=${value}`], {}, 'flag'],
      [[`--${flag}`, value], {}, 'flag'],
      [[`-${flag}`, value], {}, 'flag'],
      [[], { [flagToEnv(flag)]: value }, 'env'],
    ];
    for (const [argv, env, source] of forms) {
      if (def.kind === 'bool' && argv.length === 2) continue;
      const c = parse(argv, env);
      assert.equal(fieldValue(c, field), expected, `${flag} via ${argv.join(' ') || JSON.stringify(env)}`);
      assert.is(c.setBy[flag], source, `${flag} source`);
    }
  }
});

test('listen-client-urls via flag and env (needs advertise-client-urls)', () => {
  const urls = 'http://127.0.0.1:2379,http://127.0.0.1:12379';
  const adv = 'http://127.0.0.1:2379';
  for (const c of [
    parse([`--listen-client-urls=${urls}`, '--advertise-client-urls', adv]),
    parse([], { ETCD_LISTEN_CLIENT_URLS: urls, ETCD_ADVERTISE_CLIENT_URLS: adv }),
  ]) {
    assert.equal(hrefs(c.listenClientUrls), ['http://127.0.0.1:12379', 'http://127.0.0.1:2379']);
    assert.equal(c.listenClientUrls.map((u) => [u.hostname, u.port]), [['127.0.0.1', 12379], ['127.0.0.1', 2379]]);
  }
});

test('every flag etcd 3.4 defines is accepted', () => {
  const etcdFlags = [
    'config-file', 'data-dir', 'wal-dir', 'listen-peer-urls', 'listen-client-urls', 'listen-metrics-urls',
    'max-snapshots', 'max-wals', 'name', 'snapshot-count', 'heartbeat-interval', 'election-timeout',
    'initial-election-tick-advance', 'quota-backend-bytes', 'backend-batch-interval', 'backend-batch-limit',
    'max-txn-ops', 'max-request-bytes', 'grpc-keepalive-min-time', 'grpc-keepalive-interval',
    'grpc-keepalive-timeout', 'max-concurrent-streams', 'initial-advertise-peer-urls', 'advertise-client-urls',
    'discovery', 'discovery-fallback', 'discovery-proxy', 'discovery-srv', 'discovery-srv-name',
    'initial-cluster', 'initial-cluster-token', 'initial-cluster-state', 'strict-reconfig-check', 'enable-v2',
    'pre-vote', 'proxy', 'proxy-failure-wait', 'proxy-refresh-interval', 'proxy-dial-timeout',
    'proxy-write-timeout', 'proxy-read-timeout', 'cert-file', 'key-file', 'client-cert-auth', 'client-crl-file',
    'client-cert-allowed-hostname', 'trusted-ca-file', 'auto-tls', 'peer-cert-file', 'peer-key-file',
    'peer-client-cert-auth', 'peer-trusted-ca-file', 'peer-auto-tls', 'peer-crl-file', 'peer-cert-allowed-cn',
    'peer-cert-allowed-hostname', 'cipher-suites', 'experimental-peer-skip-client-san-verification', 'cors',
    'host-whitelist', 'logger', 'log-output', 'log-outputs', 'debug', 'log-level', 'log-package-levels',
    'version', 'auto-compaction-retention', 'auto-compaction-mode', 'enable-pprof', 'metrics', 'auth-token',
    'bcrypt-cost', 'auth-token-ttl', 'enable-grpc-gateway', 'experimental-initial-corrupt-check',
    'experimental-corrupt-check-time', 'experimental-enable-v2v3', 'experimental-backend-bbolt-freelist-type',
    'experimental-enable-lease-checkpoint', 'experimental-enable-lease-checkpoint-persist',
    'experimental-compaction-batch-limit', 'experimental-watch-progress-notify-interval',
    'experimental-warning-apply-duration', 'unsafe-no-fsync', 'force-new-cluster',
    'cluster-active-size', 'cluster-remove-delay', 'cluster-sync-interval', 'config', 'force',
    'max-result-buffer', 'max-retry-attempts', 'peer-heartbeat-interval', 'peer-election-timeout',
    'retry-interval', 'snapshot', 'v', 'vv', 'test.coverprofile', 'test.outputdir',
  ];
  for (const f of etcdFlags) assert.ok(FLAG_DEFINITIONS.has(f), f);
  assert.is(FLAG_DEFINITIONS.size, etcdFlags.length + 1);
  assert.ok(FLAG_DEFINITIONS.has('experimental-backend-storage'));
});

test('Go flag syntax: booleans, repeats, "--", positional arguments', () => {
  assert.is(parse(['--pre-vote']).preVote, true);
  assert.is(parse(['-pre-vote=false']).preVote, false);
  assert.is(parse(['--pre-vote=1']).preVote, true);
  assert.is(parse(['--pre-vote=F']).preVote, false);
  assert.is(parse(['--strict-reconfig-check=false', '--strict-reconfig-check']).strictReconfigCheck, true);
  assert.is(parse(['--name', 'a', '--name=b']).name, 'b');
  assert.is(parse(['--name', '-x']).name, '-x', 'a non-boolean flag takes the next argument as is');
  const unnamed = parse(['--name=']);
  assert.is(unnamed.name, '');
  assert.is(unnamed.initialCluster, 'default=http://localhost:2380', 'an empty name counts as "default", as in etcd');
  assert.is(parse(['--initial-cluster-token=a=b']).initialClusterToken, 'a=b');
  assert.is(configError(() => parse(['--pre-vote', 'false'])).message, "'false' is not a valid flag");
  assert.is(configError(() => parse(['--', '--name', 'x'])).message, "'--name' is not a valid flag");
  assert.is(configError(() => parse(['extra'])).message, "'extra' is not a valid flag");
  assert.is(configError(() => parse(['-'])).message, "'-' is not a valid flag");
});

test('Go integer syntax: base prefixes, underscores, octal', () => {
  assert.is(parse(['--max-txn-ops=0x100']).maxTxnOps, 256);
  assert.is(parse(['--max-txn-ops=0o17']).maxTxnOps, 15);
  assert.is(parse(['--max-txn-ops=017']).maxTxnOps, 15);
  assert.is(parse(['--max-txn-ops=0b101']).maxTxnOps, 5);
  assert.is(parse(['--max-txn-ops=1_000']).maxTxnOps, 1000);
  assert.is(parse(['--quota-backend-bytes=-1']).quotaBackendBytes, -1);
  assert.is(parse(['--quota-backend-bytes=+5']).quotaBackendBytes, 5);
});

test('unknown flags and malformed arguments are flag-syntax errors', () => {
  const e = configError(() => parse(['--foo']));
  assert.is(e.message, 'flag provided but not defined: -foo');
  assert.is(e.code, 'flag-syntax');
  assert.is(e.exitCode, 2);
  assert.is(e.flag, 'foo');
  assert.is(configError(() => parse(['-foo=bar'])).message, 'flag provided but not defined: -foo');
  assert.is(configError(() => parse(['---name=x'])).message, 'bad flag syntax: ---name=x');
  assert.is(configError(() => parse(['-=x'])).message, 'bad flag syntax: -=x');
  assert.is(configError(() => parse(['--name'])).message, 'flag needs an argument: -name');
  assert.is(configError(() => parse(['--data-dir'])).message, 'flag needs an argument: -data-dir');
});

test('bad values name the flag and the reason', () => {
  const cases: [string[], string][] = [
    [['-heartbeat-interval', 'abc'], 'invalid value "abc" for flag -heartbeat-interval: parse error'],
    [['--heartbeat-interval=-5'], 'invalid value "-5" for flag -heartbeat-interval: parse error'],
    [['--snapshot-count=1e3'], 'invalid value "1e3" for flag -snapshot-count: parse error'],
    [['--max-txn-ops=1.5'], 'invalid value "1.5" for flag -max-txn-ops: parse error'],
    [['--max-txn-ops=1__0'], 'invalid value "1__0" for flag -max-txn-ops: parse error'],
    [['--max-txn-ops=18446744073709551616'], 'invalid value "18446744073709551616" for flag -max-txn-ops: value out of range'],
    [['--quota-backend-bytes=abc'], 'invalid value "abc" for flag -quota-backend-bytes: parse error'],
    [['--max-concurrent-streams=4294967296'], 'invalid value "4294967296" for flag -max-concurrent-streams: strconv.ParseUint: parsing "4294967296": value out of range'],
    [['--grpc-keepalive-min-time=5'], 'invalid value "5" for flag -grpc-keepalive-min-time: parse error'],
    [['--initial-cluster-state=foo'], 'invalid value "foo" for flag -initial-cluster-state: invalid value'],
    [['--experimental-backend-storage=bolt'], 'invalid value "bolt" for flag -experimental-backend-storage: invalid value'],
    [['--pre-vote=maybe'], 'invalid boolean value "maybe" for -pre-vote: parse error'],
    [['--listen-client-urls=foo'], 'invalid value "foo" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: foo'],
    [['--listen-peer-urls=ftp://127.0.0.1:1'], 'invalid value "ftp://127.0.0.1:1" for flag -listen-peer-urls: URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:1'],
    [['--listen-peer-urls=http://127.0.0.1'], 'invalid value "http://127.0.0.1" for flag -listen-peer-urls: URL address does not have the form "host:port": http://127.0.0.1'],
    [['--listen-peer-urls=http://127.0.0.1:1/x'], 'invalid value "http://127.0.0.1:1/x" for flag -listen-peer-urls: URL must not contain a path: http://127.0.0.1:1/x'],
    [['--listen-peer-urls=http://127.0.0.1:99999'], 'invalid value "http://127.0.0.1:99999" for flag -listen-peer-urls: URL port must be a number between 0 and 65535: http://127.0.0.1:99999'],
    [['--listen-peer-urls=unix://x:1'], 'invalid value "unix://x:1" for flag -listen-peer-urls: unix socket URLs are not supported by etcd-ts: unix://x:1'],
  ];
  for (const [argv, message] of cases) {
    const e = configError(() => parse(argv));
    assert.is(e.message, message);
    assert.is(e.code, 'flag-syntax');
  }
});

test('cross-flag validation uses etcd messages', () => {
  const cases: [string[], string][] = [
    [['--heartbeat-interval', '0'], '--heartbeat-interval must be >0 (set to 0ms)'],
    [['--election-timeout', '0'], '--election-timeout must be >0 (set to 0ms)'],
    [['--election-timeout', '100'], '--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]'],
    [['--heartbeat-interval=0x10', '--election-timeout', '0100'], '--election-timeout[64ms] should be at least as 5 times as --heartbeat-interval[16ms]'],
    [['--election-timeout', '60000'], '--election-timeout[60000ms] is too long, and should be set less than 50000ms'],
    [['--listen-client-urls=http://127.0.0.1:2379'], '--advertise-client-urls is required when --listen-client-urls is set explicitly'],
    [['--listen-client-urls=http://example.com:2379', '--advertise-client-urls=http://x:1'], 'expected IP in URL for binding (http://example.com:2379)'],
    [['--listen-peer-urls=http://etcd0:2380'], 'expected IP in URL for binding (http://etcd0:2380)'],
    [['--advertise-client-urls=http://:1'], '--advertise-client-urls "http://:1" must be "host:port" (unexpected empty host (http://:1))'],
    [['--initial-advertise-peer-urls=http://:1'], '--initial-advertise-peer-urls "http://:1" must be "host:port" (unexpected empty host (http://:1))'],
    [['--auto-compaction-mode=foo'], 'unknown auto-compaction-mode "foo"'],
    [['--auto-compaction-retention=abc'], 'error parsing CompactionRetention: time: invalid duration "abc"'],
    [['--auto-compaction-retention=-1'], 'error parsing CompactionRetention: time: missing unit in duration "-1"'],
    [['--auto-compaction-retention=5x'], 'error parsing CompactionRetention: time: unknown unit "x" in duration "5x"'],
    [['--logger=foo'], 'unknown logger option "foo"'],
    [['--log-outputs=/tmp/x.log'], 'unknown log-output "/tmp/x.log" (only supports "default", "stderr", "stdout")'],
    [['--log-outputs=stderr,stdout'], `--logger=capnslog supports only 1 value in '--log-outputs', got ["stderr" "stdout"]`],
    [['--logger=zap', '--log-outputs=default,stdout'], 'multi logoutput for "default" is not supported yet'],
    [['--log-level=verbose'], 'unknown level "verbose" for --log-level (only supports debug, info, warn, error, panic, fatal)'],
    [['--experimental-enable-lease-checkpoint-persist'], 'setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint'],
    [['--experimental-compaction-batch-limit=-1'], '--experimental-compaction-batch-limit must not be negative (set to -1)'],
    [['--backend-batch-interval=-5ms'], '--backend-batch-interval must not be negative (set to -5ms)'],
    [['--backend-batch-limit=-1'], '--backend-batch-limit must not be negative (set to -1)'],
    [['--initial-cluster=a=foo'], 'invalid --initial-cluster "a=foo": URL scheme must be http, https, unix, or unixs: foo'],
  ];
  for (const [argv, message] of cases) {
    const e = configError(() => parse(argv));
    assert.is(e.message, message, argv.join(' '));
    assert.is(e.code, 'invalid-config');
    assert.is(e.exitCode, 1);
  }
});

test('auth token options are validated', () => {
  assert.is(parse(['--auth-token=jwt,sign-method=ES256']).authTokenType, 'jwt');
  assert.is(parse(['--auth-token=']).authTokenType, '');
  assert.match(configError(() => parse(['--auth-token=oauth'])).message, 'unknown token type "oauth"');
  assert.match(configError(() => parse(['--auth-token=jwt,sign-method'])).message, 'is not key=value');
  assert.match(configError(() => parse(['--auth-token=jwt,ttl=1m,ttl=2m,sign-method=RS256'])).message, 'given twice');
  assert.match(configError(() => parse(['--auth-token=jwt'])).message, 'sign-method must be one of');
  assert.match(configError(() => parse(['--auth-token=jwt,sign-method=RS256,ttl=soon'])).message, 'time: invalid duration "soon"');
});

test('auto compaction retention: hours, durations, revisions', () => {
  assert.equal(parse(['--auto-compaction-retention=1']).autoCompaction, { mode: 'periodic', retentionMs: 3600000 });
  assert.equal(parse(['--auto-compaction-retention=5m']).autoCompaction, { mode: 'periodic', retentionMs: 300000 });
  assert.is(parse(['--auto-compaction-retention=0s']).autoCompaction, null);
  assert.equal(parse(['--auto-compaction-mode=revision', '--auto-compaction-retention=1000']).autoCompaction, {
    mode: 'revision',
    retentionRevisions: 1000,
  });
  assert.match(
    configError(() => parse(['--auto-compaction-mode=revision', '--auto-compaction-retention=5m'])).message,
    'must be a non-negative revision count',
  );
});

test('initial cluster follows name and advertised peer URLs when not given', () => {
  let c = parse(['--name', 'infra0', '--initial-advertise-peer-urls', 'http://10.0.1.10:2380,http://10.0.1.11:2380']);
  assert.is(c.initialCluster, 'infra0=http://10.0.1.10:2380,infra0=http://10.0.1.11:2380');
  assert.equal(c.initialClusterMembers.map((m) => [m.name, hrefs(m.peerUrls)]), [
    ['infra0', ['http://10.0.1.10:2380', 'http://10.0.1.11:2380']],
  ]);
  assert.is(c.dataDir, 'infra0.etcd');
  c = parse(['--name', 'b', '--initial-cluster', 'b=http://10.0.0.2:2380,a=http://10.0.0.1:2380,,']);
  assert.equal(c.initialClusterMembers.map((m) => m.name), ['a', 'b']);
});

test('environment variables: precedence, conflicts, unknown names', () => {
  assert.is(parse([], { ETCD_NAME: 'x' }).name, 'x');
  assert.is(parse([], { ETCD_NAME: '' }).name, 'default', 'an empty variable is not used');
  const conflict = configError(() => parse(['--name', 'y'], { ETCD_NAME: 'x' }));
  assert.is(conflict.code, 'env-conflict');
  assert.is(
    conflict.message,
    'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
  );
  const flagWins = parseServerConfig(['--name', 'y'], { ETCD_NAME: 'x' }, { envConflict: 'flag-wins' });
  assert.is(flagWins.name, 'y');
  assert.is(flagWins.setBy['name'], 'flag');
  assert.ok(flagWins.warnings.some((w) => w.includes('ETCD_NAME')));
  const c = parse(['--name', 'y'], { ETCD_DATA_DIR: '/d', ETCD_FOO: '1', ETCDCTL_API: '3', ETCD_UNSUPPORTED_ARCH: 'arm', PATH: '/bin' });
  assert.is(c.dataDir, '/d');
  assert.is(c.setBy['data-dir'], 'env');
  assert.equal(c.warnings, ['unrecognized environment variable ETCD_FOO=1']);
  const bad = configError(() => parse([], { ETCD_HEARTBEAT_INTERVAL: 'abc' }));
  assert.is(bad.message, 'invalid value "abc" for ETCD_HEARTBEAT_INTERVAL: parse error');
  assert.is(bad.code, 'invalid-config');
  assert.is(configError(() => parse([], { ETCD_INITIAL_CLUSTER_STATE: 'bad' })).message, 'invalid value "bad" for ETCD_INITIAL_CLUSTER_STATE: invalid value');
  assert.is(parse([], { ETCD_PRE_VOTE: 'true' }).preVote, true);
  assert.is(
    configError(() => parse([], { ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379' })).message,
    '--advertise-client-urls is required when --listen-client-urls is set explicitly',
  );
});

test('help and version', () => {
  assert.is(parse(['--help']).action, 'help');
  assert.is(parse(['-h']).action, 'help');
  assert.is(parse(['--name', 'x', '-help', '--bogus']).action, 'help', 'parsing stops at help');
  assert.is(configError(() => parse(['--bogus', '-h'])).message, 'flag provided but not defined: -bogus');
  assert.is(parse(['--version']).action, 'version');
  assert.is(parse(['--version', '--heartbeat-interval=0']).action, 'version', 'validation is skipped');
  assert.is(configError(() => parse(['--version', '--heartbeat-interval=x'])).code, 'flag-syntax');
});

test('settings etcd-ts does not implement are refused, harmless ones warned about', () => {
  const cases: [string[], string][] = [
    [['--cert-file=/c.pem'], '--cert-file is not supported by etcd-ts (TLS is not implemented)'],
    [['--client-cert-auth'], '--client-cert-auth is not supported by etcd-ts (TLS is not implemented)'],
    [['--cipher-suites=TLS_AES_128_GCM_SHA256'], '--cipher-suites is not supported by etcd-ts (TLS is not implemented)'],
    [['--discovery=https://discovery.etcd.io/x'], '--discovery is not supported by etcd-ts (discovery is not implemented; bootstrap with --initial-cluster)'],
    [['--proxy=on'], '--proxy is not supported by etcd-ts (the v2 proxy is not implemented)'],
    [['--enable-v2'], '--enable-v2 is not supported by etcd-ts (the v2 API is not implemented)'],
    [['--listen-client-urls=https://127.0.0.1:2379', '--advertise-client-urls=https://127.0.0.1:2379'], 'TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme'],
  ];
  for (const [argv, message] of cases) {
    const e = configError(() => parse(argv));
    assert.is(e.message, message);
    assert.is(e.code, 'unsupported');
  }
  assert.is(parse(['--proxy=off', '--enable-v2=false', '--cert-file=']).action, 'serve', 'default values are fine');
  assert.is(
    configError(() => parse(['--discovery=x', '--initial-cluster=a=http://1.2.3.4:1'])).message,
    'multiple discovery or bootstrap flags are set. Choose one of "initial-cluster", "discovery" or "discovery-srv"',
  );
  const c = parse(['--backend-batch-limit=10', '--backend-batch-interval=1s', '--enable-pprof', '-v', '--debug']);
  assert.not.ok(c.warnings.some((w) => w.includes('backend-batch')), 'the backend batch flags take effect');
  assert.ok(c.warnings.includes('--enable-pprof has no effect in etcd-ts'));
  assert.ok(c.warnings.some((w) => w.includes('-v is ignored')));
  assert.is(c.logLevel, 'debug', '--debug implies debug level');
  assert.is(parse(['--debug', '--log-level=warn']).logLevel, 'warn');
});

test('logging outputs', () => {
  assert.equal(parse(['--logger=zap', '--log-outputs=stderr,/var/log/etcd.log']).logOutputs, ['/var/log/etcd.log', 'stderr']);
  assert.equal(parse(['--log-outputs=default']).logOutputs, ['stderr']);
  assert.equal(parse(['--log-output=stdout']).logOutputs, ['stdout']);
  assert.match(configError(() => parse(['--log-output=stdout', '--log-outputs=stderr'])).message, "only set '--log-outputs'");
  assert.match(configError(() => parse(['--logger=zap', '--log-outputs='])).message, 'at least one output');
});

test('resolved values: zero snapshot count, bcrypt range, negative quota, ticks', () => {
  const c = parse(['--snapshot-count=0', '--bcrypt-cost=2', '--quota-backend-bytes=-1', '--heartbeat-interval=30', '--election-timeout=160']);
  assert.is(c.snapshotCount, 100000);
  assert.is(c.bcryptCost, 10);
  assert.is(c.quotaBackendBytes, -1);
  assert.is(c.electionTicks, 5);
  assert.is(c.warnings.length, 3);
  assert.equal(
    hrefs(parse(['--listen-peer-urls=http://[::1]:2380,http://127.0.0.1:2380,http://127.0.0.1:2380']).listenPeerUrls),
    ['http://127.0.0.1:2380', 'http://[::1]:2380'],
  );
  const v6 = parse(['--listen-peer-urls=http://[::1]:2380']).listenPeerUrls[0];
  assert.equal(v6, { href: 'http://[::1]:2380', scheme: 'http', hostname: '::1', port: 2380 });
});

test('backend batch bounds: 0 means the etcd defaults, negative values are refused naming the flag', () => {
  const zero = parse(['--backend-batch-interval=0s', '--backend-batch-limit=0']);
  assert.is(zero.backendBatchIntervalMs, 100);
  assert.is(zero.backendBatchLimit, 10000);
  const given = parse(['--backend-batch-interval', '250us', '--backend-batch-limit', '0x10']);
  assert.is(given.backendBatchIntervalMs, 0.25);
  assert.is(given.backendBatchLimit, 16);
  const fromEnv = parse([], { ETCD_BACKEND_BATCH_INTERVAL: '2s', ETCD_BACKEND_BATCH_LIMIT: '300' });
  assert.is(fromEnv.backendBatchIntervalMs, 2000);
  assert.is(fromEnv.backendBatchLimit, 300);
  for (const [argv, flag] of [
    [['--backend-batch-interval=-1ns'], 'backend-batch-interval'],
    [['--backend-batch-limit', '-10'], 'backend-batch-limit'],
  ] as const) {
    const e = configError(() => parse([...argv]));
    assert.is(e.code, 'invalid-config');
    assert.is(e.flag, flag);
    assert.match(e.message, `--${flag} must not be negative`);
  }
  assert.is(configError(() => parse(['--backend-batch-limit=1.5'])).code, 'flag-syntax');
  assert.is(configError(() => parse(['--backend-batch-interval=5'])).code, 'flag-syntax', 'a duration needs a unit');
});

test.run();
