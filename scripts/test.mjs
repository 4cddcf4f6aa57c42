#!/usr/bin/env node
// Runs every compiled uvu suite (packages/*/dist/test/**/*.test.js, test/dist/**/*.test.js),
// each in its own process with a deadline, and ends with the line "N passed, N failed".
// Arguments filter suites by substring of their path.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SUITE_TIMEOUT_MS = Number(process.env.SUITE_TIMEOUT_MS ?? 15 * 60_000);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

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
const suites = dirs
  .flatMap((d) => findSuites(d))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort();

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function runSuite(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    const timer = setTimeout(() => {
      out += `\nsuite timed out after ${SUITE_TIMEOUT_MS} ms\n`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, SUITE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = stripAnsi(out);
      const num = (label) => {
        const m = text.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
        return m ? Number(m[1]) : undefined;
      };
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped') ?? 0;
      let p = passed ?? 0;
      let f = total !== undefined ? total - p - skipped : 0;
      // A suite that exits non-zero without reporting a failure still counts as one failure.
      if (code !== 0 && f === 0) f = 1;
      resolve({ file, passed: p, failed: f, skipped, ms: Date.now() - started, code });
    });
  });
}

const results = [];
for (const file of suites) {
  console.log(`\n### ${file}`);
  results.push(await runSuite(file));
}
console.log('\nSuite results:');
for (const r of results) {
  console.log(`  ${r.failed ? 'FAIL' : 'ok  '} ${r.file}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${(r.ms / 1000).toFixed(1)} s)`);
}
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
if (suites.length === 0) console.log('no test suites found');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || suites.length === 0 ? 1 : 0;
