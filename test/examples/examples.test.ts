/**
 * Runs every compiled example (examples/dist/<name>/main.js) as a child
 * process, twice: against the etcd-ts server the example embeds (no
 * ETCD_ENDPOINTS), and against a real etcd spawned by the harness (or the
 * members in ETCD_ENDPOINTS, when set) passed in ETCD_ENDPOINTS. Each run must
 * exit 0 within its deadline and end with a `RESULT ok ...` line; a run past
 * its deadline is killed by PID.
 *
 * Needs the examples built (`pnpm build`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registerPid, unregisterPid } from '../harness/process-registry.js';
import { spawnEtcd, type ServerHandle } from '../harness/server.js';
import { externalEndpoints } from '../harness/target.js';

const EXAMPLES = [
  'lock-workers',
  'service-registry',
  'cron-leader',
  'config-hot-reload',
  'queue-workers',
  'barrier',
  'stm-bank-transfer',
] as const;

/** What each example's RESULT line must say besides `ok`. */
const EXPECT: Record<(typeof EXAMPLES)[number], RegExp> = {
  'lock-workers': /\bcounter=100 expected=100\b.*\bstale_write_rejected=true\b/,
  'service-registry': /\binstances=api-1,api-3 reregistered=1\b/,
  'cron-leader': /\bterms=\d+\b.*\binterleaved_terms=0 duplicate_periods=0\b/,
  'config-hot-reload': /\bapplied=3 rejected=3 burst_updates=1 maxConnections=500\b/,
  'queue-workers': /\bjobs=30 acked=30 acked_exactly_once=true\b.*\bqueue_size=0\b/,
  barrier: /\bgate_ordered=true started_after_all_entered=true left_after_all_done=true\b/,
  'stm-bank-transfer': /\btotal=500 expected=500\b.*\bnegative_balances=0\b/,
};

const DEADLINE_MS = 60_000;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot locate the repository root (pnpm-workspace.yaml)');
}
const root = repoRoot();

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly timedOut: boolean;
}

/** Runs one example with `endpoints` in ETCD_ENDPOINTS (none: the example embeds its server). */
function runExample(name: string, endpoints: string[] | undefined): Promise<Run> {
  const script = join(root, 'examples', 'dist', name, 'main.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: build the examples first (pnpm build)`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ETCD_ENDPOINTS'];
  delete env['EXAMPLE_T0'];
  delete env['EXAMPLE_PREFIX'];
  if (endpoints) env['ETCD_ENDPOINTS'] = endpoints.join(',');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) return reject(new Error(`could not start ${script}`));
    registerPid(pid);
    let output = '';
    const collect = (b: Buffer): void => {
      output += b.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(pid, 'SIGKILL'); // its forked workers exit when their IPC channel closes
      } catch {
        // already gone
      }
    }, DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      unregisterPid(pid);
      resolve({ code, signal, output, timedOut });
    });
  });
}

function check(name: (typeof EXAMPLES)[number], run: Run, target: string): void {
  const lines = run.output.trimEnd().split('\n');
  const result = [...lines].reverse().find((l) => l.startsWith('RESULT '));
  const context = `\n--- ${name} against ${target}: output ---\n${lines.slice(-60).join('\n')}\n---`;
  assert.not.ok(run.timedOut, `${name} did not finish within ${DEADLINE_MS} ms${context}`);
  assert.is(run.code, 0, `${name} exited with ${run.code ?? run.signal}${context}`);
  assert.ok(result?.startsWith('RESULT ok '), `${name}: no "RESULT ok" line${context}`);
  assert.match(result ?? '', EXPECT[name], `${name}: unexpected result line${context}`);
}

let etcd: ServerHandle | undefined;
let etcdEndpoints: string[] | undefined;

test.after(async () => {
  await etcd?.dispose();
});

for (const name of EXAMPLES) {
  test(`${name} against its embedded etcd-ts server`, async () => {
    check(name, await runExample(name, undefined), 'embedded etcd-ts');
  });
}

for (const name of EXAMPLES) {
  test(`${name} against etcd`, async () => {
    if (!etcdEndpoints) {
      etcdEndpoints = externalEndpoints();
      if (!etcdEndpoints) {
        etcd = await spawnEtcd();
        etcdEndpoints = [etcd.endpoint];
      }
    }
    check(name, await runExample(name, etcdEndpoints), `etcd at ${etcdEndpoints.join(',')}`);
  });
}

test.run();
