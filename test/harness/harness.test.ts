import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffPlain, toPlain } from './normalize.js';
import { runEtcdctl } from './etcdctl.js';
import { GrpcCallError, kvClient } from './kv-client.js';
import { spawnEtcd, type ServerHandle } from './server.js';
import { waitFor } from './wait-for.js';

/* Self-tests of the harness, against real etcd. */

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('normalize: proto3 defaults are dropped, bytes and bigint shown distinctly', () => {
  const p = toPlain({ a: 0, b: false, c: '', d: Buffer.alloc(0), e: [], f: undefined, g: null, h: {}, i: 5n, j: Buffer.from('k'), k: Buffer.from([0, 255]) });
  assert.equal(p, { h: {}, i: '5n', j: 'k', k: '0x00ff' });
  assert.equal(diffPlain({ x: [1, 2] }, { x: [1, 3] }), [{ path: '$.x[1]', expected: 2, actual: 3 }]);
  assert.equal(diffPlain({ x: 1 }, { x: 1 }), []);
  assert.equal(diffPlain(toPlain({ n: 1 }), toPlain({ n: 1n })).length, 1);
});

test('spawnEtcd: serves, restarts with its data, stops, is disposed with its dir', async () => {
  let s: ServerHandle | undefined;
  const client = { close: () => {} };
  try {
    s = await spawnEtcd();
    assert.match(s.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.ok(alive(s.pid));
    const kv = kvClient(s.endpoint);
    client.close = () => kv.close();
    const put = await kv.put({ key: 'k', value: 'v' });
    assert.is(put.header?.revision, 2);
    const err = await kv.range({ key: '' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, GrpcCallError);
    assert.is((err as GrpcCallError).code, 3);
    assert.is((err as GrpcCallError).details, 'etcdserver: key is not provided');

    const firstPid = s.pid;
    await s.restart();
    assert.is.not(s.pid, firstPid);
    assert.not.ok(alive(firstPid));
    const got = await waitFor(async () => (await kv.range({ key: 'k' })).kvs[0], { timeoutMs: 10_000, what: 'key k after restart' });
    assert.is(got.value.toString(), 'v');

    const before = s.pid;
    const exit = await s.kill9();
    assert.is(exit.signal, 'SIGKILL');
    assert.ok(s.exited);
    assert.not.ok(alive(before));
    await s.restart();
    assert.is((await kv.range({ key: 'k' })).count, 1);

    const ctl = await runEtcdctl(s.endpoint, ['put', 'fromstdin'], { stdin: 'value-on-stdin' });
    assert.is(ctl.code, 0);
    assert.is(ctl.stdout, 'OK\n');
    const get = await runEtcdctl(s.endpoint, ['get', 'fromstdin', '--print-value-only']);
    assert.is(get.stdout, 'value-on-stdin\n');
    const bad = await runEtcdctl(s.endpoint, ['get', 'k', '--rev=1000']);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, 'Error: etcdserver: mvcc: required revision is a future revision');
  } finally {
    client.close();
    if (s !== undefined) {
      const { pid, dataDir } = s;
      await s.dispose();
      assert.not.ok(alive(pid));
      assert.not.ok(existsSync(dirname(dataDir)));
    }
  }
});

test('runEtcdctl: a hung command is killed at its timeout', async () => {
  // Nothing listens on port 1; etcdctl would wait for its dial timeout (set long here).
  const r = await runEtcdctl('127.0.0.1:1', ['--dial-timeout=30s', 'get', 'x'], { timeoutMs: 500 });
  assert.ok(r.timedOut);
  assert.is(r.code, null);
});

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

for (const mode of ['exit', 'throw', 'wait'] as const) {
  test(`registry: servers of a process that ends by "${mode}" are killed and their dirs removed`, async () => {
    const child = spawn(process.execPath, [...process.execArgv, join(here, 'fixtures', `leaky-child${ext}`), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', () => {});
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let etcdPid: number | undefined;
    try {
      const info = await waitFor(
        () => {
          const line = out.split('\n').find((l) => l.startsWith('{'));
          return line === undefined ? undefined : (JSON.parse(line) as { pid: number; dataDir: string });
        },
        { timeoutMs: 30_000, what: 'the child to report its server' },
      );
      etcdPid = info.pid;
      if (mode === 'wait') child.kill('SIGTERM');
      await exited;
      await waitFor(() => !alive(info.pid), { timeoutMs: 10_000, what: `etcd pid ${info.pid} to be gone` });
      assert.not.ok(existsSync(dirname(info.dataDir)));
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      if (etcdPid !== undefined && alive(etcdPid)) process.kill(etcdPid, 'SIGKILL');
    }
  });
}

test.run();
