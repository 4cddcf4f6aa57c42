// EndpointSync: a client given one member of a 3-member cluster discovers
// the others from MemberList, and keeps working once that member is gone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Member } from '@etcd-ts/client';
import { clientEndpointsOf, EndpointSync } from '@etcd-ts/client';
import { ClientClosedError } from '@etcd-ts/client';
import { waitFor } from '../harness/index.js';
import { useTargetCluster, type TargetCluster } from '../harness/target.js';
import { connectRpc, getRaw, putRaw, type RpcConnection } from './fixtures.js';

const member = (id: bigint, over: Partial<Member> = {}): Member => ({
  id,
  name: `m${id}`,
  peerUrls: [`http://127.0.0.1:${2380 + Number(id)}`],
  clientUrls: [`http://127.0.0.1:${2379 + Number(id) * 10}`],
  isLearner: false,
  ...over,
});

test('clientEndpointsOf: started voting members only, URLs of the client scheme preferred', () => {
  const members = [
    member(1n),
    member(2n, { isLearner: true }),
    member(3n, { name: '', clientUrls: [] }),
    member(4n, { clientUrls: ['https://127.0.0.1:4000', 'http://127.0.0.1:4001', 'unix://sock'] }),
  ];
  assert.equal(clientEndpointsOf(members, false), ['http://127.0.0.1:2389', 'http://127.0.0.1:4001']);
  assert.equal(clientEndpointsOf(members, true), ['https://127.0.0.1:4000']);
  assert.equal(clientEndpointsOf([member(5n, { isLearner: true })], false), []);
});

let cluster: TargetCluster;
const closers: (() => void)[] = [];

function connect(endpoints: readonly string[]): RpcConnection {
  const conn = connectRpc(endpoints, { dialTimeoutMs: 1_000 });
  closers.push(conn.close);
  return conn;
}

test.before(async () => {
  cluster = await useTargetCluster(3);
});

test.after(async () => {
  for (const close of closers) close();
  await cluster?.dispose();
});

test('syncNow replaces the endpoint list with every member; concurrent calls share one sync', async () => {
  const { rpc, pool } = connect([cluster.endpoints[0] as string]);
  const sync = new EndpointSync(rpc, 0);
  try {
    const [a, b] = await Promise.all([sync.syncNow(), sync.syncNow()]);
    assert.equal([...(a ?? [])].sort(), [...cluster.endpoints].sort());
    assert.is(a, b, 'one sync for both callers');
    assert.equal([...pool.addresses].sort(), [...cluster.endpoints].sort());
  } finally {
    sync.close();
  }
  const closed = await sync.syncNow().catch((e: unknown) => e);
  assert.instance(closed, ClientClosedError);
});

test('a failed sync leaves the list unchanged', async () => {
  const { rpc, pool } = connect(['127.0.0.1:1']);
  const sync = new EndpointSync(rpc, 0);
  try {
    const err = await sync.syncNow({ timeoutMs: 1_500 }).catch((e: unknown) => e);
    assert.instance(err, Error);
    assert.equal(pool.addresses, ['127.0.0.1:1']);
  } finally {
    sync.close();
  }
});

test('given one member, the client discovers all three and survives losing that member', async () => {
  const first = cluster.endpoints[0] as string;
  const { rpc, pool } = connect([first]);
  const sync = new EndpointSync(rpc, 200);
  try {
    await waitFor(() => pool.addresses.length === 3, { timeoutMs: 10_000, what: 'the periodic sync to find 3 members' });
    assert.equal([...pool.addresses].sort(), [...cluster.endpoints].sort());
    await putRaw(rpc, 'sync/before', 'one');

    const victim = cluster.members.find((mb) => mb.endpoint === first);
    assert.ok(victim);
    await victim.kill9();
    // Reads first: one that lands on the dead connection is retried elsewhere
    // (a write sent on it could not be, its outcome being unknown).
    for (let i = 0; i < 3; i++) assert.is(await getRaw(rpc, 'sync/before'), 'one');
    for (let i = 0; i < 10; i++) {
      await putRaw(rpc, `sync/after/${i}`, String(i));
      assert.is(await getRaw(rpc, `sync/after/${i}`), String(i));
    }
    assert.is(await getRaw(rpc, 'sync/before'), 'one');
    // Syncing goes on through the surviving members (the killed one is still a member).
    assert.equal([...(await sync.syncNow())].sort(), [...cluster.endpoints].sort());
  } finally {
    sync.close();
  }
});

test.run();
