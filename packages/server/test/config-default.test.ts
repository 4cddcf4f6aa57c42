import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/config/config-error.js';
import { defaultServerConfig } from '../src/config/default-server-config.js';
import { effectiveQuotaBackendBytes } from '../src/config/effective-quota-backend-bytes.js';
import { formatUsage, formatUsageLine } from '../src/config/format-usage.js';
import { parseServerConfig } from '../src/config/parse-server-config.js';
import { formatVersion } from '../src/config/version.js';

test('defaultServerConfig() equals the command-line defaults without warnings', () => {
  const embedded = defaultServerConfig();
  const cli = parseServerConfig([], {});
  assert.equal({ ...embedded, warnings: [] }, { ...cli, warnings: [] });
  assert.equal(embedded.warnings, []);
});

test('overrides are typed, validated and derive dependent values', () => {
  const c = defaultServerConfig({
    name: 'n1',
    dataDir: '/tmp/n1',
    listenClientUrls: 'http://127.0.0.1:0',
    listenPeerUrls: ['http://127.0.0.1:0'],
    heartbeatIntervalMs: 10,
    electionTimeoutMs: 100,
    experimentalBackendStorage: 'memory',
    grpcKeepAliveMinTimeMs: 1500,
    backendBatchIntervalMs: 20,
    backendBatchLimit: 50,
    autoCompactionRetention: 2,
    logOutputs: [],
    preVote: true,
  });
  assert.is(c.name, 'n1');
  assert.is(c.dataDir, '/tmp/n1');
  assert.equal(c.listenClientUrls.map((u) => [u.hostname, u.port]), [['127.0.0.1', 0]]);
  assert.equal(c.advertiseClientUrls.map((u) => u.href), ['http://127.0.0.1:0'], 'listen URLs are advertised when no advertise URL is given');
  assert.equal(c.initialAdvertisePeerUrls.map((u) => u.href), ['http://127.0.0.1:0']);
  assert.is(c.initialCluster, 'n1=http://127.0.0.1:0');
  assert.is(c.electionTicks, 10);
  assert.is(c.experimentalBackendStorage, 'memory');
  assert.is(c.grpcKeepAliveMinTimeMs, 1500);
  assert.is(c.backendBatchIntervalMs, 20);
  assert.is(c.backendBatchLimit, 50);
  assert.equal(c.autoCompaction, { mode: 'periodic', retentionMs: 7200000 });
  assert.is(c.preVote, true);
  assert.is(c.setBy['listen-client-urls'], 'override');
  assert.equal(c.warnings, []);
});

test('bad overrides are ConfigErrors naming the field', () => {
  const cases: [Parameters<typeof defaultServerConfig>[0], string][] = [
    [{ heartbeatIntervalMs: 1.5 }, 'invalid value "1.5" for heartbeatIntervalMs: parse error'],
    [{ maxTxnOps: -1 }, 'invalid value "-1" for maxTxnOps: parse error'],
    [{ backendBatchLimit: -1 }, '--backend-batch-limit must not be negative (set to -1)'],
    [{ listenClientUrls: 'localhost:2379' }, 'invalid value "localhost:2379" for listenClientUrls: URL scheme must be http, https, unix, or unixs: localhost:2379'],
    [{ electionTimeoutMs: 200 }, '--election-timeout[200ms] should be at least as 5 times as --heartbeat-interval[100ms]'],
    [{ listenClientUrls: 'http://example.com:1' }, 'expected IP in URL for binding (http://example.com:1)'],
  ];
  for (const [overrides, message] of cases) {
    try {
      defaultServerConfig(overrides);
      assert.unreachable(message);
    } catch (e) {
      assert.instance(e, ConfigError);
      assert.is((e as ConfigError).message, message);
    }
  }
  try {
    defaultServerConfig({ bogus: 1 } as never);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, 'unknown server config field "bogus"');
  }
});

test('effective quota', () => {
  assert.is(effectiveQuotaBackendBytes({ quotaBackendBytes: 0 }), 2 * 1024 ** 3);
  assert.is(effectiveQuotaBackendBytes({ quotaBackendBytes: 1024 }), 1024);
  assert.is(effectiveQuotaBackendBytes({ quotaBackendBytes: -1 }), null);
});

test('usage and version texts', () => {
  const usage = formatUsage();
  assert.ok(usage.startsWith(formatUsageLine()));
  assert.match(usage, "Member:\n  --name 'default'\n");
  assert.match(usage, "  --heartbeat-interval '100'\n");
  assert.match(usage, "  --experimental-backend-storage 'lmdb'\n");
  assert.match(usage, 'ETCD_DATA_DIR');
  assert.not.match(usage, '--test.coverprofile');
  const version = formatVersion().split('\n');
  assert.is(version[0], 'etcd Version: 3.4.23');
  assert.is(version[1], 'etcd-ts Version: 0.1.0');
  assert.match(version[3] ?? '', /^Node Version: v\d+/);
});

test.run();
