// TLS: the client verifies the member's certificate against the given CA and
// talks to an https:// endpoint; without the CA the connection is refused as
// a typed transport error. Always real etcd (etcd-ts serves plain HTTP only).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, hasRetryFacts } from '@etcd-ts/client';
import { freePorts, waitFor } from '../harness/index.js';
import { registerPid, registerTempDir, unregisterPid, unregisterTempDir } from '../harness/process-registry.js';

let dir = '';
let etcd: ChildProcess | undefined;
let endpoint = '';
let ca: Buffer;

/** A CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(into: string): void {
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: into, stdio: 'ignore' });
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=etcd-ts test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(into, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem');
}

test.before(async () => {
  console.error('tls suite target: etcd (spawned with TLS; etcd-ts has no TLS listener)');
  dir = mkdtempSync(join(tmpdir(), 'etcd-tls-'));
  registerTempDir(dir);
  makeCertificates(dir);
  ca = readFileSync(join(dir, 'ca.pem'));
  const [client, peer] = await freePorts(2);
  endpoint = `https://127.0.0.1:${client}`;
  etcd = spawn('etcd', [
    '--name', 'tls', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
    '--cert-file', join(dir, 'server.pem'), '--key-file', join(dir, 'server.key'),
    '--logger', 'zap', '--log-level', 'error',
  ], { stdio: 'ignore' });
  if (etcd.pid !== undefined) registerPid(etcd.pid);
  await using probe = new Client({ endpoints: [endpoint], tls: { ca }, callTimeoutMs: 2_000 });
  await waitFor(async () => (await probe.get('probe').exec(), true), { timeoutMs: 30_000, what: 'etcd serving over TLS' });
});

test.after(async () => {
  if (etcd?.pid !== undefined && etcd.exitCode === null) {
    const exited = new Promise((r) => etcd?.once('exit', r));
    etcd.kill('SIGKILL');
    await exited;
    unregisterPid(etcd.pid);
  }
  rmSync(dir, { recursive: true, force: true });
  unregisterTempDir(dir);
});

test('an https:// endpoint with the CA: calls, watches and leases work', async () => {
  await using client = new Client({ endpoints: [endpoint], tls: { ca } });
  const watcher = client.watch('tls/', { prefix: true });
  await watcher.created;
  await client.put('tls/a', 'secure');
  assert.is(await client.get('tls/a').string(), 'secure');
  for await (const batch of watcher) {
    assert.is(batch.events[0]?.kv?.value.toString(), 'secure');
    break;
  }
  const lease = await client.lease.grant(5);
  assert.ok((await lease.timeToLive()).ttl > 0);
  await lease.revoke();
});

test('without the CA the server certificate is refused: a typed, never-applied failure', async () => {
  await using client = new Client({ endpoints: [endpoint], callTimeoutMs: 1_500 });
  const err = await client.put('tls/b', 'x').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(hasRetryFacts(err), String(err));
  assert.is(err.applied, 'never');
});

test.run();
