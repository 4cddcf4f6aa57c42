/**
 * AuthClient and token refresh. The scenario needs a server with auth and a
 * short simple-token TTL, so it always spawns its own real etcd (etcd-ts has
 * no Auth service yet), whatever the target.
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { etcdserverpb } from '@etcd-ts/api';
import { AuthClient } from '@etcd-ts/client';
import { EtcdError } from '@etcd-ts/client';
import type { Credentials, Rpc } from '@etcd-ts/client';
import { spawnEtcd, type ServerHandle } from '../harness/index.js';
import { externalEndpoints, targetKind } from '../harness/target.js';
import { connectRpc, getRaw, putRaw, recordTokens, rejection } from './fixtures.js';

/** Seconds a simple token lives without use (etcd --auth-token-ttl). */
const TOKEN_TTL_S = 2;

interface Conn {
  readonly rpc: Rpc;
  readonly auth: AuthClient;
  /** Every distinct token the client has been handed, in order. */
  readonly tokens: string[];
  close(): void;
}

const conns: Conn[] = [];

function connect(endpoint: string, credentials?: Credentials): Conn {
  const recorded = credentials ? recordTokens(credentials) : undefined;
  const { rpc, close } = connectRpc([endpoint], recorded ? { tokens: recorded.source } : {});
  const conn: Conn = { rpc, auth: new AuthClient(rpc), tokens: recorded?.tokens ?? [], close };
  conns.push(conn);
  return conn;
}

/** A raw Range with exactly this token (no refresh): resolves to the error details, or 'ok'. */
function rawRangeWithToken(c: Conn, token: string): Promise<string> {
  const ep = c.rpc.pool.list()[0];
  if (ep === undefined) throw new Error('no endpoint');
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set('token', token);
    ep.kv.range({ key: 'app/x' }, md, { deadline: Date.now() + 5_000 }, (err) => resolve(err ? err.details : 'ok'));
  });
}

let etcd: ServerHandle;
let admin: Conn;

test.before(async () => {
  const kind = targetKind();
  const external = externalEndpoints();
  if (kind !== 'etcd' || external !== undefined) {
    process.stderr.write(
      `auth.test: runs against a spawned real etcd, not the target (${external ? `external ${external.join(',')}` : kind}): it needs --auth-token-ttl ${TOKEN_TTL_S}, and etcd-ts has no Auth service yet\n`,
    );
  }
  etcd = await spawnEtcd({
    extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL_S), '--bcrypt-cost', '4'],
  });
  admin = connect(etcd.endpoint);
});

test.after(async () => {
  for (const c of conns) c.close();
  await etcd?.dispose();
});

test('users, roles and permissions, then enabling auth', async () => {
  const { auth } = admin;
  assert.equal(await auth.status(), { enabled: false });

  await auth.userAdd('root', 'rootpw');
  await auth.roleAdd('root');
  await auth.userGrantRole('root', 'root');
  await auth.roleAdd('app');
  await auth.roleGrantPermission('app', { key: 'app/', prefix: true, permType: 'readwrite' });
  await auth.roleGrantPermission('app', { key: 'config', permType: 'read' });
  await auth.userAdd('alice', 'alicepw');
  await auth.userGrantRole('alice', 'app');
  await auth.userAdd('bob', 'bobpw');

  assert.equal((await auth.userList()).sort(), ['alice', 'bob', 'root']);
  assert.equal((await auth.roleList()).sort(), ['app', 'root']);
  assert.equal(await auth.userGet('alice'), { name: 'alice', roles: ['app'] });
  const app = await auth.roleGet('app');
  const perms = app.permissions
    .map((p) => ({ permType: p.permType, key: p.key.toString(), rangeEnd: p.rangeEnd.toString() }))
    .sort((a, b) => a.key.localeCompare(b.key));
  assert.equal(perms, [
    { permType: 'readwrite', key: 'app/', rangeEnd: 'app0' },
    { permType: 'read', key: 'config', rangeEnd: '' },
  ]);

  const missing = await rejection(auth.userGet('nobody'));
  assert.instance(missing, EtcdError);
  assert.is(missing.code, 'USER_NOT_FOUND');

  await auth.authEnable();
  assert.equal(await auth.status(), { enabled: true });
  // Without credentials every request is refused now.
  const anon = await rejection(putRaw(admin.rpc, 'app/x', 'anon'));
  assert.instance(anon, EtcdError);
  assert.is(anon.code, 'USER_EMPTY');
});

let alice: Conn;
let expiredToken = '';

test('a token refused after its TTL is replaced and the call still succeeds', async () => {
  alice = connect(etcd.endpoint, { username: 'alice', password: 'alicepw' });
  await putRaw(alice.rpc, 'app/x', 'one');
  assert.is(await getRaw(alice.rpc, 'app/x'), 'one');
  assert.is(alice.tokens.length, 1);
  const first = alice.tokens[0] as string;

  // The token expires on the server's clock after TOKEN_TTL_S without use
  // (checked once a second); nothing may use it meanwhile.
  await delay(TOKEN_TTL_S * 1000 + 2_000);
  assert.is(await rawRangeWithToken(alice, first), 'etcdserver: invalid auth token');

  await putRaw(alice.rpc, 'app/x', 'two');
  assert.is(await getRaw(alice.rpc, 'app/x'), 'two');
  assert.is(alice.tokens.length, 2, 'the client authenticated again');
  assert.is.not(alice.tokens[1], first);
  expiredToken = first;
});

test('a watch stream with the expired token is canceled; with the refreshed token it works', async () => {
  assert.ok(expiredToken !== '', 'runs after the token refresh');
  const ep = alice.rpc.pool.list()[0]!;

  const watchOnce = async (md: grpc.Metadata): Promise<{ canceled: boolean; reason: string; event?: string }> => {
    const stream = ep.watch.watch(md);
    try {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no watch response within 10 s')), 10_000);
        stream.on('error', (err: grpc.ServiceError) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.on('data', (r: etcdserverpb.WatchResponse) => {
          if (r.canceled) {
            clearTimeout(timer);
            resolve({ canceled: true, reason: r.cancelReason });
          } else if (r.created) {
            putRaw(alice.rpc, 'app/w1', 'event').catch(reject);
          } else if (r.events.length > 0) {
            clearTimeout(timer);
            resolve({ canceled: false, reason: '', event: r.events[0]?.kv?.key.toString() ?? '' });
          }
        });
        stream.write({ createRequest: { key: 'app/w1' } });
      });
    } finally {
      stream.cancel();
    }
  };

  // The server cancels a watch created with a refused token. etcd 3.4 puts the
  // whole gRPC error text in cancel_reason:
  // "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token".
  const stale = await alice.rpc.metadata(true);
  stale.set('token', expiredToken);
  const refused = await watchOnce(stale);
  assert.ok(refused.canceled, 'canceled');
  assert.ok(refused.reason.endsWith('etcdserver: invalid auth token'), refused.reason);
  // What the Watch module does then: drop the token and reopen with fresh metadata.
  alice.rpc.invalidateToken(stale);
  const fresh = await alice.rpc.metadata(true);
  assert.is(fresh.get('hasleader')[0], 'true');
  assert.is(fresh.get('token')[0], alice.tokens[1], 'the refreshed token');
  assert.equal(await watchOnce(fresh), { canceled: false, reason: '', event: 'app/w1' });

  // Invalidating the current token makes the next stream authenticate again.
  alice.rpc.invalidateToken(fresh);
  const again = await alice.rpc.metadata(true);
  assert.is(alice.tokens.length, 3);
  assert.is(again.get('token')[0], alice.tokens[2]);
  assert.equal(await watchOnce(again), { canceled: false, reason: '', event: 'app/w1' });
});

test('a user without the permission gets PERMISSION_DENIED; a wrong password AUTH_FAILED', async () => {
  const bob = connect(etcd.endpoint, { username: 'bob', password: 'bobpw' });
  const denied = await rejection(putRaw(bob.rpc, 'app/x', 'bob'));
  assert.instance(denied, EtcdError);
  assert.is(denied.code, 'PERMISSION_DENIED');
  assert.is(denied.retrySafe, false);
  const deniedRead = await rejection(getRaw(bob.rpc, 'app/x'));
  assert.is(deniedRead.code, 'PERMISSION_DENIED');

  assert.is((await rejection(putRaw(alice.rpc, 'config', 'w'))).code, 'PERMISSION_DENIED');
  assert.is((await rejection(putRaw(alice.rpc, 'other', 'w'))).code, 'PERMISSION_DENIED');
  assert.is(await getRaw(alice.rpc, 'config'), undefined);
  // Not root: administration is refused too.
  assert.is((await rejection(alice.auth.userList())).code, 'PERMISSION_DENIED');

  const wrong = connect(etcd.endpoint, { username: 'alice', password: 'nope' });
  const failed = await rejection(getRaw(wrong.rpc, 'app/x'));
  assert.instance(failed, EtcdError);
  assert.is(failed.code, 'AUTH_FAILED');
});

test('changing, revoking and deleting as root, then disabling auth', async () => {
  const root = connect(etcd.endpoint, { username: 'root', password: 'rootpw' });
  const { auth } = root;
  await auth.userChangePassword('bob', 'bobpw2');
  const bob = connect(etcd.endpoint, { username: 'bob', password: 'bobpw2' });
  await auth.userGrantRole('bob', 'app');
  await putRaw(bob.rpc, 'app/b', 'bob');
  await auth.userRevokeRole('bob', 'app');
  assert.equal(await auth.userGet('bob'), { name: 'bob', roles: [] });

  await auth.roleRevokePermission('app', { key: 'config' });
  assert.is((await auth.roleGet('app')).permissions.length, 1);
  const notGranted = await rejection(auth.roleRevokePermission('app', { key: 'config' }));
  assert.is(notGranted.code, 'PERMISSION_NOT_GRANTED');
  await auth.roleRevokePermission('app', { key: 'app/', prefix: true });
  assert.is((await auth.roleGet('app')).permissions.length, 0);

  await auth.userDelete('bob');
  await auth.roleDelete('app');
  assert.equal((await auth.userList()).sort(), ['alice', 'root']);
  assert.equal(await auth.roleList(), ['root']);

  await auth.authDisable();
  assert.equal(await admin.auth.status(), { enabled: false });
  await putRaw(admin.rpc, 'after', 'auth');
  assert.is(await getRaw(admin.rpc, 'after'), 'auth');
});

test.run();
