import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Client,
  compare,
  EtcdError,
  jsonCodec,
  op,
  rangeKvs,
  type EtcdClientError,
} from '@etcd-ts/client';
import { useTarget, type Target } from '../harness/target.js';

let target: Target;
let client: Client;
let run = 0;
const k = (name: string): string => `kv-test/${run}/${name}`;

test.before(async () => {
  target = await useTarget();
  client = new Client({ endpoints: target.endpoints });
  run = Date.now();
});
test.after(async () => {
  await client.close();
  await target.dispose();
});

test('put, get as string, buffer and JSON', async () => {
  const put = await client.put(k('a'), 'one');
  assert.ok((put.header?.revision ?? 0) > 0);
  assert.is(await client.get(k('a')).string(), 'one');
  assert.equal(await client.get(k('a')).buffer(), Buffer.from('one'));
  assert.is(await client.get(k('missing')).string(), undefined);
  const typed = client.kv.typed(jsonCodec<{ n: number }>());
  await typed.put(k('json'), { n: 7 });
  assert.equal(await typed.get(k('json')), { n: 7 });
  assert.equal(await client.get(k('json')).json(), { n: 7 });
});

test('fluent range: prefix, limit, sort, count, keys, revision', async () => {
  for (const name of ['p/1', 'p/2', 'p/3']) await client.put(k(name), name);
  const all = await client.getAll(k('p/'));
  assert.is(all.count, 3);
  assert.equal(await client.getAll(k('p/')).keys(), [k('p/1'), k('p/2'), k('p/3')]);
  const limited = await client.getAll(k('p/')).limit(2).sort('key', 'descend');
  assert.equal(limited.kvs.map((kv) => kv.value.toString()), ['p/3', 'p/2']);
  assert.is(limited.more, true);
  assert.is(await client.getAll(k('p/')).count(), 3);
  const first = await client.get(k('p/1')).first();
  const old = await client.put(k('p/1'), 'changed');
  assert.is(await client.get(k('p/1')).revision(first?.modRevision ?? 0).string(), 'p/1');
  assert.is(await client.get(k('p/1')).serializable().string(), 'changed');
  assert.ok((old.header?.revision ?? 0) > (first?.modRevision ?? 0));
  const entries = await client.getAll(k('p/')).entries();
  assert.is(entries.get(k('p/2')), 'p/2');
  assert.is(await client.get(k('p/')).range(k('p/3')).count(), 2);
});

test('delete with prevKv and prefix', async () => {
  await client.put(k('d/1'), 'x');
  await client.put(k('d/2'), 'y');
  const one = await client.delete(k('d/1'), { prevKv: true });
  assert.is(one.deleted, 1);
  assert.is(one.prevKvs[0]?.value.toString(), 'x');
  const rest = await client.delete(k('d/'), { prefix: true });
  assert.is(rest.deleted, 1);
});

test('txn builder: compares, branches, nested reads', async () => {
  const key = k('txn');
  const created = await client
    .txn()
    .if(compare.createRevision(key, '=', 0))
    .then(op.put(key, 'first'), op.get(key))
    .else(op.get(key))
    .commit();
  assert.is(created.succeeded, true);
  assert.is(rangeKvs(created, 1)[0]?.value.toString(), 'first');
  const again = await client
    .txn()
    .if(compare.createRevision(key, '=', 0))
    .then(op.put(key, 'second'))
    .else(op.get(key))
    .commit();
  assert.is(again.succeeded, false);
  assert.is(rangeKvs(again, 0)[0]?.value.toString(), 'first');
  const byValue = await client.txn().if(compare.value(key, '=', 'first'), compare.version(key, '=', 1)).then(op.delete(key)).commit();
  assert.is(byValue.succeeded, true);
  assert.is(byValue.responses[0]?.responseDeleteRange?.deleted, 1);
});

test('server errors are typed, from the shared table, with retry facts', async () => {
  const err = (await client.put('', 'v').catch((e: unknown) => e)) as EtcdClientError;
  assert.instance(err, EtcdError);
  assert.is((err as EtcdError).code, 'EMPTY_KEY');
  assert.is(err.message, 'etcdserver: key is not provided');
  assert.is(err.applied, 'never');
  assert.is(err.retrySafe, false);
  const future = (await client.get(k('a')).revision(1e12).exec().catch((e: unknown) => e)) as EtcdError;
  assert.is(future.code, 'FUTURE_REV');
  const ops = Array.from({ length: 200 }, (_, i) => op.put(k(`many/${i}`), 'v'));
  const tooMany = (await client.txn().then(...ops).commit().catch((e: unknown) => e)) as EtcdError;
  assert.is(tooMany.code, 'TOO_MANY_TXN_OPS');
});

test('an aborted call rejects with AbortedError; a deadline with DeadlineExceededError', async () => {
  const ctl = new AbortController();
  ctl.abort(new Error('stop'));
  const aborted = (await client.get(k('a'), { signal: ctl.signal }).exec().catch((e: unknown) => e)) as EtcdClientError;
  assert.is(aborted.code, 'ABORTED');
  assert.is(aborted.applied, 'never');
  const late = (await client.put(k('late'), 'v', { deadline: Date.now() - 1 }).catch((e: unknown) => e)) as EtcdClientError;
  assert.is(late.code, 'DEADLINE_EXCEEDED');
  assert.is(late.applied, 'never');
});

test('namespace prefixes keys, ranges, txns and strips them in answers', async () => {
  const ns = client.namespace(k('ns/'));
  await ns.put('a', '1');
  await ns.put('b', '2');
  assert.is(await client.get(k('ns/a')).string(), '1');
  assert.equal(await ns.getAll().keys(), ['a', 'b']);
  assert.equal(await ns.get('a').fromKey().keys(), ['a', 'b']);
  const t = await ns.txn().if(compare.value('a', '=', '1')).then(op.get('b'), op.put('c', '3', { prevKv: true })).commit();
  assert.is(t.succeeded, true);
  assert.is(rangeKvs(t, 0)[0]?.key.toString(), 'b');
  assert.is(await client.get(k('ns/c')).string(), '3');
  const nested = ns.namespace('inner/');
  await nested.put('x', 'y');
  assert.is(await client.get(k('ns/inner/x')).string(), 'y');
  const del = await ns.delete('', { prefix: true, prevKv: true });
  assert.is(del.deleted, 4);
  assert.equal(del.prevKvs.map((kv) => kv.key.toString()).sort(), ['a', 'b', 'c', 'inner/x']);
  assert.is(await client.get(k('a')).string(), 'one');
});

test.run();
