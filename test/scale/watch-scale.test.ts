import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { etcdserverpb } from '@etcd-ts/api';
import { kvClient } from '../harness/kv-client.js';
import { spawnServer, type ServerHandle, type ServerKind } from '../harness/server.js';
import { waitFor } from '../harness/wait-for.js';
import { watchClient, openWatchStream, type WatchStreamClient } from '../harness/watch-client.js';
import { seededRandom } from '@etcd-ts/server';

/*
 * Watch at scale against one server (etcd-ts; SCALE_TARGET=etcd runs the same
 * against real etcd): 10,000 watchers on distinct keys and 100 prefix
 * watchers; every put must reach exactly the watchers it matches. Then a
 * reader that stops reading for several seconds while writes continue must,
 * once it reads again, receive every event exactly once and in order.
 */

const KIND = (process.env['SCALE_TARGET'] ?? 'etcd-ts') as ServerKind;
const KEY_WATCHERS = 10_000;
const PREFIX_WATCHERS = 100;
const KEY_STREAMS = 20;
const CONNECTIONS = 4;
const PUTS = 2_000;
const STALL_MS = 4_000;
const STALL_MAX_PUTS = 20_000;
const DEADLINE_MS = 120_000;

const keyOf = (i: number): string => `s/k/${String(i).padStart(5, '0')}`;
const prefixOf = (j: number): string => `s/k/${String(j).padStart(2, '0')}`;

function prefixEnd(p: string): string {
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

function rssKiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}


/** A gauge from the server's /metrics (served on the client port by both servers). */
async function metric(h: ServerHandle, name: string): Promise<number | undefined> {
  const res = await fetch(`${h.clientUrl}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

let server: ServerHandle | undefined;
const clients: grpc.Client[] = [];
const streams: WatchStreamClient[] = [];

test.after(async () => {
  for (const s of streams) s.cancel();
  for (const c of clients) c.close();
  await server?.dispose();
});

/** Creates watchers on a stream and returns their IDs in request order (etcd answers creates in order). */
async function createAll(s: WatchStreamClient, reqs: etcdserverpb.WatchCreateRequestInit[]): Promise<number[]> {
  const before = s.responses.length;
  for (const r of reqs) s.create(r);
  const created = await s.until(
    (rs) => {
      const c = rs.slice(before).filter((r) => r.created);
      return c.length >= reqs.length ? c : undefined;
    },
    DEADLINE_MS,
    `${reqs.length} watchers created`,
  );
  for (const c of created) assert.ok(!c.canceled, `create failed: ${c.cancelReason}`);
  return created.map((c) => c.watchId);
}

function eventCount(s: WatchStreamClient): number {
  let n = 0;
  for (const r of s.responses) n += r.events.length;
  return n;
}

test(`10,000 key watchers and 100 prefix watchers: each put reaches exactly its watchers (${KIND})`, async () => {
  server = await spawnServer(KIND, { readyTimeoutMs: 30_000 });
  const kv = kvClient(server.endpoint);
  for (let i = 0; i < CONNECTIONS; i++) clients.push(watchClient(server.endpoint));
  const rssBefore = rssKiB(server.pid);

  // Watch ID -> what it watches, per stream.
  const keyStreams: { s: WatchStreamClient; ids: Map<number, string> }[] = [];
  const perStream = KEY_WATCHERS / KEY_STREAMS;
  for (let k = 0; k < KEY_STREAMS; k++) {
    const s = openWatchStream(server.endpoint, { client: clients[k % CONNECTIONS]! });
    streams.push(s);
    const keys = Array.from({ length: perStream }, (_, i) => keyOf(k * perStream + i));
    const ids = await createAll(s, keys.map((key) => ({ key: Buffer.from(key) })));
    keyStreams.push({ s, ids: new Map(ids.map((id, i) => [id, keys[i]!])) });
  }
  const ps = openWatchStream(server.endpoint, { client: clients[0]! });
  streams.push(ps);
  const prefixes = Array.from({ length: PREFIX_WATCHERS }, (_, j) => prefixOf(j));
  const pids = await createAll(ps, prefixes.map((p) => ({ key: Buffer.from(p), rangeEnd: Buffer.from(prefixEnd(p)) })));
  const prefixIds = new Map(pids.map((id, j) => [id, prefixes[j]!]));

  const rssIdle = rssKiB(server.pid);
  if (rssBefore !== undefined && rssIdle !== undefined) {
    process.stdout.write(`\n${KIND}: RSS ${Math.round(rssBefore / 1024)} MiB before, ${Math.round(rssIdle / 1024)} MiB with ${KEY_WATCHERS + PREFIX_WATCHERS} idle watchers\n`);
  }

  // Writes: watched keys (some twice), keys under a prefix but without a key watcher, and unwatched keys.
  const r = seededRandom(7);
  const written: { key: string; rev: number }[] = [];
  for (let n = 0; n < PUTS; n++) {
    const x = r();
    const key = x < 0.8 ? keyOf(Math.floor(r() * KEY_WATCHERS)) : x < 0.9 ? `${prefixOf(Math.floor(r() * PREFIX_WATCHERS))}x` : `s/z/${n}`;
    const resp = await kv.put({ key: Buffer.from(key), value: Buffer.from(`v${n}`) });
    written.push({ key, rev: resp.header!.revision });
  }
  const expectKey = new Map<string, number[]>();
  const expectPrefix = new Map<string, number[]>();
  for (const w of written) {
    if (/^s\/k\/\d{5}$/.test(w.key)) expectKey.set(w.key, [...(expectKey.get(w.key) ?? []), w.rev]);
    if (w.key.startsWith('s/k/')) {
      const p = w.key.slice(0, 6);
      expectPrefix.set(p, [...(expectPrefix.get(p) ?? []), w.rev]);
    }
  }
  const wantKeyEvents = [...expectKey.values()].reduce((a, x) => a + x.length, 0);
  const wantPrefixEvents = [...expectPrefix.values()].reduce((a, x) => a + x.length, 0);
  await waitFor(() => keyStreams.reduce((a, k) => a + eventCount(k.s), 0) >= wantKeyEvents && eventCount(ps) >= wantPrefixEvents, {
    timeoutMs: DEADLINE_MS,
    intervalMs: 20,
    what: `${wantKeyEvents} key events and ${wantPrefixEvents} prefix events`,
  });
  // Anything sent beyond the expected events would precede the answer to a progress request.
  for (const s of [...keyStreams.map((k) => k.s), ps]) {
    const before = s.responses.length;
    s.progress();
    await s.until((rs) => rs.slice(before).some((x) => x.watchId === -1), DEADLINE_MS, 'progress fence');
  }
  const check = (s: WatchStreamClient, ids: Map<number, string>, expect: Map<string, number[]>, label: string): void => {
    const got = new Map<string, number[]>();
    for (const resp of s.responses) {
      for (const ev of resp.events) {
        const what = ids.get(resp.watchId);
        assert.ok(what !== undefined, `${label}: event for unknown watch ${resp.watchId}`);
        const key = ev.kv!.key.toString();
        assert.ok(key === what || (key.startsWith(what) && label === 'prefix'), `${label}: ${key} delivered to the watcher of ${what}`);
        got.set(what, [...(got.get(what) ?? []), ev.kv!.modRevision]);
      }
    }
    for (const what of ids.values()) assert.equal(got.get(what) ?? [], expect.get(what) ?? [], `${label} watcher of ${what}`);
  };
  for (const k of keyStreams) check(k.s, k.ids, expectKey, 'key');
  check(ps, prefixIds, expectPrefix, 'prefix');
  kv.close();
});

test(`a reader that stops reading for several seconds then receives every event in order (${KIND})`, async () => {
  if (server === undefined) throw new Error('no server');
  const kv = kvClient(server.endpoint);
  const slow = openWatchStream(server.endpoint);
  const fast = openWatchStream(server.endpoint);
  streams.push(slow, fast);
  const [slowId] = await createAll(slow, [{ key: Buffer.from('s/'), rangeEnd: Buffer.from('s0'), prevKv: true }]);
  const [fastId] = await createAll(fast, [{ key: Buffer.from('s/'), rangeEnd: Buffer.from('s0') }]);
  slow.pause();
  const value = Buffer.alloc(1024, 120);
  const revs: number[] = [];
  const started = Date.now();
  const rssStart = rssKiB(server.pid);
  let rssMax = rssStart ?? 0;
  while ((Date.now() - started < STALL_MS || revs.length < 500) && revs.length < STALL_MAX_PUTS) {
    const resp = await kv.put({ key: Buffer.from(`s/slow/${revs.length % 50}`), value });
    revs.push(resp.header!.revision);
    if (revs.length % 200 === 0) rssMax = Math.max(rssMax, rssKiB(server.pid) ?? 0);
  }
  const stalledMs = Date.now() - started;
  // The stalled watcher is parked (etcd's victims count as slow watchers), not dropped.
  const slowWatchers = await waitFor(
    async () => {
      const n = await metric(server!, 'etcd_debugging_mvcc_slow_watcher_total');
      return n !== undefined && n >= 1 ? n : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, what: 'the stalled watcher to count as slow' },
  );
  // The fast reader keeps up meanwhile.
  await fast.until((rs) => rs.reduce((n, x) => n + x.events.length, 0) >= revs.length, DEADLINE_MS, 'the fast reader');
  slow.resume();
  await slow.until((rs) => rs.reduce((n, x) => n + x.events.length, 0) >= revs.length, DEADLINE_MS, `all ${revs.length} events after the stall`);
  const before = slow.responses.length;
  slow.progress();
  await slow.until((rs) => rs.slice(before).some((x) => x.watchId === -1), DEADLINE_MS, 'progress fence');
  const got = slow.responses.filter((x) => x.watchId === slowId).flatMap((x) => x.events.map((e) => e.kv!.modRevision));
  assert.equal(got, revs, 'every event once, in order');
  const prevOk = slow.responses.flatMap((x) => x.events).every((e, i) => i < 50 || e.prevKv?.value.length === 1024);
  assert.ok(prevOk, 'previous values present');
  const fastGot = fast.responses.filter((x) => x.watchId === fastId).flatMap((x) => x.events.map((e) => e.kv!.modRevision));
  assert.equal(fastGot, revs);
  process.stdout.write(
    `\n${KIND}: reader stalled ${stalledMs} ms over ${revs.length} puts of 1 KiB (${((revs.length * 1.1) / 1024).toFixed(1)} MiB of events), ` +
      `${slowWatchers} slow watcher(s) while stalled; ` +
      `server RSS ${Math.round((rssStart ?? 0) / 1024)} -> max ${Math.round(rssMax / 1024)} MiB\n`,
  );
  kv.close();
});

test.run();
