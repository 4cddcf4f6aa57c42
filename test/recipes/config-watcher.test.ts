/**
 * ConfigWatcher: load + watch, validation with a user parser (invalid input
 * keeps the last good value), debounce, prefix mode, resync after the watch
 * revision is compacted. Runs against the target server (etcd-ts by
 * default, ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigClosedError, ConfigInvalidError, ConfigWatcher } from '@etcd-ts/recipes';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait-for.js';
import { SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const { client } = suite;
const watchers: ConfigWatcher<unknown>[] = [];
const proxies: TcpProxy[] = [];
let run = 0;

const ns = (name: string): string => `config-test/${++run}-${name}`;

interface AppConfig {
  port: number;
  mode: 'dev' | 'prod';
}

/** A hand-written schema in the style of zod's `parse`: returns the typed value or throws. */
function parseConfig(input: unknown): AppConfig {
  if (input === null || typeof input !== 'object') throw new TypeError('config must be an object');
  const { port, mode } = input as Record<string, unknown>;
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) throw new TypeError('port must be a positive integer');
  if (mode !== 'dev' && mode !== 'prod') throw new TypeError('mode must be dev or prod');
  return { port, mode };
}

function watch<T>(w: ConfigWatcher<T>): ConfigWatcher<T> {
  watchers.push(w as ConfigWatcher<unknown>);
  return w;
}

test.before(suite.start);

test.after(async () => {
  await Promise.allSettled(watchers.map((w) => w.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await suite.stop();
});

test('loads the key, validates it, then follows changes', async () => {
  const key = ns('basic');
  const c = client();
  await c.put(key, JSON.stringify({ port: 80, mode: 'dev' }));
  const changes: [AppConfig, AppConfig | undefined][] = [];
  const w = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig, onChange: (v, prev) => changes.push([v, prev]) }));
  assert.equal(await w.ready, { port: 80, mode: 'dev' });
  assert.equal(w.current(), { port: 80, mode: 'dev' });
  const put = await c.put(key, JSON.stringify({ port: 81, mode: 'prod' }));
  await waitFor(() => w.current()?.port === 81, { timeoutMs: 10_000, what: 'second value' });
  assert.is(w.revision, put.header?.revision);
  assert.equal(changes, [
    [{ port: 80, mode: 'dev' }, undefined],
    [{ port: 81, mode: 'prod' }, { port: 80, mode: 'dev' }],
  ]);
});

test('debounce: a burst of writes within the quiet period gives one update with the last value', async () => {
  const key = ns('debounce');
  const c = client();
  await c.put(key, JSON.stringify({ port: 1, mode: 'dev' }));
  const changes: number[] = [];
  const w = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig, debounceMs: 600, onChange: (v) => changes.push(v.port) }));
  await w.ready;
  assert.equal(changes, [1], 'the initial load is not delayed');
  const burstStart = Date.now();
  for (let port = 2; port <= 8; port++) await c.put(key, JSON.stringify({ port, mode: 'dev' }));
  const burstMs = Date.now() - burstStart;
  await waitFor(() => changes.length >= 2, { timeoutMs: 10_000, what: 'debounced update' });
  const appliedAfter = Date.now() - burstStart;
  if (burstMs < 500) assert.equal(changes, [1, 8]);
  else assert.is(changes[changes.length - 1], 8, `slow machine: the burst took ${burstMs} ms`);
  assert.ok(appliedAfter >= 600, `applied only after the quiet period (${appliedAfter} ms)`);
  assert.equal(w.current(), { port: 8, mode: 'dev' });
});

test('maxWaitMs bounds how long a steady stream of writes postpones an update', async () => {
  const key = ns('max-wait');
  const c = client();
  await c.put(key, JSON.stringify({ port: 1, mode: 'dev' }));
  const changes: number[] = [];
  const w = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig, debounceMs: 400, maxWaitMs: 600, onChange: (v) => changes.push(v.port) }));
  await w.ready;
  // Writes every ~100 ms for ~2 s: the quiet period never comes, maxWaitMs forces updates.
  const started = Date.now();
  let port = 1;
  while (Date.now() - started < 2000) {
    await c.put(key, JSON.stringify({ port: ++port, mode: 'dev' }));
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(changes.length >= 3, `updates during the stream: ${JSON.stringify(changes)}`);
  await waitFor(() => w.current()?.port === port, { timeoutMs: 10_000, what: 'last value' });
});

test('invalid input keeps the last good value and is reported (onError, invalid event)', async () => {
  const key = ns('invalid');
  const c = client();
  await c.put(key, JSON.stringify({ port: 8080, mode: 'prod' }));
  const errors: Error[] = [];
  const invalid: ConfigInvalidError[] = [];
  const changes: AppConfig[] = [];
  const w = watch(
    new ConfigWatcher(client(), { key }, { parse: parseConfig, onError: (e) => errors.push(e), onChange: (v) => changes.push(v) }),
  );
  w.on('invalid', (e) => invalid.push(e));
  await w.ready;
  const bad1 = await c.put(key, '{ not json');
  await waitFor(() => invalid.length === 1, { timeoutMs: 10_000, what: 'bad JSON reported' });
  assert.equal(w.current(), { port: 8080, mode: 'prod' });
  assert.is(invalid[0]?.revision, bad1.header?.revision);
  await c.put(key, JSON.stringify({ port: -1, mode: 'prod' }));
  await waitFor(() => invalid.length === 2, { timeoutMs: 10_000, what: 'schema violation reported' });
  assert.match(invalid[1]?.message ?? '', /port must be a positive integer/);
  assert.equal(invalid[1]?.input, { port: -1, mode: 'prod' });
  assert.equal(w.current(), { port: 8080, mode: 'prod' });
  await c.delete(key);
  await waitFor(() => invalid.length === 3, { timeoutMs: 10_000, what: 'deleted key reported' });
  assert.equal(w.current(), { port: 8080, mode: 'prod' });
  assert.is(errors.length, 3);
  assert.ok(errors.every((e) => e instanceof ConfigInvalidError));
  await c.put(key, JSON.stringify({ port: 9090, mode: 'dev' }));
  await waitFor(() => w.current()?.port === 9090, { timeoutMs: 10_000, what: 'valid again' });
  assert.equal(changes, [
    { port: 8080, mode: 'prod' },
    { port: 9090, mode: 'dev' },
  ]);
});

test('ready waits for the first valid value; close() before rejects it', async () => {
  const key = ns('ready');
  const c = client();
  const w = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig, onError: () => {} }));
  let ready = false;
  void w.ready.then(() => (ready = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.is(ready, false, 'no key yet: parse(undefined) is invalid');
  await c.put(key, JSON.stringify({ port: 1, mode: 'dev' }));
  assert.equal(await w.ready, { port: 1, mode: 'dev' });

  const never = new ConfigWatcher(client(), { key: ns('never') }, { parse: parseConfig, onError: () => {} });
  await never.close();
  assert.instance(await never.ready.catch((e: unknown) => e), ConfigClosedError);
});

test('prefix mode: every key under the prefix, relative names, deletes included', async () => {
  const prefix = `${ns('prefix')}/`;
  const c = client();
  await c.put(`${prefix}db/host`, JSON.stringify('localhost'));
  await c.put(`${prefix}db/port`, JSON.stringify(5432));
  const w = watch(
    new ConfigWatcher(
      client(),
      { prefix },
      {
        parse: (input) => {
          const port = input['db/port'];
          if (typeof port !== 'number') throw new TypeError('db/port must be a number');
          return { host: String(input['db/host'] ?? 'default'), port, extra: Object.keys(input).length };
        },
      },
    ),
  );
  assert.equal(await w.ready, { host: 'localhost', port: 5432, extra: 2 });
  await c.put(`${prefix}feature`, 'true');
  await waitFor(() => w.current()?.extra === 3, { timeoutMs: 10_000, what: 'new key' });
  await c.delete(`${prefix}db/host`);
  await waitFor(() => w.current()?.host === 'default', { timeoutMs: 10_000, what: 'deleted key' });
  assert.equal(w.current(), { host: 'default', port: 5432, extra: 2 });
});

test('async iteration yields the current value, then each new one', async () => {
  const key = ns('iterate');
  const c = client();
  await c.put(key, 'one');
  const w = watch(new ConfigWatcher(client(), { key }, { parse: (s) => String(s), decode: 'text' }));
  await w.ready;
  const seen: string[] = [];
  const consumer = (async () => {
    for await (const v of w) {
      seen.push(v);
      if (v === 'three') break;
    }
  })();
  await c.put(key, 'two');
  await waitFor(() => seen.includes('two'), { timeoutMs: 10_000, what: 'two' });
  await c.put(key, 'three');
  await consumer;
  assert.equal(seen, ['one', 'two', 'three']);
  assert.is(w.closed, false, 'leaving the loop does not close the watcher');
});

test('resync after compaction: the state is read again and watched from its revision + 1', async () => {
  const key = ns('compaction');
  const proxy = await startTcpProxy({ target: suite.target.endpoints[0] as string });
  proxies.push(proxy);
  const c = client();
  await c.put(key, JSON.stringify({ port: 1, mode: 'dev' }));
  const changes: number[] = [];
  const resyncs: number[] = [];
  const w = watch(new ConfigWatcher(client([proxy.endpoint]), { key }, { parse: parseConfig, onChange: (v) => changes.push(v.port) }));
  w.on('resync', (rev) => resyncs.push(rev));
  await w.ready;
  // Cut the watcher off, write and compact the history it has not seen.
  proxy.refuse(true);
  proxy.breakAll();
  await c.put(key, JSON.stringify({ port: 2, mode: 'dev' }));
  const last = await c.put(key, JSON.stringify({ port: 3, mode: 'prod' }));
  const rev = last.header?.revision ?? 0;
  await c.kv.compact(rev, { physical: true });
  proxy.refuse(false);
  await waitFor(() => w.current()?.port === 3, { timeoutMs: 20_000, what: 'value after resync' });
  assert.is(w.resyncs, 1);
  assert.is(resyncs.length, 1);
  assert.equal(changes, [1, 3], 'the compacted intermediate value is skipped, the latest applied');
  assert.is(w.revision, rev);
  // And it keeps watching from there.
  await c.put(key, JSON.stringify({ port: 4, mode: 'prod' }));
  await waitFor(() => w.current()?.port === 4, { timeoutMs: 10_000, what: 'value after resync + 1' });
});

test('close() stops updates; a signal closes the watcher', async () => {
  const key = ns('close');
  const c = client();
  await c.put(key, JSON.stringify({ port: 1, mode: 'dev' }));
  const ac = new AbortController();
  const w = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig, signal: ac.signal }));
  await w.ready;
  ac.abort();
  await waitFor(() => w.closed, { timeoutMs: 5000, what: 'closed by signal' });
  await w.close();
  await c.put(key, JSON.stringify({ port: 2, mode: 'dev' }));
  const probe = watch(new ConfigWatcher(client(), { key }, { parse: parseConfig }));
  assert.is((await probe.ready).port, 2);
  assert.is(w.current()?.port, 1);
});

test.run();
