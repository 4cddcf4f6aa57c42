/**
 * ServiceRegistry: register / discover / heartbeats / re-registration after
 * the lease is revoked from outside / deregister / pick / resync after a
 * compaction. Runs against the target server (etcd-ts by default,
 * ETCD_TARGET=etcd for real etcd).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServiceRegistry, type DiscoveredInstance, type Registration, type ServiceDiscovery } from '@etcd-ts/recipes';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait-for.js';
import { SuiteTarget } from './fixtures.js';

const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
const { client } = suite;
const registrations: Registration[] = [];
const discoveries: ServiceDiscovery[] = [];
const proxies: TcpProxy[] = [];
let run = 0;

/** A registry under a prefix of its own, on a client of its own. */
function registry(prefix: string, c = client()): ServiceRegistry {
  return new ServiceRegistry(c, prefix);
}

async function register(r: ServiceRegistry, service: string, id: string, ttl = 5): Promise<Registration> {
  const reg = await r.register(service, { id, address: `10.0.0.${id.length}:${8000 + registrations.length}`, meta: { zone: 'a' } }, { ttl });
  registrations.push(reg);
  return reg;
}

function discover(r: ServiceRegistry, service: string): ServiceDiscovery {
  const d = r.discover(service);
  discoveries.push(d);
  return d;
}

const ids = (list: readonly DiscoveredInstance[]): string[] => list.map((i) => i.id);
const ns = (name: string): string => `registry-test/${++run}-${name}`;

test.before(suite.start);

test.after(async () => {
  await Promise.allSettled(discoveries.map((d) => d.close()));
  await Promise.allSettled(registrations.map((r) => r.deregister()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await suite.stop();
});

test('register puts <prefix>/<service>/<id> as JSON under a lease; discover lists the instances', async () => {
  const prefix = ns('basic');
  const regs = await Promise.all(['b', 'a', 'c'].map((id) => register(registry(prefix), 'api', id)));
  const c = client();
  const kv = await c.get(`${prefix}/api/a`).first();
  assert.ok(kv);
  assert.equal(JSON.parse(kv.value.toString()), { id: 'a', address: regs[1]!.instance.address, meta: { zone: 'a' } });
  assert.is(kv.lease, regs[1]!.leaseId);
  const d = discover(registry(prefix), 'api');
  assert.equal(ids(await d.ready), ['a', 'b', 'c']);
  assert.equal(ids(d.instances()), ['a', 'b', 'c']);
  assert.is(d.instances()[0]?.address, regs[1]!.instance.address);
  assert.equal(d.instances()[0]?.meta, { zone: 'a' });
  assert.equal(ids(await registry(prefix).list('api')), ['a', 'b', 'c']);
  assert.equal(ids(await registry(prefix).list('other')), []);
});

test('pick: round-robin cycles through the instances in order; random stays within them', async () => {
  const prefix = ns('pick');
  const r = registry(prefix);
  for (const id of ['x', 'y', 'z']) await register(r, 'web', id);
  const d = discover(registry(prefix), 'web');
  await d.ready;
  const rr = Array.from({ length: 7 }, () => d.pick('round-robin')?.id);
  assert.equal(rr, ['x', 'y', 'z', 'x', 'y', 'z', 'x']);
  assert.is(d.pick()?.id, 'y', 'round-robin is the default');
  const seen = new Set(Array.from({ length: 60 }, () => d.pick('random')?.id));
  for (const id of seen) assert.ok(id === 'x' || id === 'y' || id === 'z');
  assert.ok(seen.size >= 2);
  const empty = discover(registry(prefix), 'nobody');
  await empty.ready;
  assert.is(empty.pick(), undefined);
});

test('discovery follows registrations and deregistrations (change events, async iteration)', async () => {
  const prefix = ns('live');
  const d = discover(registry(prefix), 'svc');
  assert.equal(await d.ready, []);
  const changes: string[][] = [];
  d.on('change', (list) => changes.push(ids(list)));
  const downs: string[] = [];
  d.on('down', (inst) => downs.push(inst.id));
  const it = d[Symbol.asyncIterator]();
  assert.equal(ids((await it.next()).value as DiscoveredInstance[]), []);

  const r = registry(prefix);
  const one = await register(r, 'svc', 'one');
  assert.equal(ids((await it.next()).value as DiscoveredInstance[]), ['one']);
  const two = await register(r, 'svc', 'two');
  assert.equal(ids((await it.next()).value as DiscoveredInstance[]), ['one', 'two']);
  await one.deregister();
  assert.equal(ids((await it.next()).value as DiscoveredInstance[]), ['two']);
  assert.equal(downs, ['one']);
  assert.equal(changes, [['one'], ['one', 'two'], ['two']]);
  assert.is((await client().get(`${prefix}/svc/one`).count()), 0);
  await two.deregister();
  assert.equal(ids((await it.next()).value as DiscoveredInstance[]), []);
  await it.return?.();
});

test('heartbeats keep a registration alive well past its TTL', async () => {
  const prefix = ns('heartbeat');
  const c = client();
  const reg = await register(registry(prefix, c), 'hb', 'i1', 2);
  const leaseId = reg.leaseId;
  assert.ok(leaseId !== undefined);
  // Several keep-alive periods (TTL/3 each) beyond the TTL.
  const startedAt = Date.now();
  const admin = client();
  await waitFor(async () => Date.now() - startedAt > 4500 && (await admin.lease.timeToLive(leaseId)).ttl > 0, {
    timeoutMs: 15_000,
    intervalMs: 250,
    what: 'registration alive 2x past its TTL',
  });
  assert.is(await admin.get(`${prefix}/hb/i1`).count(), 1);
  assert.is(reg.registrations, 1, 'never lost, never registered again');
  assert.is(reg.leaseId, leaseId);
});

test('a lease revoked from outside: the instance is registered again under a new lease', async () => {
  const prefix = ns('reregister');
  const reg = await register(registry(prefix), 'api', 'phoenix', 3);
  const d = discover(registry(prefix), 'api');
  await d.ready;
  const first = d.instances()[0];
  assert.ok(first);
  const oldLease = reg.leaseId as bigint;
  assert.is(first.leaseId, oldLease);
  const events: string[] = [];
  d.on('down', (i) => events.push(`down ${i.id}`));
  d.on('up', (i) => events.push(`up ${i.id}`));
  const lost = new Promise((resolve) => reg.once('lost', resolve));

  const admin = client();
  await admin.lease.revoke(oldLease);
  await lost;
  const back = await waitFor(() => d.instances().find((i) => i.id === 'phoenix' && i.leaseId !== oldLease), {
    timeoutMs: 15_000,
    what: 'instance back under a new lease',
  });
  assert.is(back.leaseId, reg.leaseId);
  assert.is(reg.registrations, 2);
  assert.equal(events, ['down phoenix', 'up phoenix']);
  assert.ok((await admin.lease.timeToLive(back.leaseId)).ttl > 0);
  assert.is((await admin.get(`${prefix}/api/phoenix`).first())?.lease, back.leaseId);
});

test('deregister removes the instance and revokes its lease; no re-registration follows', async () => {
  const prefix = ns('deregister');
  const reg = await register(registry(prefix), 'api', 'gone', 3);
  const lease = reg.leaseId as bigint;
  await reg.deregister();
  const admin = client();
  assert.is(await admin.get(`${prefix}/api/gone`).count(), 0);
  assert.is((await admin.lease.timeToLive(lease)).ttl, -1);
  assert.is(reg.active, false);
  assert.is(reg.leaseId, undefined);
  await reg.deregister(); // idempotent
});

test('discovery resyncs after its watch revision is compacted', async () => {
  const prefix = ns('compact');
  const proxy = await startTcpProxy({ target: suite.target.endpoints[0] as string });
  proxies.push(proxy);
  const viaProxy = client([proxy.endpoint]);
  const d = discover(registry(prefix, viaProxy), 'svc');
  const r = registry(prefix);
  await register(r, 'svc', 'a');
  await waitFor(() => d.instances().length === 1, { timeoutMs: 10_000, what: 'a discovered' });
  // Cut the discovery's connection, change the service and compact the history it missed.
  proxy.refuse(true);
  proxy.breakAll();
  const b = await register(r, 'svc', 'b');
  await register(r, 'svc', 'c');
  await b.deregister();
  const admin = client();
  const rev = (await admin.put(`${prefix}/unrelated`, 'x')).header?.revision ?? 0;
  await admin.kv.compact(rev, { physical: true });
  proxy.refuse(false);
  await waitFor(() => d.resyncs > 0 && ids(d.instances()).join() === 'a,c', { timeoutMs: 20_000, what: 'resync after compaction' });
  assert.is(d.resyncs, 1);
});

test.run();
