/**
 * The etcd-ts command behaves like etcd's: bad flags and values exit 2 with a
 * clear message, --version prints, SIGTERM and SIGINT stop it cleanly (exit 0),
 * and without --data-dir it keeps its data in ./<name>.etcd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePorts, kvClient, waitFor } from '../harness/index.js';

const BIN = fileURLToPath(new URL('../../../packages/server/bin/etcd-ts.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown flag exits 2 with the flag named', () => {
  const r = run(['--no-such-flag']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /flag provided but not defined: -no-such-flag/);
});

test('a bad value exits 2 with the value and flag named', () => {
  const r = run(['--heartbeat-interval', 'abc']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /invalid value "abc" for flag -heartbeat-interval/);
  const e = spawnSync(process.execPath, [BIN], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ETCD_MAX_TXN_OPS: 'many' } });
  assert.is(e.status, 2);
  assert.match(e.stderr, /ETCD_MAX_TXN_OPS|max-txn-ops/);
});

test('--version prints the etcd version line first', () => {
  const r = run(['--version']);
  assert.is(r.status, 0);
  assert.match(r.stdout, /^etcd Version: 3\.4\.\d+\n/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops the member cleanly, keeping its data in ./default.etcd`, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'etcd-ts-cli-'));
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [BIN, '--listen-client-urls', url, '--advertise-client-urls', url, '--log-level', 'error'], {
      cwd,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const client = kvClient(`127.0.0.1:${port}`, { deadlineMs: 2000 });
    try {
      await waitFor(async () => (await client.put({ key: Buffer.from('k'), value: Buffer.from('v') })).header !== undefined, {
        timeoutMs: 30_000,
        what: 'the member to take a write',
      });
      assert.ok(existsSync(join(cwd, 'default.etcd', 'member', 'wal')), 'WAL under ./default.etcd');
      child.kill(signal);
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
      assert.is(code, 0, `exit code after ${signal}`);
    } finally {
      client.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  });
}

test.run();
