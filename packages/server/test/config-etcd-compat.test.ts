import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/config/config-error.js';
import { FLAG_DEFINITIONS } from '../src/config/flag-definitions.js';
import { parseServerConfig } from '../src/config/parse-server-config.js';

// Differential checks against the etcd 3.4 binary: only inputs that etcd rejects
// before starting are used, so no etcd server is ever started here.
const ETCD = '/usr/bin/etcd';
const available = existsSync(ETCD);

interface EtcdRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runEtcd(argv: string[], env: Record<string, string> = {}): EtcdRun {
  const cwd = mkdtempSync(join(tmpdir(), 'etcd-compat-'));
  try {
    const r = spawnSync(ETCD, argv, {
      cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin', ...env },
      encoding: 'utf8',
      timeout: 5000,
      killSignal: 'SIGKILL',
    });
    if (r.signal === 'SIGKILL') throw new Error(`etcd ${argv.join(' ')} did not exit; it must not be started by this test`);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The message etcd reports: the first stderr line for flag syntax errors, the "error verifying flags" text otherwise. */
function etcdMessage(run: EtcdRun): string {
  const verifying = /error verifying flags, (.*)\. See 'etcd --help'\./.exec(run.stderr);
  if (verifying?.[1] !== undefined) return verifying[1];
  const fatal = /C \| pkg\/flags: (.*)$/m.exec(run.stderr);
  if (fatal?.[1] !== undefined) return fatal[1];
  return run.stderr.split('\n')[0] ?? '';
}

function ourError(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parseServerConfig(argv, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`etcd-ts accepted ${argv.join(' ')}`);
}

const REJECTED: [string[], Record<string, string>][] = [
  [['--foo'], {}],
  [['-foo=1'], {}],
  [['-heartbeat-interval', 'abc'], {}],
  [['--heartbeat-interval=-5'], {}],
  [['--snapshot-count=1e3'], {}],
  [['--quota-backend-bytes=abc'], {}],
  [['--max-concurrent-streams=4294967296'], {}],
  [['--grpc-keepalive-min-time=5'], {}],
  [['--initial-cluster-state=foo'], {}],
  [['--listen-client-urls=foo'], {}],
  [['--listen-peer-urls=http://127.0.0.1'], {}],
  [['--listen-peer-urls=ftp://127.0.0.1:1'], {}],
  [['--listen-peer-urls=http://127.0.0.1:1/x'], {}],
  [['--name'], {}],
  [['--pre-vote=maybe'], {}],
  [['---name=x'], {}],
  [['-=x'], {}],
  [['--pre-vote', 'false'], {}],
  [['extra'], {}],
  [['--heartbeat-interval', '0'], {}],
  [['--election-timeout', '100'], {}],
  [['--heartbeat-interval=0x10', '--election-timeout', '0100'], {}],
  [['--election-timeout', '60000'], {}],
  [['--listen-client-urls=http://example.com:2379'], {}],
  [['--listen-client-urls=http://127.0.0.1:2379'], {}],
  [['--advertise-client-urls=http://:1'], {}],
  [['--auto-compaction-mode=foo'], {}],
  [['--logger=foo'], {}],
  [['--log-outputs=stderr,stdout'], {}],
  [['--experimental-enable-lease-checkpoint-persist'], {}],
  [['--discovery=x', '--initial-cluster=a=http://1.2.3.4:1'], {}],
  [['--name', 'y'], { ETCD_NAME: 'x' }],
  [[], { ETCD_HEARTBEAT_INTERVAL: 'abc' }],
  [[], { ETCD_INITIAL_CLUSTER_STATE: 'bad' }],
  [[], { ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379' }],
];

test('rejected inputs: same message and exit status as etcd', () => {
  if (!available) return;
  for (const [argv, env] of REJECTED) {
    const run = runEtcd(argv, env);
    assert.ok(run.status !== 0, `etcd accepted ${argv.join(' ')}`);
    const ours = ourError(argv, env);
    assert.is(ours.message, etcdMessage(run), `${argv.join(' ')} ${JSON.stringify(env)}`);
    if (ours.code !== 'env-conflict') assert.is(ours.exitCode, run.status, `exit status for ${argv.join(' ')}`);
  }
});

test('--help lists the same defaults as etcd --help', () => {
  if (!available) return;
  const run = runEtcd(['--help']);
  assert.is(run.status, 0);
  const etcdDefaults = new Map<string, string>();
  for (const line of run.stdout.split('\n')) {
    const m = /^ {2}--([a-z0-9.-]+) (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) etcdDefaults.set(m[1], m[2].replace(/^'(.*)'$/, '$1'));
  }
  assert.ok(etcdDefaults.size >= 75, 'etcd help was parsed');
  for (const [name, shown] of etcdDefaults) {
    const def = FLAG_DEFINITIONS.get(name);
    assert.ok(def, `etcd flag --${name} is defined`);
    assert.is(def.helpDefault ?? def.defaultValue, shown, `default of --${name}`);
  }
});

test('--version keeps etcd first line', () => {
  if (!available) return;
  const run = runEtcd(['--version']);
  assert.is(run.stdout.split('\n')[0], 'etcd Version: 3.4.23');
});

test.run();
