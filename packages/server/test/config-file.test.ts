import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/config/config-error.js';
import { parseConfigYaml, YamlSubsetError } from '../src/config/parse-config-yaml.js';
import { parseServerConfig } from '../src/config/parse-server-config.js';
import type { ServerConfig } from '../src/config/server-config.js';

function fromFile(text: string, argv: string[] = [], env: Record<string, string> = {}): ServerConfig {
  return parseServerConfig(['--config-file', '/etc/etcd/etcd.conf.yml', ...argv], env, {
    readFile: (p) => {
      assert.is(p, '/etc/etcd/etcd.conf.yml');
      return text;
    },
  });
}

function fileError(text: string): ConfigError {
  try {
    fromFile(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const SAMPLE = `# member settings
name: 'infra1'
data-dir: /var/lib/etcd/infra1
wal-dir:
snapshot-count: 10000
heartbeat-interval: 50
election-timeout: 500
quota-backend-bytes: 0
backend-batch-interval: 10000000   # nanoseconds: 10ms
backend-batch-limit: 500
listen-peer-urls: http://10.0.0.1:2380
listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379
max-snapshots: 5
max-wals: 5
cors:
initial-advertise-peer-urls: http://10.0.0.1:2380
advertise-client-urls: "http://10.0.0.1:2379"
discovery:
discovery-fallback: 'proxy'
initial-cluster: infra0=http://10.0.0.0:2380,infra1=http://10.0.0.1:2380
initial-cluster-token: 'etcd-cluster-1'
initial-cluster-state: 'new'
strict-reconfig-check: false
enable-v2: false
enable-pprof: true
proxy: 'off'
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  auto-tls: false
peer-transport-security:
  auto-tls: false
log-level: debug
logger: zap
log-outputs: [stderr]
auto-compaction-mode: periodic
auto-compaction-retention: 1
grpc-keepalive-min-time: 2000000000   # nanoseconds, as etcd decodes durations
experimental-watch-progress-notify-interval: 5s
pre-vote: yes
force-new-cluster: false
`;

test('an etcd configuration file', () => {
  const c = fromFile(SAMPLE);
  assert.is(c.name, 'infra1');
  assert.is(c.dataDir, '/var/lib/etcd/infra1');
  assert.is(c.walDir, '');
  assert.is(c.snapshotCount, 10000);
  assert.is(c.heartbeatIntervalMs, 50);
  assert.is(c.electionTimeoutMs, 500);
  assert.is(c.backendBatchIntervalMs, 10);
  assert.is(c.backendBatchLimit, 500);
  assert.is(c.setBy['backend-batch-interval'], 'config-file');
  assert.equal(c.listenClientUrls.map((u) => u.href), ['http://10.0.0.1:2379', 'http://127.0.0.1:2379']);
  assert.equal(c.advertiseClientUrls.map((u) => u.href), ['http://10.0.0.1:2379']);
  assert.equal(c.cors, ['*'], 'an empty key keeps the default');
  assert.equal(c.initialClusterMembers.map((m) => m.name), ['infra0', 'infra1']);
  assert.is(c.initialClusterToken, 'etcd-cluster-1');
  assert.is(c.strictReconfigCheck, false);
  assert.is(c.logLevel, 'debug');
  assert.is(c.logger, 'zap');
  assert.equal(c.logOutputs, ['stderr']);
  assert.equal(c.autoCompaction, { mode: 'periodic', retentionMs: 3600000 });
  assert.is(c.grpcKeepAliveMinTimeMs, 2000);
  assert.is(c.experimentalWatchProgressNotifyIntervalMs, 5000);
  assert.is(c.preVote, true);
  assert.is(c.configFile, '/etc/etcd/etcd.conf.yml');
  assert.is(c.setBy['name'], 'config-file');
  assert.ok(c.warnings[0]?.startsWith('loaded server configuration from "/etc/etcd/etcd.conf.yml"'));
  assert.ok(c.warnings.includes('--enable-pprof has no effect in etcd-ts'));
});

test('with a configuration file, other flags and ETCD_ variables are ignored', () => {
  const c = fromFile('name: fromfile\n', ['--name', 'fromflag'], { ETCD_DATA_DIR: '/env', ETCD_NAME: 'x' });
  assert.is(c.name, 'fromfile');
  assert.is(c.dataDir, 'fromfile.etcd');
  const viaEnv = parseServerConfig([], { ETCD_CONFIG_FILE: '/c.yml' }, { readFile: () => 'name: e\n' });
  assert.is(viaEnv.name, 'e');
  assert.is(viaEnv.configFile, '/c.yml');
});

test('listen-client-urls without advertise-client-urls keeps the default in a file, as etcd does', () => {
  const c = fromFile('listen-client-urls: http://127.0.0.1:2379\n');
  assert.equal(c.advertiseClientUrls.map((u) => u.href), ['http://localhost:2379']);
});

test('backend batch keys: durations as nanoseconds or Go strings, 0 for the defaults, negatives refused', () => {
  const s = fromFile('backend-batch-interval: 1.5s\nbackend-batch-limit: 0x20\n');
  assert.is(s.backendBatchIntervalMs, 1500);
  assert.is(s.backendBatchLimit, 32);
  const zero = fromFile('backend-batch-interval: 0\nbackend-batch-limit: 0\n');
  assert.is(zero.backendBatchIntervalMs, 100);
  assert.is(zero.backendBatchLimit, 10000);
  const json = fromFile('{"backend-batch-interval": 250000000, "backend-batch-limit": 64}');
  assert.is(json.backendBatchIntervalMs, 250);
  assert.is(json.backendBatchLimit, 64);
  const interval = fileError('backend-batch-interval: -1000000\n');
  assert.is(interval.message, '--backend-batch-interval must not be negative (set to -1ms)');
  assert.is(interval.code, 'invalid-config');
  assert.is(interval.flag, 'backend-batch-interval');
  const limit = fileError('backend-batch-limit: -3\n');
  assert.is(limit.message, '--backend-batch-limit must not be negative (set to -3)');
  assert.is(limit.flag, 'backend-batch-limit');
});

test('JSON files are read too', () => {
  const c = fromFile('{"name": "j", "heartbeat-interval": 20, "election-timeout": 200, "log-outputs": ["stdout"], "pre-vote": true}');
  assert.is(c.name, 'j');
  assert.is(c.heartbeatIntervalMs, 20);
  assert.equal(c.logOutputs, ['stdout']);
  assert.is(c.preVote, true);
});

test('invalid files are ConfigErrors with the path, line and key', () => {
  assert.is(
    fileError('name: a\nheartbeat-interval: abc\n').message,
    '--config-file "/etc/etcd/etcd.conf.yml" line 2, key "heartbeat-interval": invalid value "abc": parse error',
  );
  assert.is(fileError('heartbeat-interval: 0\n').message, '--heartbeat-interval must be >0 (set to 0ms)');
  assert.is(
    fileError('client-transport-security:\n  cert-file: /c.pem\n').message,
    '--cert-file is not supported by etcd-ts (TLS is not implemented)',
  );
  assert.match(fileError('name: [a, b]\n').message, 'expected a single value, got a list');
  assert.match(fileError('name: &a x\n').message, 'line 1: unsupported YAML construct');
  assert.match(fileError('name: a\n  bad: indent\n').message, 'line 2: unexpected indentation');
  assert.match(fileError('- a\n- b\n').message, 'the top level must be a mapping');
  assert.match(fileError('{"name": }').message, 'cannot parse --config-file');
  const unreadable = (() => {
    try {
      parseServerConfig(['--config-file=/nonexistent'], {}, { readFile: () => { throw new Error('ENOENT: no such file or directory'); } });
    } catch (e) {
      return e as ConfigError;
    }
    return undefined;
  })();
  assert.is(unreadable?.message, 'cannot read --config-file "/nonexistent": ENOENT: no such file or directory');
  assert.is(unreadable?.code, 'config-file');
});

test('unknown keys are ignored with a warning', () => {
  const c = fromFile('name: a\nmystery: 1\nclient-transport-security:\n  crl: x\n');
  assert.ok(c.warnings.includes('unknown configuration key "mystery" in /etc/etcd/etcd.conf.yml is ignored'));
  assert.ok(c.warnings.includes('unknown configuration key "client-transport-security.crl" in /etc/etcd/etcd.conf.yml is ignored'));
});

test('YAML subset: quoting, comments, sequences', () => {
  const root = parseConfigYaml(
    [
      '---',
      'a: "x # not a comment"  # a comment',
      "b: 'it''s'",
      'c: "tab\\tand \\u00e9"',
      'd:',
      '- one',
      '- "two"',
      'e:',
      '  - three',
      'f: []',
      'g: http://h:1',
      'h:',
    ].join('\n'),
  );
  assert.is(root.type, 'map');
  if (root.type !== 'map') return;
  const text = (k: string): unknown => {
    const n = root.entries.get(k);
    if (n?.type === 'scalar') return n.text;
    if (n?.type === 'seq') return n.items.map((i) => (i.type === 'scalar' ? i.text : null));
    return n;
  };
  assert.is(text('a'), 'x # not a comment');
  assert.is(text('b'), "it's");
  assert.is(text('c'), 'tab\tand é');
  assert.equal(text('d'), ['one', 'two']);
  assert.equal(text('e'), ['three']);
  assert.equal(text('f'), []);
  assert.is(text('g'), 'http://h:1');
  assert.is(text('h'), '');
  for (const bad of ['a: |\n  x\n', 'a: {b: 1}\n', 'a: 1\na: 2\n', 'a: "x\n', '\ta: 1\n', 'a: 1\n---\nb: 2\n']) {
    try {
      parseConfigYaml(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.instance(e, YamlSubsetError, bad);
    }
  }
});

test('a file etcd rejects is rejected with the same message', () => {
  if (!existsSync('/usr/bin/etcd')) return;
  const dir = mkdtempSync(join(tmpdir(), 'etcd-file-'));
  try {
    const file = join(dir, 'etcd.conf.yml');
    for (const body of ['heartbeat-interval: 0\n', 'election-timeout: 100\n', 'auto-compaction-mode: foo\n']) {
      writeFileSync(file, body);
      const r = spawnSync('/usr/bin/etcd', ['--config-file', file], {
        cwd: dir,
        env: { PATH: '/usr/bin' },
        encoding: 'utf8',
        timeout: 5000,
        killSignal: 'SIGKILL',
      });
      assert.is.not(r.signal, 'SIGKILL', 'etcd must reject the file');
      const etcd = /error verifying flags, (.*)\. See 'etcd --help'\./.exec(r.stderr)?.[1];
      try {
        parseServerConfig(['--config-file', file], {});
        assert.unreachable(body);
      } catch (e) {
        assert.instance(e, ConfigError);
        assert.is((e as ConfigError).message, etcd);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
