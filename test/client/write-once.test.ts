// Writes under injected connection failures: a write is retried only when it
// provably never reached a server, so no write is ever applied twice, and
// every failure says truthfully whether the write may have been applied.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, hasRetryFacts, op } from '@etcd-ts/client';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { useTarget, type Target } from '../harness/target.js';
import { kvClient } from '../harness/index.js';

let target: Target;
let proxy: TcpProxy;
const run = Date.now();

test.before(async () => {
  target = await useTarget();
  proxy = await startTcpProxy({ target: target.endpoints[0] ?? '' });
});
test.after(async () => {
  await proxy.close();
  await target.dispose();
});

test('a Txn whose answer is lost is reported as maybe-applied and never sent again', async () => {
  await using client = new Client({ endpoints: [proxy.endpoint], callTimeoutMs: 3_000 });
  await client.put(`once/${run}/warmup`, 'x');
  proxy.dropResponses(true);
  const err = await client
    .txn()
    .then(op.put(`once/${run}/lost`, 'v'))
    .commit()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  proxy.dropResponses(false);
  assert.ok(hasRetryFacts(err), `typed error, got ${String(err)}`);
  assert.is(err.applied, 'unknown');
  assert.is(err.retrySafe, false);
  const direct = kvClient(target.endpoints[0] ?? '');
  try {
    const res = await direct.range({ key: `once/${run}/lost` });
    assert.is(res.kvs.length, 1, 'the request reached the server');
    assert.is(res.kvs[0]?.version, 1, 'applied exactly once');
  } finally {
    direct.close();
  }
});

test('writes to an endpoint that refuses connections go to the next one', async () => {
  const dead = await startTcpProxy({ target: target.endpoints[0] ?? '' });
  dead.refuse(true);
  try {
    await using client = new Client({ endpoints: [dead.endpoint, proxy.endpoint], callTimeoutMs: 5_000 });
    for (let i = 0; i < 10; i++) await client.put(`once/${run}/refused/${i}`, 'v');
    const n = await client.getAll(`once/${run}/refused/`).count();
    assert.is(n, 10);
  } finally {
    await dead.close();
  }
});

test('300 Txns under random connection breaks: none applied twice, every failure truthful', async () => {
  await using client = new Client({ endpoints: [proxy.endpoint], callTimeoutMs: 4_000, dialTimeoutMs: 1_000 });
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const outcome: ('ok' | 'never' | 'unknown')[] = [];
  const N = 300;
  for (let i = 0; i < N; i++) {
    const fault = rand();
    // Faults hit a connection that is up: a reconnection under dropResponses would never complete its handshake.
    await client.get(`once/${run}/last`).exec();
    if (fault < 0.15) proxy.dropResponses(true);
    const breaking = fault > 0.85 ? setTimeout(() => proxy.breakAll(), Math.floor(rand() * 3)) : undefined;
    try {
      await client.txn().then(op.put(`once/${run}/t/${i}`, String(i)), op.put(`once/${run}/last`, String(i))).commit();
      outcome.push('ok');
    } catch (e) {
      assert.ok(hasRetryFacts(e), `typed error, got ${String(e)}`);
      outcome.push(e.applied);
    } finally {
      if (breaking) clearTimeout(breaking);
      proxy.dropResponses(false);
    }
  }
  const direct = kvClient(target.endpoints[0] ?? '');
  try {
    const res = await direct.range({ key: `once/${run}/t/`, rangeEnd: `once/${run}/t0` });
    const versions = new Map(res.kvs.map((kv) => [Number(kv.key.toString().split('/').pop()), kv.version]));
    for (let i = 0; i < N; i++) {
      const v = versions.get(i) ?? 0;
      assert.ok(v <= 1, `txn ${i} applied ${v} times`);
      if (outcome[i] === 'ok') assert.is(v, 1, `txn ${i} acknowledged but not applied`);
      if (outcome[i] === 'never') assert.is(v, 0, `txn ${i} reported never applied but was`);
    }
    const failures = outcome.filter((o) => o !== 'ok').length;
    assert.ok(failures > 0, 'faults were injected');
    assert.ok(outcome.filter((o) => o === 'ok').length > N / 2, 'most txns succeed');
  } finally {
    direct.close();
  }
});

test.run();
