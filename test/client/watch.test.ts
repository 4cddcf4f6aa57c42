import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mvccpb, prefixEnd } from '@etcd-ts/api';
import { EndpointPool } from '@etcd-ts/client';
import { AbortedError, ClientClosedError, WatchCompactedError } from '@etcd-ts/client';
import { Rpc } from '@etcd-ts/client';
import { Watch, type Watcher, type WatchResponse } from '@etcd-ts/client';
import { kvClient, waitFor, withTimeout, type KvClient } from '../harness/index.js';
import { useTarget, type Target } from '../harness/target.js';
import { openWatchStream } from '../harness/watch-client.js';

let target: Target;
let pool: EndpointPool;
let rpc: Rpc;
let watch: Watch;
let kv: KvClient;
const run = Date.now();
const k = (name: string): string => `watch-test/${run}/${name}`;

test.before(async () => {
  target = await useTarget();
  pool = new EndpointPool(target.endpoints, { maxMessageBytes: 64 << 20 });
  rpc = new Rpc(pool, { callTimeoutMs: 10_000, dialTimeoutMs: 2_000, retry: {}, requireLeader: true }, undefined);
  watch = new Watch(rpc);
  kv = kvClient(target.endpoints[0] ?? '');
});
test.after(async () => {
  await watch.close();
  rpc.close();
  pool.close();
  kv.close();
  await target.dispose();
});

const put = async (key: string, value: string): Promise<number> =>
  (await kv.put({ key, value })).header?.revision ?? 0;

/** The next `n` events of `w` (through its iterator), within a deadline. */
async function take(it: AsyncIterator<mvccpb.Event>, n: number, ms = 10_000): Promise<mvccpb.Event[]> {
  const out: mvccpb.Event[] = [];
  const all = (async () => {
    while (out.length < n) {
      const r = await it.next();
      if (r.done) throw new Error(`iteration ended after ${out.length} of ${n} events`);
      out.push(r.value);
    }
    return out;
  })();
  return withTimeout(all, ms, `${n} watch events (got ${out.length})`);
}

const summary = (e: mvccpb.Event): string =>
  `${e.type === mvccpb.Event_EventType.PUT ? 'put' : 'delete'} ${e.kv?.key.toString()}=${e.kv?.value.toString()}`;

test('put and delete events with prevKv, handlers and iterator alike', async () => {
  const w = watch.watch(k('a'), { prevKv: true });
  const seen: string[] = [];
  w.on('put', (e) => seen.push(`put ${e.kv?.value.toString()}`));
  w.on('delete', (e) => seen.push(`delete ${e.prevKv?.value.toString()}`));
  const it = w.events();
  await withTimeout(w.created, 5_000, 'created');
  const r1 = await put(k('a'), 'v1');
  await put(k('a'), 'v2');
  const del = await kv.deleteRange({ key: k('a') });
  const evs = await take(it, 3);
  assert.equal(evs.map(summary), [`put ${k('a')}=v1`, `put ${k('a')}=v2`, `delete ${k('a')}=`]);
  assert.is(evs[0]?.kv?.modRevision, r1);
  assert.is(evs[0]?.prevKv, undefined);
  assert.is(evs[1]?.prevKv?.value.toString(), 'v1');
  assert.is(evs[2]?.prevKv?.value.toString(), 'v2');
  assert.is(evs[2]?.kv?.modRevision, del.header?.revision);
  assert.equal(seen, ['put v1', 'put v2', 'delete v2']);
  await w.close();
  assert.is(await w.closed, undefined);
  assert.equal(await it.next(), { value: undefined, done: true });
});

test('prefix watch with a nodelete filter sees only puts under the prefix', async () => {
  const w = watch.watch(k('p/'), { prefix: true, filters: ['nodelete'] });
  await w.created;
  await put(k('p/1'), 'a');
  await kv.deleteRange({ key: k('p/1') });
  await put(k('q'), 'outside');
  await put(k('p/2'), 'b');
  const evs = await take(w.events(), 2);
  assert.equal(evs.map(summary), [`put ${k('p/1')}=a`, `put ${k('p/2')}=b`]);
  await w.close();
});

test('noput filter and rangeEnd / fromKey ranges', async () => {
  const w = watch.watch(k('r/b'), { rangeEnd: k('r/d'), filters: ['noput'] });
  const from = watch.watch(k('r/c'), { fromKey: true });
  await Promise.all([w.created, from.created]);
  for (const name of ['r/a', 'r/b', 'r/c', 'r/d']) await put(k(name), 'x');
  await kv.deleteRange({ key: k('r/a'), rangeEnd: k('r/e') });
  const evs = await take(w.events(), 2);
  assert.equal(evs.map(summary), [`delete ${k('r/b')}=`, `delete ${k('r/c')}=`]);
  const fevs = await take(from.events(), 4);
  assert.equal(fevs.map(summary), [`put ${k('r/c')}=x`, `put ${k('r/d')}=x`, `delete ${k('r/c')}=`, `delete ${k('r/d')}=`]);
  await Promise.all([w.close(), from.close()]);
  assert.throws(() => watch.watch('x', { prefix: true, fromKey: true }), TypeError);
});

test('startRevision replays history in order, then live events', async () => {
  const first = await put(k('h'), '0');
  for (let i = 1; i < 5; i++) await put(k('h'), String(i));
  const w = watch.watch(k('h'), { startRevision: first });
  const it = w.events();
  const hist = await take(it, 5);
  assert.equal(hist.map((e) => e.kv?.value.toString()), ['0', '1', '2', '3', '4']);
  assert.equal(hist.map((e) => e.kv?.modRevision), [0, 1, 2, 3, 4].map((i) => first + i));
  const live = await put(k('h'), 'live');
  const [e] = await take(it, 1);
  assert.is(e?.kv?.modRevision, live);
  assert.is(w.resumeRevision, live + 1);
  await w.close();
});

test('batches: revision, progress flag and the whole of a multi-key txn together', async () => {
  const w = watch.watch(k('t/'), { prefix: true });
  const it = w[Symbol.asyncIterator]();
  await w.created;
  const res = await kv.txn({
    success: [1, 2, 3].map((i) => ({ requestPut: { key: k(`t/${i}`), value: String(i) } })),
  });
  const r = (await withTimeout(it.next(), 5_000, 'txn batch')).value as WatchResponse;
  assert.is(r.progress, false);
  assert.is(r.events.length, 3);
  assert.is(r.revision, res.header?.revision);
  await w.close();
});

test('many watchers share one stream; it closes once they are gone', async () => {
  const solo = new Watch(rpc);
  const ws: Watcher[] = [];
  for (let i = 0; i < 25; i++) ws.push(solo.watch(k(`m/${i}`)));
  await withTimeout(Promise.all(ws.map((w) => w.created)), 10_000, 'all created');
  assert.is(solo.streamCount, 1);
  const got = ws.map((w) => take(w.events(), 1));
  for (let i = 0; i < 25; i++) await put(k(`m/${i}`), String(i));
  const evs = await Promise.all(got);
  assert.equal(evs.map((e) => e[0]?.kv?.value.toString()), ws.map((_, i) => String(i)));
  await Promise.all(ws.map((w) => w.close()));
  await waitFor(() => solo.streamCount === 0, { timeoutMs: 10_000, what: 'the idle stream to close' });
  // A new watcher opens a new stream.
  const again = solo.watch(k('m/again'));
  await again.created;
  assert.is(solo.streamCount, 1);
  await solo.close();
  assert.is(solo.streamCount, 0);
  assert.instance(await again.closed, ClientClosedError);
  assert.throws(() => solo.watch(k('x')), (e: unknown) => e instanceof ClientClosedError);
});

test('requestProgress: a progress response at the current revision', async () => {
  const w = watch.watch(k('progress'));
  await w.created;
  const rev = await put(k('other'), 'x');
  const progress = new Promise<number>((resolve) => w.once('progress', resolve));
  const it = w[Symbol.asyncIterator]();
  assert.ok(w.requestProgress());
  const r = (await withTimeout(it.next(), 5_000, 'progress response')).value as WatchResponse;
  assert.is(r.progress, true);
  assert.equal(r.events, []);
  assert.ok(r.revision >= rev, `${r.revision} >= ${rev}`);
  assert.is(await progress, r.revision);
  await w.close();
});

test('progressNotify: periodic notifications advance the resume point', async () => {
  if (target.external) return; // needs its own member with a short progress interval
  await using fast = await useTarget({ extraArgs: ['--experimental-watch-progress-notify-interval', '200ms'] });
  const p = new EndpointPool(fast.endpoints, { maxMessageBytes: 64 << 20 });
  const r = new Rpc(p, { callTimeoutMs: 10_000, dialTimeoutMs: 2_000, retry: {}, requireLeader: true }, undefined);
  const wa = new Watch(r);
  const kc = kvClient(fast.endpoints[0] ?? '');
  try {
    const w = wa.watch('quiet', { progressNotify: true });
    await w.created;
    const created = w.resumeRevision;
    const rev = (await kc.put({ key: 'elsewhere', value: 'x' })).header?.revision ?? 0;
    assert.ok(rev >= created);
    const it = w[Symbol.asyncIterator]();
    const deadline = Date.now() + 10_000;
    let res: WatchResponse | undefined;
    while (Date.now() < deadline) {
      res = (await withTimeout(it.next(), 5_000, 'a progress notification')).value as WatchResponse;
      if (res.revision >= rev) break;
    }
    assert.is(res?.progress, true);
    assert.is(res?.revision, rev);
    assert.is(w.resumeRevision, rev + 1);
    await w.close();
  } finally {
    await wa.close();
    r.close();
    p.close();
    kc.close();
  }
});

test('compaction ends the watcher with WatchCompactedError', async () => {
  const first = await put(k('c'), '1');
  await put(k('c'), '2');
  const compactAt = await put(k('c'), '3');
  await kv.compact({ revision: compactAt, physical: true });
  const w = watch.watch(k('c'), { startRevision: first });
  const errors: Error[] = [];
  w.on('error', (e) => errors.push(e));
  let thrown: unknown;
  try {
    for await (const _ of w) assert.unreachable('no events before the compacted revision');
  } catch (err) {
    thrown = err;
  }
  assert.instance(thrown, WatchCompactedError);
  const e = thrown as WatchCompactedError;
  assert.is(e.compactRevision, compactAt);
  assert.is(e.requestedRevision, first);
  assert.is(await w.closed, thrown);
  assert.equal(errors, [thrown]);
  // From the compact revision on, the watch works.
  const ok = watch.watch(k('c'), { startRevision: compactAt });
  const [ev] = await take(ok.events(), 1);
  assert.is(ev?.kv?.value.toString(), '3');
  await ok.close();
});

test('close and abort end iteration; breaking out of a loop closes the watcher', async () => {
  const ac = new AbortController();
  const w = watch.watch(k('abort'), { signal: ac.signal });
  await w.created;
  const loop = (async () => {
    const got: string[] = [];
    for await (const e of w.events()) {
      got.push(e.kv?.value.toString() ?? '');
      if (got.length === 1) ac.abort();
    }
    return got;
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  await put(k('abort'), 'one');
  const err = await loop;
  assert.instance(err, AbortedError);
  assert.instance(await w.closed, AbortedError);

  const pre = new AbortController();
  pre.abort();
  const never = watch.watch(k('abort'), { signal: pre.signal });
  assert.ok(never.isClosed);
  await assert.not.throws(() => never.closed);
  assert.instance(await never.created.then(() => undefined, (e: unknown) => e), AbortedError);

  const b = watch.watch(k('break'));
  await b.created;
  await put(k('break'), '1');
  for await (const _ of b) break;
  assert.ok(b.isClosed);
  assert.is(await b.closed, undefined);

  // Responses that arrive before anyone consumes them are held for the first consumer.
  const late = watch.watch(k('late'));
  await late.created;
  await put(k('late'), '1');
  const last = await put(k('late'), '2');
  await waitFor(() => late.resumeRevision === last + 1, { timeoutMs: 5_000, what: 'both events to reach the watcher' });
  const evs = await take(late.events(), 2);
  assert.equal(evs.map((e) => e.kv?.value.toString()), ['1', '2']);
  await late[Symbol.asyncDispose]();
  assert.ok(late.isClosed);
});

test('keyPrefix: keys are prefixed on the way out and stripped from events', async () => {
  const ns = new Watch(rpc, { keyPrefix: Buffer.from(k('ns/')) });
  const all = ns.watch('', { prefix: true, prevKv: true });
  const one = ns.watch('a');
  const view = ns.withPrefix('sub/');
  const nested = view.watch('', { fromKey: true });
  await Promise.all([all.created, one.created, nested.created]);
  await put(k('outside'), 'x');
  await put(k('ns/a'), '1');
  await put(k('ns/a'), '2');
  await put(k('ns/sub/z'), '3');
  const evs = await take(all.events(), 3);
  assert.equal(evs.map(summary), ['put a=1', 'put a=2', 'put sub/z=3']);
  assert.is(evs[1]?.prevKv?.key.toString(), 'a');
  assert.equal((await take(one.events(), 2)).map(summary), ['put a=1', 'put a=2']);
  assert.equal((await take(nested.events(), 1)).map(summary), ['put z=3']);
  await view.close();
  assert.instance(await nested.closed, ClientClosedError);
  assert.not.ok(all.isClosed);
  await ns.close();
  assert.ok(all.isClosed);
});

test('fragmented responses are reassembled into one batch', async () => {
  if (target.external) return; // needs its own member with a small request limit
  // etcd fragments responses over --max-request-bytes + 512 KiB of gRPC overhead. With a 1 KiB request
  // limit, deleting 600 keys of 900 bytes in one request yields one revision whose events (with prevKv)
  // exceed that: the server splits it, the watcher hands it over whole.
  await using small = await useTarget({ maxRequestBytes: 1024 });
  const ep = small.endpoints[0] ?? '';
  const p = new EndpointPool(small.endpoints, { maxMessageBytes: 64 << 20 });
  const r = new Rpc(p, { callTimeoutMs: 10_000, dialTimeoutMs: 2_000, retry: {}, requireLeader: true }, undefined);
  const wa = new Watch(r);
  const kc = kvClient(ep);
  const raw = openWatchStream(ep);
  try {
    const value = 'v'.repeat(900);
    const n = 600;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => kc.put({ key: `f/${String(i + j).padStart(4, '0')}`, value })));
    }
    raw.create({ key: 'f/', rangeEnd: prefixEnd('f/'), prevKv: true, fragment: true });
    await raw.until((rs) => rs.some((x) => x.created), 5_000, 'raw created');
    const w = wa.watch('f/', { prefix: true, prevKv: true, fragment: true });
    const it = w[Symbol.asyncIterator]();
    await w.created;
    const del = await kc.deleteRange({ key: 'f/', rangeEnd: prefixEnd('f/') });
    assert.is(del.deleted, n);
    const fragments = await raw.until(
      (rs) => {
        const evs = rs.filter((x) => x.events.length > 0);
        return evs.length > 0 && !evs[evs.length - 1]?.fragment ? evs : undefined;
      },
      10_000,
      'raw fragments',
    );
    assert.ok(fragments.length > 1, `the server fragmented the revision (${fragments.length} responses)`);
    const batch = (await withTimeout(it.next(), 10_000, 'reassembled batch')).value as WatchResponse;
    assert.is(batch.events.length, n);
    assert.ok(batch.events.every((e) => e.type === mvccpb.Event_EventType.DELETE && e.kv?.modRevision === del.header?.revision));
    assert.ok(batch.events.every((e) => e.prevKv?.value.length === 900));
    assert.equal(
      batch.events.map((e) => e.kv?.key.toString()),
      Array.from({ length: n }, (_, i) => `f/${String(i).padStart(4, '0')}`),
    );
  } finally {
    raw.cancel();
    await wa.close();
    r.close();
    p.close();
    kc.close();
  }
});

test.run();
