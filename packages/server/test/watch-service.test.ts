import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { etcdserverpb, KVService, WatchService } from '@etcd-ts/api';
import { startServer, type ServerHandle } from '../src/start-server.js';

/*
 * The Watch service in process, over real gRPC: stream lifecycle (no watcher
 * outlives its stream), a stalled reader whose position gets compacted away
 * (it is told, with compact_revision, after every event it could still get),
 * require-leader metadata, and shutdown ending open streams.
 */

type Resp = etcdserverpb.WatchResponse;
type Duplex = grpc.ClientDuplexStream<etcdserverpb.WatchRequestInit, Resp>;

interface Stream {
  call: Duplex;
  rs: Resp[];
  status: Promise<grpc.StatusObject>;
}

let handle: ServerHandle;
let dir: string;
let watchClient: grpc.Client;
let kv: grpc.Client;

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function open(md?: Record<string, string>): Stream {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md ?? {})) metadata.set(k, v);
  const call = (watchClient as unknown as { watch(md: grpc.Metadata): Duplex }).watch(metadata);
  const rs: Resp[] = [];
  call.on('data', (r: Resp) => rs.push(r));
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { call, rs, status };
}

function put(key: string, value: string | Buffer): Promise<etcdserverpb.PutResponse> {
  return new Promise((resolve, reject) => {
    (kv as unknown as { put(r: etcdserverpb.PutRequestInit, cb: (e: Error | null, r?: etcdserverpb.PutResponse) => void): void }).put(
      { key: Buffer.from(key), value: typeof value === 'string' ? Buffer.from(value) : value },
      (e, r) => (e ? reject(e) : resolve(r!)),
    );
  });
}

function compact(revision: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (kv as unknown as { compact(r: etcdserverpb.CompactionRequestInit, cb: (e: Error | null, r?: unknown) => void): void }).compact({ revision }, (e, r) =>
      e ? reject(e) : resolve(r),
    );
  });
}

const events = (s: Stream, id: number): etcdserverpb.WatchResponse['events'] => s.rs.filter((r) => r.watchId === id).flatMap((r) => r.events);

const w = suite('watch-service');

w.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-service-'));
  handle = await startServer({ dataDir: dir, experimentalBackendStorage: 'memory', logLevel: 'error' });
  const endpoint = handle.clientUrl.replace('http://', '');
  const opts = { 'grpc.max_receive_message_length': 64 << 20 };
  watchClient = new (grpc.makeGenericClientConstructor(WatchService as unknown as grpc.ServiceDefinition, 'Watch'))(endpoint, grpc.credentials.createInsecure(), opts);
  kv = new (grpc.makeGenericClientConstructor(KVService as unknown as grpc.ServiceDefinition, 'KV'))(endpoint, grpc.credentials.createInsecure());
});

w.after(async () => {
  watchClient.close();
  kv.close();
  await handle.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

w('watchers go away with their stream, however it ends', async () => {
  const store = handle.server.watchable;
  const base = store.stats;
  const streams: Stream[] = [];
  for (let i = 0; i < 20; i++) {
    const s = open();
    for (let j = 0; j < 5; j++) s.call.write({ createRequest: { key: Buffer.from(`life/${j}`), startRevision: j % 2 === 0 ? 1 : 0 } });
    streams.push(s);
  }
  await until(() => streams.every((s) => s.rs.filter((r) => r.created).length === 5), 'creates');
  assert.is(store.stats.streams, base.streams + 20);
  await until(() => store.stats.synced + store.stats.unsynced === base.synced + base.unsynced + 100 && store.stats.unsynced === base.unsynced, 'watchers synced');
  for (const [i, s] of streams.entries()) {
    if (i % 2 === 0) s.call.cancel();
    else s.call.end(); // half-closed: stays open, as in etcd
  }
  await until(() => store.stats.streams === base.streams + 10, 'cancelled streams closed');
  await put('life/0', 'x');
  await until(() => streams.filter((_, i) => i % 2 === 1).every((s) => s.rs.some((r) => r.events.length > 0)), 'half-closed streams still receive');
  for (const s of streams) s.call.cancel();
  await until(() => store.stats.streams === base.streams && store.stats.synced === base.synced, 'all streams closed');
});

w('a stalled reader whose position is compacted gets what it can, then compact_revision', async () => {
  const s = open();
  s.call.write({ createRequest: { key: Buffer.from('stall/'), rangeEnd: Buffer.from('stall0') } });
  await until(() => s.rs.length >= 1, 'created');
  const id = s.rs[0]!.watchId;
  s.call.pause();
  const value = Buffer.alloc(4096, 1);
  const revs: number[] = [];
  // Enough to fill HTTP/2 windows and the stream's queue, so the watcher gets parked.
  for (let i = 0; i < 1500; i++) revs.push((await put(`stall/${i % 20}`, value)).header!.revision);
  await until(() => handle.server.watchable.stats.victims + handle.server.watchable.stats.unsynced >= 1, 'the watcher to be parked');
  const last = revs[revs.length - 1]!;
  await compact(last);
  s.call.resume();
  const done = await until(() => s.rs.find((r) => r.watchId === id && r.compactRevision !== 0), 'the compaction response', 30_000);
  assert.is(done.compactRevision, last);
  assert.ok(done.canceled);
  const got = events(s, id).map((e) => e.kv!.modRevision);
  // What arrived is a gap-free prefix of the writes; the rest is reported as compacted.
  assert.equal(got, revs.slice(0, got.length));
  assert.ok(got.length < revs.length, 'the compaction overtook the reader');
  s.call.cancel();
});

w('a stream that requires a leader is served when there is one', async () => {
  const s = open({ hasleader: 'true' });
  s.call.write({ createRequest: { key: Buffer.from('lead') } });
  await until(() => s.rs.length >= 1, 'created');
  assert.ok(s.rs[0]!.created);
  s.call.cancel();
});

w('closing the server ends open watch streams promptly with UNAVAILABLE', async () => {
  const s = open();
  s.call.write({ createRequest: { key: Buffer.from('bye') } });
  await until(() => s.rs.length >= 1, 'created');
  const t0 = Date.now();
  const closing = handle.close();
  const st = await s.status;
  await closing;
  assert.is(st.code, grpc.status.UNAVAILABLE);
  assert.ok(Date.now() - t0 < 1500, `closed in ${Date.now() - t0} ms`);
  // A fresh server for w.after to close.
  handle = await startServer({ dataDir: fs.mkdtempSync(path.join(dir, 'again-')), experimentalBackendStorage: 'memory', logLevel: 'error' });
});

w.run();
