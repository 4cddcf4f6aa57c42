/**
 * Watches with auth: a refused token is replaced and the watch resumes
 * without loss; a watch outside the user's permissions is canceled. It needs
 * a server with auth and a short simple-token TTL, so it always spawns its
 * own real etcd (etcd-ts has no Auth service yet), whatever the target.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { mvccpb } from '@etcd-ts/api';
import { EtcdError, WatchCanceledError } from '@etcd-ts/client';
import type { Credentials, Rpc } from '@etcd-ts/client';
import { Watch } from '@etcd-ts/client';
import { runEtcdctl, spawnEtcd, withTimeout, type ServerHandle } from '../harness/index.js';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { connectRpc, recordTokens } from './fixtures.js';

/** Seconds a simple token lives without use (etcd --auth-token-ttl). */
const TOKEN_TTL_S = 2;

let etcd: ServerHandle;
let proxy: TcpProxy;
const closers: (() => Promise<void> | void)[] = [];

/** A Watch as `user` through the proxy; `tokens` lists every distinct token it was handed. */
function connect(credentials: Credentials): { watch: Watch; rpc: Rpc; tokens: string[] } {
  const { source, tokens } = recordTokens(credentials);
  const { rpc, close } = connectRpc([proxy.endpoint], { tokens: source });
  const watch = new Watch(rpc);
  closers.push(async () => {
    await watch.close();
    close();
  });
  return { watch, rpc, tokens };
}

async function etcdctl(...args: string[]): Promise<string> {
  const r = await runEtcdctl(etcd.endpoint, args);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test.before(async () => {
  etcd = await spawnEtcd({
    extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL_S), '--bcrypt-cost', '4'],
  });
  proxy = await startTcpProxy({ target: etcd.endpoint });
  await etcdctl('user', 'add', 'root:rootpw');
  await etcdctl('role', 'add', 'root');
  await etcdctl('user', 'grant-role', 'root', 'root');
  await etcdctl('role', 'add', 'app');
  await etcdctl('role', 'grant-permission', 'app', 'read', 'app/', '--prefix=true');
  await etcdctl('user', 'add', 'alice:alicepw');
  await etcdctl('user', 'grant-role', 'alice', 'app');
  await etcdctl('auth', 'enable');
});

test.after(async () => {
  for (const c of closers) await c();
  await proxy?.close();
  await etcd?.dispose();
});

test('an expired token is replaced when the watch is re-created; nothing is lost', async () => {
  const { watch, tokens } = connect({ username: 'root', password: 'rootpw' });
  const w = watch.watch('app/', { prefix: true });
  const disconnects: Error[] = [];
  w.on('disconnected', (e) => disconnects.push(e));
  const events: mvccpb.Event[] = [];
  w.on('event', (e) => events.push(e));
  await withTimeout(w.created, 10_000, 'created');
  assert.is(tokens.length, 1);
  await etcdctl('--user', 'root:rootpw', 'put', 'app/1', 'one');
  // Let the token expire unused (the open stream does not use it), then break the connection.
  await delay((TOKEN_TTL_S + 1.5) * 1_000);
  proxy.breakAll();
  await etcdctl('--user', 'root:rootpw', 'put', 'app/2', 'two');
  const deadline = Date.now() + 15_000;
  while (events.length < 2 && Date.now() < deadline) await delay(20);
  assert.equal(
    events.map((e) => e.kv?.value.toString()),
    ['one', 'two'],
  );
  assert.ok(tokens.length >= 2, `a new token after the old one was refused (${tokens.length})`);
  assert.ok(
    disconnects.some((e) => e instanceof EtcdError && e.code === 'INVALID_AUTH_TOKEN'),
    `the refused create was reported: ${disconnects.map((e) => e.message).join('; ')}`,
  );
  await w.close();
});

test('a watch outside the user\'s permissions ends with WatchCanceledError', async () => {
  const { watch } = connect({ username: 'alice', password: 'alicepw' });
  const denied = watch.watch('secret');
  const allowed = watch.watch('app/', { prefix: true });
  const err = await withTimeout(denied.closed, 10_000, 'denied watch to end');
  assert.instance(err, WatchCanceledError);
  assert.is((err as WatchCanceledError).reason, 'etcdserver: permission denied');
  assert.instance(await denied.created.then(() => undefined, (e: unknown) => e), WatchCanceledError);
  await withTimeout(allowed.created, 10_000, 'allowed created');
  const it = allowed.events();
  await etcdctl('--user', 'root:rootpw', 'put', 'app/3', 'three');
  const next = await withTimeout(it.next(), 10_000, 'event');
  assert.is(next.value?.kv?.value.toString(), 'three');
  await allowed.close();
});

test.run();
