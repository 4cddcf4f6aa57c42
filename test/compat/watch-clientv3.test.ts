import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registerPid, unregisterPid } from '../harness/process-registry.js';
import { spawnServer, type ServerHandle } from '../harness/server.js';

/*
 * Go clientv3 (etcd 3.4's, as built into the benchmark load generator)
 * watching etcd-ts: many watchers multiplexed on shared streams with created
 * notifications, and one watcher per stream, every event delivered. etcdctl,
 * also clientv3, covers --rev, --prefix, --prev-kv and compaction in the
 * etcdctl differential watch suite. Needs Go and Debian's etcd sources
 * (scripts/bench-build-loadgen.sh says how to install them).
 */

/** The repository root: the nearest ancestor holding pnpm-workspace.yaml (from sources and from dist/). */
const root = ((): string => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'pnpm-workspace.yaml'))) return d;
    d = dirname(d);
  }
  throw new Error('repository root not found');
})();

let server: ServerHandle | undefined;
let loadgen = '';

test.before(async () => {
  const b = spawnSync(join(root, 'scripts/bench-build-loadgen.sh'), [], { encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`cannot build the Go load generator:\n${b.stderr}`);
  loadgen = b.stdout.trim().split('\n').pop() ?? '';
  server = await spawnServer('etcd-ts', { readyTimeoutMs: 20_000 });
});

test.after(async () => {
  await server?.dispose();
});

interface LoadgenResult {
  ops: number;
  errors: number;
  first_error?: string;
  puts?: number;
  watchers?: number;
}

function runLoadgen(args: string[]): Promise<LoadgenResult> {
  return new Promise((res, rej) => {
    const child = spawn(loadgen, ['--endpoints', server!.endpoint, '--deadline', '120s', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) {
      rej(new Error('loadgen did not start'));
      return;
    }
    const pid = child.pid;
    registerPid(pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      unregisterPid(pid);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        res(JSON.parse(line) as LoadgenResult);
      } catch {
        rej(new Error(`loadgen exited ${code}: ${out}\n${err}`));
      }
    });
  });
}

test('clientv3: 40 watchers of a key multiplexed on 4 streams each get every put', async () => {
  const r = await runLoadgen(['--op', 'watch-latency', '--clients', '40', '--streams', '4', '--conns', '2', '--total', '60', '--put-rate', '200', '--warmup', '0s']);
  assert.is(r.errors, 0, r.first_error);
  assert.is(r.puts, 60);
  assert.is(r.ops, 60 * 40);
});

test('clientv3: 2,000 watchers of a key on 20 streams, one put at a time reaches all of them', async () => {
  const r = await runLoadgen(['--op', 'watch-fanout', '--clients', '2000', '--streams', '20', '--conns', '4', '--total', '10', '--put-rate', '20']);
  assert.is(r.errors, 0, r.first_error);
  assert.is(r.ops, 10);
});

test.run();
