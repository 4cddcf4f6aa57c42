#!/usr/bin/env node
// Runs every compiled uvu suite (packages/*/dist/test/**/*.test.js, test/dist/**/*.test.js),
// each in its own process with a deadline, and ends with the line "N passed, N failed".
// Arguments filter suites by substring of their path.
//
// The client and recipe suites (test/dist/client/**, test/dist/recipes/**) run twice: against
// etcd-ts (ETCD_TARGET unset) and against real etcd (ETCD_TARGET=etcd, labelled "[etcd]").
// ETCD_ENDPOINTS is removed from both runs: they spawn their own servers.
//
// Flags:
//   --external          only the client and recipe suites, once, with ETCD_TARGET=etcd;
//                       ETCD_ENDPOINTS (host:port,...) is passed through when set.
//   --timeout=<ms>      per-suite deadline (default env SUITE_TIMEOUT_MS, else 15 min).
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--') && a !== '--');
const filters = args.filter((a) => !a.startsWith('--'));
const external = flags.includes('--external');
const timeoutFlag = flags.find((a) => a.startsWith('--timeout='))?.slice('--timeout='.length);
const SUITE_TIMEOUT_MS = Number(timeoutFlag ?? process.env.SUITE_TIMEOUT_MS ?? 15 * 60_000);
if (!(SUITE_TIMEOUT_MS > 0)) {
  console.error(`bad suite timeout: ${timeoutFlag ?? process.env.SUITE_TIMEOUT_MS}`);
  process.exit(2);
}
for (const f of flags) {
  if (f === '--timeout') {
    console.error('use --timeout=<ms>');
    process.exit(2);
  }
  if (f !== '--external' && !f.startsWith('--timeout=')) console.error(`ignoring unknown flag ${f}`);
}

function findSuites(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findSuites(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const dirs = [
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'dist', 'test')),
  join(root, 'test', 'dist'),
];
/** Suites that take their server from test/harness/target.ts and so run against both kinds. */
const targetsServers = (file) => /^test\/dist\/(client|recipes)\//.test(file);

const files = dirs
  .flatMap((d) => findSuites(d))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .filter((p) => !external || targetsServers(p))
  .sort();

/** One run of a suite: `env` entries are set, or removed when undefined. */
const suites = files.flatMap((file) => {
  if (external) return [{ file, label: `${file} [etcd]`, env: { ETCD_TARGET: 'etcd' } }];
  if (!targetsServers(file)) return [{ file, label: file, env: {} }];
  return [
    { file, label: file, env: { ETCD_TARGET: undefined, ETCD_ENDPOINTS: undefined } },
    { file, label: `${file} [etcd]`, env: { ETCD_TARGET: 'etcd', ETCD_ENDPOINTS: undefined } },
  ];
});
if (external) {
  const eps = process.env.ETCD_ENDPOINTS;
  console.log(`external run: client and recipe suites against etcd at ${eps ? eps : 'a spawned member (ETCD_ENDPOINTS unset)'}`);
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function runSuite({ file, label, env: overrides }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const env = { ...process.env, NO_COLOR: '1' };
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    const timer = setTimeout(() => {
      const msg = `\n${label}: suite timed out after ${SUITE_TIMEOUT_MS} ms\n`;
      out += msg;
      process.stdout.write(msg);
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, SUITE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = stripAnsi(out);
      const num = (name) => {
        const m = text.match(new RegExp(`^\\s*${name}:\\s+(\\d+)`, 'm'));
        return m ? Number(m[1]) : undefined;
      };
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped') ?? 0;
      let p = passed ?? 0;
      let f = total !== undefined ? total - p - skipped : 0;
      // A suite that exits non-zero without reporting a failure still counts as one failure.
      if (code !== 0 && f === 0) f = 1;
      resolve({ label, passed: p, failed: f, skipped, ms: Date.now() - started, code });
    });
  });
}

const results = [];
for (const suite of suites) {
  console.log(`\n### ${suite.label}`);
  results.push(await runSuite(suite));
}
console.log('\nSuite results:');
for (const r of results) {
  console.log(`  ${r.failed ? 'FAIL' : 'ok  '} ${r.label}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${(r.ms / 1000).toFixed(1)} s)`);
}
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
if (suites.length === 0) console.log('no test suites found');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || suites.length === 0 ? 1 : 0;
