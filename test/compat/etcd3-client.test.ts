import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { spawnServer, type ServerHandle, type ServerKind } from '../harness/server.js';
import { waitFor } from '../harness/wait-for.js';

/*
 * The `etcd3` npm client's watch and lease APIs against etcd-ts, unchanged.
 * Every check also runs against real etcd, which shows the expectations are
 * etcd's behaviour. ETCD3_TARGETS=etcd-ts limits the run to etcd-ts.
 */

const kinds: ServerKind[] = (process.env['ETCD3_TARGETS'] ?? 'etcd,etcd-ts').split(',').map((k) => {
  if (k !== 'etcd' && k !== 'etcd-ts') throw new Error(`ETCD3_TARGETS: unknown server kind ${k}`);
  return k;
});
const DEADLINE_MS = 15_000;

interface Seen {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: string;
  prev?: string;
}

function record(w: Watcher): Seen[] {
  const seen: Seen[] = [];
  const add = (type: Seen['type']) => (kv: IKeyValue, prev?: IKeyValue) => {
    const s: Seen = { type, key: kv.key.toString(), value: kv.value.toString(), modRevision: kv.mod_revision };
    // etcd3 passes null, not undefined, when there is no previous value.
    if (prev !== undefined && prev !== null) s.prev = prev.value.toString();
    seen.push(s);
  };
  w.on('put', add('put'));
  w.on('delete', add('delete'));
  return seen;
}

async function until(what: string, probe: () => boolean): Promise<void> {
  await waitFor(() => probe() || undefined, { timeoutMs: DEADLINE_MS, intervalMs: 10, what });
}

for (const kind of kinds) {
  const s = suite(`etcd3-client (${kind})`);
  let server: ServerHandle | undefined;
  let client: Etcd3 | undefined;
  const c = (): Etcd3 => {
    if (client === undefined) throw new Error('no client');
    return client;
  };
  const revision = async (): Promise<number> => Number((await c().kv.range({ key: Buffer.from('\0'), count_only: true })).header.revision);

  s.before(async () => {
    server = await spawnServer(kind, { readyTimeoutMs: 20_000 });
    client = new Etcd3({ hosts: `http://${server.endpoint}` });
  });
  s.after(async () => {
    client?.close();
    await server?.dispose();
  });

  s('watch a key: puts and deletes in order, with previous values', async () => {
    const w = await c().watch().key('w/a').withPreviousKV().create();
    const seen = record(w);
    await c().put('w/a').value('1');
    await c().put('w/b').value('other key');
    await c().put('w/a').value('2');
    await c().delete().key('w/a');
    await until('three events', () => seen.length >= 3);
    assert.equal(
      seen.map((e) => [e.type, e.key, e.value, e.prev ?? null]),
      [
        ['put', 'w/a', '1', null],
        ['put', 'w/a', '2', '1'],
        ['delete', 'w/a', '', '2'],
      ],
    );
    await w.cancel();
  });

  s('prefix watch from a past revision replays history; only(put) drops deletes', async () => {
    const start = (await revision()) + 1;
    await c().put('h/1').value('a');
    await c().put('h/2').value('b');
    await c().delete().key('h/1');
    await c().put('hx').value('not in prefix');
    const w = await c().watch().prefix('h/').only('put').startRevision(String(start)).create();
    const seen = record(w);
    await c().put('h/3').value('c');
    await until('three puts', () => seen.length >= 3);
    assert.equal(
      seen.map((e) => [e.type, e.key, e.value, Number(e.modRevision) - start]),
      [
        ['put', 'h/1', 'a', 0],
        ['put', 'h/2', 'b', 1],
        ['put', 'h/3', 'c', 4],
      ],
    );
    await w.cancel();
  });

  s('several watchers share one stream; cancelling one leaves the others', async () => {
    const ws = await Promise.all([c().watch().key('m/k').create(), c().watch().key('m/k').create(), c().watch().prefix('m/').create()]);
    const seen = ws.map(record);
    await c().put('m/k').value('1');
    await until('each watcher sees the put', () => seen.every((x) => x.length >= 1));
    await ws[0]!.cancel();
    await c().put('m/k').value('2');
    await until('the remaining watchers see the second put', () => seen[1]!.length >= 2 && seen[2]!.length >= 2);
    await c().put('m/k').value('3');
    await until('the remaining watchers see the third put', () => seen[1]!.length >= 3 && seen[2]!.length >= 3);
    assert.equal(seen[0]!.map((e) => e.value), ['1']);
    assert.equal(seen[1]!.map((e) => e.value), ['1', '2', '3']);
    assert.equal(seen[2]!.map((e) => e.value), ['1', '2', '3']);
    await Promise.all(ws.slice(1).map((w) => w.cancel()));
  });

  s('a watcher starting below the compacted revision gets an error', async () => {
    const first = (await revision()) + 1;
    for (let i = 0; i < 3; i++) await c().put('cmp/k').value(String(i));
    await c().kv.compact({ revision: String(first + 2) });
    const errors: Error[] = [];
    const w = c().watch().key('cmp/k').startRevision(String(first)).watcher();
    w.on('error', (err) => errors.push(err));
    await until('an error', () => errors.length > 0);
    assert.match(errors[0]!.message, /canceled/i);
  });

  s('lease: grant, put with lease, keepaliveOnce, timeToLive with keys, leases, revoke deletes the keys in one revision', async () => {
    const lease = c().lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('l/1').value('a');
    await lease.put('l/2').value('b');
    await lease.put('l/3').value('c');
    const ka = await lease.keepaliveOnce();
    assert.is(ka.TTL, '30');
    const ttl = await c().leaseClient.leaseTimeToLive({ ID: id, keys: true });
    assert.is(ttl.grantedTTL, '30');
    assert.ok(Number(ttl.TTL) >= 28 && Number(ttl.TTL) <= 30, `remaining ${ttl.TTL}`);
    assert.equal(ttl.keys.map((k) => k.toString()).sort(), ['l/1', 'l/2', 'l/3']);
    const leases = await c().leaseClient.leaseLeases();
    assert.ok(leases.leases.some((l) => l.ID === id));
    const w = await c().watch().prefix('l/').create();
    const batches: number[] = [];
    w.on('data', (res) => {
      if (res.events.length > 0) batches.push(res.events.length);
    });
    const seen = record(w);
    await lease.revoke();
    await until('three deletes', () => seen.length >= 3);
    assert.equal(seen.map((e) => [e.type, e.key]), [['delete', 'l/1'], ['delete', 'l/2'], ['delete', 'l/3']]);
    assert.equal(batches, [3]);
    assert.is(new Set(seen.map((e) => e.modRevision)).size, 1);
    assert.is(await c().get('l/1').string(), null);
    const gone = await c().leaseClient.leaseTimeToLive({ ID: id });
    assert.is(gone.TTL, '-1');
    await w.cancel();
  });

  s('a lease revoked elsewhere is reported lost by its keep-alive', async () => {
    const lease = c().lease(3);
    const id = await lease.grant();
    const lost: Error[] = [];
    lease.on('lost', (err) => lost.push(err));
    await c().leaseClient.leaseRevoke({ ID: id });
    await until('the lease to be lost', () => lost.length > 0);
    assert.ok(lease.revoked());
  });

  s.run();
}
