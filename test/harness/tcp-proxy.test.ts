import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcCallError, kvClient, type KvClient } from './kv-client.js';
import { spawnEtcd, spawnEtcdTs, type ServerHandle } from './server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitFor, withTimeout } from './wait-for.js';

/* Self-tests of the fault-injecting TCP proxy: against a local echo server, then with gRPC calls to etcd-ts. */

const DEADLINE = { timeoutMs: 10_000 };

interface Echo {
  readonly endpoint: string;
  readonly sockets: Set<Socket>;
  /** Everything received, over all connections. */
  received(): string;
  close(): Promise<void>;
}

/** A TCP server that writes back `prefix` + every chunk it receives. */
async function echoServer(prefix = ''): Promise<Echo> {
  const sockets = new Set<Socket>();
  let received = '';
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => {
      received += d.toString();
      s.write(prefix === '' ? d : Buffer.concat([Buffer.from(prefix), d]));
    });
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    endpoint: `127.0.0.1:${addr.port}`,
    sockets,
    received: () => received,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        srv.close(() => res());
      }),
  };
}

interface EchoClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the socket closed (true if by an error such as a reset). */
  readonly closed: Promise<boolean>;
  isClosed(): boolean;
}

/** Connects; resolves once connected, or closed if the connection is refused or reset at once. */
async function echoClient(endpoint: string): Promise<EchoClient> {
  const [host, port] = endpoint.split(':') as [string, string];
  const socket = connect({ host, port: Number(port) });
  let buf = '';
  let isClosed = false;
  socket.on('data', (d: Buffer) => (buf += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<boolean>((res) =>
    socket.on('close', (hadError) => {
      isClosed = true;
      res(hadError);
    }),
  );
  await Promise.race([new Promise((res) => socket.once('connect', res)), closed]);
  return { socket, received: () => buf, closed, isClosed: () => isClosed };
}

const receives = (c: EchoClient, text: string, what = `"${text}"`) =>
  waitFor(() => c.received() === text, { ...DEADLINE, what: `the client to receive ${what} (has "${c.received()}")` });

/** Runs `body` with a fresh echo server and a proxy in front of it, closing both afterwards. */
async function withEcho(body: (proxy: TcpProxy, echo: Echo) => Promise<void>): Promise<void> {
  const echo = await echoServer();
  const proxy = await startTcpProxy({ target: echo.endpoint });
  try {
    await body(proxy, echo);
  } finally {
    await proxy.close();
    await echo.close();
  }
}

test('echo: bytes flow both ways and are counted', () =>
  withEcho(async (proxy, echo) => {
    assert.match(proxy.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.is(proxy.endpoint, `127.0.0.1:${proxy.port}`);
    const c = await echoClient(proxy.endpoint);
    c.socket.write('hello');
    await receives(c, 'hello');
    assert.is(proxy.bytesUp, 5);
    assert.is(proxy.bytesDown, 5);
    assert.is(proxy.connections, 1);
    assert.is(proxy.liveConnections, 1);
    // A clean close from the client travels to the server and the pair goes away.
    c.socket.end();
    assert.is(await c.closed, false);
    await waitFor(() => proxy.liveConnections === 0 && echo.sockets.size === 0, { ...DEADLINE, what: 'the pair to close' });
  }));

test('echo: pause holds bytes in both directions and on new connections; resume delivers them in order', () =>
  withEcho(async (proxy, echo) => {
    const c = await echoClient(proxy.endpoint);
    c.socket.write('a');
    await receives(c, 'a');
    proxy.pause();
    c.socket.write('b');
    c.socket.write('c');
    await waitFor(() => proxy.heldBytes >= 2, { ...DEADLINE, what: 'the proxy to hold the upstream bytes' });
    assert.is(proxy.bytesUp, 1);
    const late = await echoClient(proxy.endpoint);
    late.socket.write('late');
    await waitFor(() => proxy.heldBytes === 6, { ...DEADLINE, what: 'the proxy to hold the new connection bytes' });
    assert.is(proxy.connections, 2);
    assert.is(c.received(), 'a');
    assert.not.ok(c.isClosed());
    proxy.resume();
    await receives(c, 'abc');
    await receives(late, 'late');
    assert.is(proxy.heldBytes, 0);

    // Server → client bytes are held too.
    proxy.pause();
    for (const s of echo.sockets) s.write('!');
    await waitFor(() => proxy.heldBytes === 2, { ...DEADLINE, what: 'the proxy to hold the downstream bytes' });
    assert.is(c.received(), 'abc');
    proxy.resume();
    await receives(c, 'abc!');
    await receives(late, 'late!');
  }));

test('echo: breakAll resets both sides of every pair', () =>
  withEcho(async (proxy, echo) => {
    const a = await echoClient(proxy.endpoint);
    const b = await echoClient(proxy.endpoint);
    a.socket.write('x');
    b.socket.write('y');
    await receives(a, 'x');
    await receives(b, 'y');
    assert.is(echo.sockets.size, 2);
    proxy.breakAll();
    await withTimeout(Promise.all([a.closed, b.closed]), 10_000, 'clients to see the break');
    await waitFor(() => proxy.liveConnections === 0 && echo.sockets.size === 0, { ...DEADLINE, what: 'both sides to close' });
    // The proxy keeps serving new connections.
    const c = await echoClient(proxy.endpoint);
    c.socket.write('z');
    await receives(c, 'z');
  }));

test('echo: refuse closes new connections at once, existing ones keep working', () =>
  withEcho(async (proxy, echo) => {
    const old = await echoClient(proxy.endpoint);
    proxy.refuse(true);
    const r = await echoClient(proxy.endpoint);
    r.socket.write('lost');
    await withTimeout(r.closed, 10_000, 'the refused connection to close');
    assert.is(r.received(), '');
    assert.is(proxy.connections, 2);
    assert.is(echo.sockets.size, 1);
    old.socket.write('still');
    await receives(old, 'still');
    proxy.refuse(false);
    const ok = await echoClient(proxy.endpoint);
    ok.socket.write('again');
    await receives(ok, 'again');
  }));

test('echo: cutAfterDownstreamBytes forwards exactly n more bytes, then breaks', () =>
  withEcho(async (proxy) => {
    const c = await echoClient(proxy.endpoint);
    c.socket.write('0123456789');
    await receives(c, '0123456789');
    proxy.cutAfterDownstreamBytes(25);
    c.socket.write('a'.repeat(20));
    await receives(c, '0123456789' + 'a'.repeat(20));
    c.socket.write('b'.repeat(20));
    await withTimeout(c.closed, 10_000, 'the cut');
    assert.is(c.received(), '0123456789' + 'a'.repeat(20) + 'b'.repeat(5));
    assert.is(proxy.bytesDown, 35);
    // One-shot: the next connection is not cut.
    const d = await echoClient(proxy.endpoint);
    d.socket.write('c'.repeat(100));
    await receives(d, 'c'.repeat(100), '100 bytes');
  }));

test('echo: dropResponses lets requests through and breaks on the first answer byte', () =>
  withEcho(async (proxy, echo) => {
    const c = await echoClient(proxy.endpoint);
    c.socket.write('warm');
    await receives(c, 'warm');
    proxy.dropResponses(true);
    c.socket.write('lost');
    await withTimeout(c.closed, 10_000, 'the break');
    assert.is(echo.received(), 'warmlost');
    assert.is(c.received(), 'warm');
    assert.is(proxy.bytesDown, 4);
    proxy.dropResponses(false);
    const d = await echoClient(proxy.endpoint);
    d.socket.write('ok');
    await receives(d, 'ok');
  }));

test('echo: setTarget sends new connections to the new server; close destroys every socket', async () => {
  const one = await echoServer('1:');
  const two = await echoServer('2:');
  const proxy = await startTcpProxy({ target: one.endpoint });
  try {
    const a = await echoClient(proxy.endpoint);
    proxy.setTarget(two.endpoint);
    const b = await echoClient(proxy.endpoint);
    a.socket.write('x');
    b.socket.write('y');
    await receives(a, '1:x');
    await receives(b, '2:y');
    proxy.pause();
    const held = await echoClient(proxy.endpoint);
    held.socket.write('z');
    await waitFor(() => proxy.heldBytes > 0, { ...DEADLINE, what: 'bytes held' });
    await proxy.close();
    await withTimeout(Promise.all([a.closed, b.closed, held.closed]), 10_000, 'every client to be closed');
    await waitFor(() => one.sockets.size === 0 && two.sockets.size === 0, { ...DEADLINE, what: 'server sides to close' });
    assert.is(proxy.liveConnections, 0);
    const refused = await echoClient(proxy.endpoint);
    assert.ok(refused.isClosed());
    assert.is(refused.socket.readyState, 'closed');
  } finally {
    await proxy.close();
    await one.close();
    await two.close();
  }
});

/* Through gRPC to real servers: etcd-ts, and etcd for dropResponses (grpc-go's control frames). */

const servers: { 'etcd-ts'?: ServerHandle; etcd?: ServerHandle } = {};
const clients: KvClient[] = [];
const opened = (kv: KvClient): KvClient => (clients.push(kv), kv);

test.before(async () => {
  const [ts, etcd] = await Promise.allSettled([spawnEtcdTs(), spawnEtcd()]);
  if (ts.status === 'fulfilled') servers['etcd-ts'] = ts.value;
  if (etcd.status === 'fulfilled') servers.etcd = etcd.value;
  for (const r of [ts, etcd]) if (r.status === 'rejected') throw r.reason;
});

test.after(async () => {
  for (const c of clients) c.close();
  await Promise.all([servers['etcd-ts']?.dispose(), servers.etcd?.dispose()]);
});

const srv = (kind: 'etcd-ts' | 'etcd' = 'etcd-ts'): ServerHandle => {
  const s = servers[kind];
  if (s === undefined) throw new Error(`no ${kind} server`);
  return s;
};

async function failure(p: Promise<unknown>): Promise<GrpcCallError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, GrpcCallError, `expected a GrpcCallError, got ${String(err)}`);
  return err as GrpcCallError;
}

/** A put through the proxy that succeeds, retrying while the client reconnects. */
const putEventually = (kv: KvClient, key: string, value: string) =>
  waitFor(() => kv.put({ key, value }), { ...DEADLINE, intervalMs: 50, what: `put ${key} through the proxy` });

test('grpc: put and get through the proxy', async () => {
  await using proxy = await startTcpProxy({ target: srv().endpoint });
  const kv = opened(kvClient(proxy.endpoint));
  const put = await kv.put({ key: 'p/k', value: 'v' });
  assert.ok(put.header !== undefined && put.header.revision > 1);
  const got = await kv.range({ key: 'p/k' });
  assert.is(got.kvs[0]?.value.toString(), 'v');
  assert.ok(proxy.bytesUp > 0 && proxy.bytesDown > 0);
  assert.is(proxy.liveConnections, 1);
  kv.close();
});

test('grpc: a paused call completes on resume; breakAll fails an in-flight call', async () => {
  await using proxy = await startTcpProxy({ target: srv().endpoint });
  const direct = opened(kvClient(srv().endpoint));
  const kv = opened(kvClient(proxy.endpoint, { deadlineMs: 20_000 }));
  await kv.put({ key: 'b/warm', value: '1' });

  proxy.pause();
  const held = kv.put({ key: 'b/held', value: 'v' });
  held.catch(() => {});
  await waitFor(() => proxy.heldBytes > 0, { ...DEADLINE, what: 'the put to be held' });
  assert.is((await direct.range({ key: 'b/held' })).count, 0);
  proxy.resume();
  await withTimeout(held, 10_000, 'the held put to complete');
  assert.is((await direct.range({ key: 'b/held' })).count, 1);

  proxy.pause();
  const lost = kv.put({ key: 'b/lost', value: 'v' });
  lost.catch(() => {});
  await waitFor(() => proxy.heldBytes > 0, { ...DEADLINE, what: 'the second put to be held' });
  proxy.breakAll();
  const err = await failure(withTimeout(lost, 10_000, 'the broken put to fail'));
  assert.is(err.code, 14, `UNAVAILABLE expected, got ${err.message}`);
  assert.is((await direct.range({ key: 'b/lost' })).count, 0);
  proxy.resume();
  await putEventually(kv, 'b/after', 'v');
  assert.ok(proxy.connections >= 2);
  kv.close();
});

test('grpc: cutAfterDownstreamBytes breaks a response at the given byte', async () => {
  await using proxy = await startTcpProxy({ target: srv().endpoint });
  const direct = opened(kvClient(srv().endpoint));
  const kv = opened(kvClient(proxy.endpoint));
  await direct.put({ key: 'c/big', value: 'x'.repeat(64 * 1024) });
  await kv.range({ key: 'c/none' });
  const before = proxy.bytesDown;
  proxy.cutAfterDownstreamBytes(1000);
  const err = await failure(kv.range({ key: 'c/big' }));
  assert.is(err.code, 14, `UNAVAILABLE expected, got ${err.message}`);
  assert.is(proxy.bytesDown - before, 1000);
  const got = await waitFor(() => kv.range({ key: 'c/big' }), { ...DEADLINE, what: 'a range after the cut' });
  assert.is(got.kvs[0]?.value.length, 64 * 1024);
  kv.close();
});

for (const kind of ['etcd-ts', 'etcd'] as const) {
  test(`grpc: dropResponses loses the answer of a put that is applied (${kind})`, async () => {
    await using proxy = await startTcpProxy({ target: srv(kind).endpoint });
    const direct = opened(kvClient(srv(kind).endpoint));
    const kv = opened(kvClient(proxy.endpoint));
    await kv.put({ key: 'd/warm', value: '1' });
    const rev = (await direct.range({ key: 'd/x' })).header?.revision ?? 0;
    proxy.dropResponses(true);
    const err = await failure(kv.put({ key: 'd/x', value: 'applied' }));
    assert.is(err.code, 14, `UNAVAILABLE expected, got ${err.message}`);
    const got = await waitFor(async () => (await direct.range({ key: 'd/x' })).kvs[0], { ...DEADLINE, what: 'the put to be applied' });
    assert.is(got.value.toString(), 'applied');
    assert.is(got.modRevision, rev + 1);
    proxy.dropResponses(false);
    await putEventually(kv, 'd/y', 'v');
    // Applied exactly once.
    assert.is((await direct.range({ key: 'd/x' })).kvs[0]?.version, 1);
    kv.close();
  });
}

test.run();
