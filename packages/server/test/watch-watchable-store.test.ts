import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import { KVStore, type TxnWrite } from '../src/mvcc/kv-store.js';
import { EVENT_DELETE, EVENT_PUT, type WatchEvent } from '../src/watch/watch-event.js';
import { WatchError } from '../src/watch/watch-error.js';
import type { StreamItem, WatchResponse } from '../src/watch/watch-response.js';
import type { WatchStream } from '../src/watch/watch-stream.js';
import { WatchableStore, type WatchableStoreOptions } from '../src/watch/watchable-store.js';
import type { WatchFilter } from '../src/watch/watcher.js';
import { seededRandom } from '../src/raft/seeded-random.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const EMPTY = Buffer.alloc(0);

function prefixEnd(p: string): Buffer {
  const end = b(p);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return EMPTY;
}


/** A stream consumer that takes responses only when asked to. */
class Consumer {
  readonly items: StreamItem[] = [];
  paused = false;
  ready = 0;
  readonly ws: WatchStream;
  constructor(store: WatchableStore) {
    this.ws = store.newWatchStream({ onReady: () => this.ready++ });
  }
  drain(): void {
    if (this.paused) return;
    for (let it = this.ws.take(); it !== undefined; it = this.ws.take()) this.items.push(it);
  }
  watchResponses(id?: number): WatchResponse[] {
    return this.items.flatMap((i) => (i.kind === 'watch' && (id === undefined || i.resp.watchId === id) ? [i.resp] : []));
  }
}

class Fixture {
  readonly kv: KVStore;
  readonly store: WatchableStore;
  readonly consumers: Consumer[] = [];
  /** Every event ever written, in revision order (compaction does not remove them from here). */
  readonly log: { rev: number; key: string; type: number; shape: string }[] = [];
  constructor(opts: WatchableStoreOptions = {}) {
    this.kv = KVStore.open(new MemoryBackend());
    this.store = new WatchableStore(this.kv, opts);
  }
  consumer(): Consumer {
    const c = new Consumer(this.store);
    this.consumers.push(c);
    return c;
  }
  write(fn: (w: TxnWrite) => void): number {
    this.kv.backend.transact((tx) => {
      const w = this.kv.write(tx);
      fn(w);
      const rev = w.rev + 1;
      for (const kv of w.changes()) {
        const type = kv.createRevision === 0 ? EVENT_DELETE : EVENT_PUT;
        const key = kv.key.toString('latin1');
        const value = type === EVENT_PUT ? `=${kv.value.toString('latin1')}` : '';
        this.log.push({ rev, key, type, shape: `${type === EVENT_PUT ? 'PUT' : 'DEL'} ${key}@${rev}${value}` });
      }
      w.end();
    });
    this.store.publish();
    return this.kv.currentRev;
  }
  put(key: string, value: string): number {
    return this.write((w) => w.put(b(key), b(value)));
  }
  compact(rev: number): void {
    this.kv.backend.transact((tx) => this.kv.compact(tx, rev));
  }
  /** Turns the event loop until nothing is left to deliver to unpaused consumers (bounded). */
  async settle(): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      for (const c of this.consumers) c.drain();
      await new Promise((r) => setImmediate(r));
      const s = this.store.stats;
      const queued = this.consumers.some((c) => !c.paused && (c.ws.queuedWatch > 0 || c.ws.queuedControl > 0));
      if (s.unsynced === 0 && s.victims === 0 && !queued) {
        for (const c of this.consumers) c.drain();
        return;
      }
      if (i > 0 && i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`store did not settle: ${JSON.stringify(this.store.stats)}`);
  }
}

const evShape = (ev: WatchEvent): string =>
  `${ev.type === EVENT_PUT ? 'PUT' : 'DEL'} ${ev.key}@${ev.modRevision}${ev.type === EVENT_PUT ? `=${ev.kv.value.toString('latin1')}` : ''}`;

test('a synced watcher gets each write of its key, range or from-key, with the write revision', async () => {
  const f = new Fixture();
  const c = f.consumer();
  const single = c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0 });
  const range = c.ws.watch({ id: 0, key: b('a'), end: prefixEnd('a'), startRev: 0 });
  const fromKey = c.ws.watch({ id: 0, key: b('b'), end: EMPTY, startRev: 0 });
  assert.equal([single, range, fromKey], [0, 1, 2]);
  f.put('a', '1');
  f.put('ab', '2');
  f.put('c', '3');
  await f.settle();
  assert.equal(c.watchResponses(single).map((r) => [r.revision, r.events.map(evShape)]), [[2, ['PUT a@2=1']]]);
  assert.equal(c.watchResponses(range).map((r) => [r.revision, r.events.map(evShape)]), [[2, ['PUT a@2=1']], [3, ['PUT ab@3=2']]]);
  assert.equal(c.watchResponses(fromKey).map((r) => [r.revision, r.events.map(evShape)]), [[4, ['PUT c@4=3']]]);
});

test('the events of one transaction arrive in one response', async () => {
  const f = new Fixture();
  const c = f.consumer();
  const id = c.ws.watch({ id: 0, key: b('k'), end: prefixEnd('k'), startRev: 0 });
  f.put('k1', 'x');
  f.write((w) => {
    w.put(b('k2'), b('y'));
    w.put(b('k3'), b('z'));
    w.deleteRange(b('k1'), undefined);
  });
  await f.settle();
  const rs = c.watchResponses(id);
  assert.is(rs.length, 2);
  assert.equal(rs[1]!.events.map(evShape), ['PUT k2@3=y', 'PUT k3@3=z', 'DEL k1@3']);
  assert.is(rs[1]!.events[2]!.type, EVENT_DELETE);
});

test('filters drop puts or deletes; a response left empty is not sent', async () => {
  const f = new Fixture();
  const c = f.consumer();
  const noPut: WatchFilter = (ev) => ev.type === EVENT_PUT;
  const noDel: WatchFilter = (ev) => ev.type === EVENT_DELETE;
  const a = c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0, filters: [noPut] });
  const d = c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0, filters: [noDel] });
  f.put('a', '1');
  f.write((w) => w.deleteRange(b('a'), undefined));
  await f.settle();
  assert.equal(c.watchResponses(a).map((r) => r.events.map(evShape)), [['DEL a@3']]);
  assert.equal(c.watchResponses(d).map((r) => r.events.map(evShape)), [['PUT a@2=1']]);
});

test('a watcher from a past revision replays history in batches of watchBatchMaxRevs, then goes live', async () => {
  const f = new Fixture({ watchBatchMaxRevs: 3 });
  const c = f.consumer();
  for (let i = 0; i < 7; i++) f.put('h', String(i));
  const id = c.ws.watch({ id: 0, key: b('h'), end: undefined, startRev: 3 });
  await f.settle();
  f.put('h', 'live');
  await f.settle();
  const rs = c.watchResponses(id);
  assert.equal(
    rs.map((r) => [r.revision, r.events.map((e) => e.modRevision)]),
    [[8, [3, 4, 5]], [8, [6, 7, 8]], [9, [9]]],
  );
  assert.is(f.store.stats.synced, 1);
});

test('a watcher below the compacted revision is canceled with compact_revision', async () => {
  const f = new Fixture();
  const c = f.consumer();
  for (let i = 0; i < 5; i++) f.put('k', String(i));
  f.compact(4);
  const below = c.ws.watch({ id: 0, key: b('k'), end: undefined, startRev: 3 });
  const at = c.ws.watch({ id: 0, key: b('k'), end: undefined, startRev: 4 });
  await f.settle();
  assert.equal(c.watchResponses(below).map((r) => [r.compactRevision, r.revision, r.events.length]), [[4, 0, 0]]);
  assert.equal(c.watchResponses(at).map((r) => r.events.map((e) => e.modRevision)), [[4, 5, 6]]);
  assert.is(f.store.stats.unsynced + f.store.stats.synced, 1);
  // A compacted watcher can still be canceled by its client, as in etcd.
  c.ws.cancel(below);
});

test('a stalled consumer parks watchers and loses nothing; the queue stays bounded', async () => {
  const f = new Fixture({ chanBufLen: 4, watchBatchMaxRevs: 5 });
  const c = f.consumer();
  const fast = f.consumer();
  const id = c.ws.watch({ id: 0, key: b('s'), end: prefixEnd('s'), startRev: 0 });
  const other = fast.ws.watch({ id: 0, key: b('s'), end: prefixEnd('s'), startRev: 0 });
  c.paused = true;
  const puts = 200;
  for (let i = 0; i < puts; i++) {
    f.put(`s${i % 7}`, String(i));
    if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    assert.ok(c.ws.queuedWatch <= 4, 'queue bounded by chanBufLen');
    fast.drain();
  }
  assert.ok(f.store.stats.victims >= 1, 'the stalled watcher is parked');
  c.paused = false;
  await f.settle();
  const revs = c.watchResponses(id).flatMap((r) => r.events.map((e) => e.modRevision));
  assert.equal(revs, Array.from({ length: puts }, (_, i) => i + 2));
  const fastRevs = fast.watchResponses(other).flatMap((r) => r.events.map((e) => e.modRevision));
  assert.equal(fastRevs, revs);
  assert.is(f.store.stats.synced, 2);
});

test('progress notifications go to synced watchers only', async () => {
  const f = new Fixture();
  const c = f.consumer();
  f.put('p', '1');
  const synced = c.ws.watch({ id: 0, key: b('p'), end: undefined, startRev: 0 });
  const unsynced = c.ws.watch({ id: 0, key: b('p'), end: undefined, startRev: 1 });
  c.ws.requestProgress(synced);
  c.ws.requestProgress(unsynced);
  c.drain();
  assert.equal(c.watchResponses().map((r) => [r.watchId, r.revision, r.events.length]), [[synced, 2, 0]]);
});

test('watch IDs: automatic from 0 skipping used ones, chosen, duplicate, empty range, cancel of an unknown ID', () => {
  const f = new Fixture();
  const c = f.consumer();
  assert.is(c.ws.watch({ id: 1, key: b('a'), end: undefined, startRev: 0 }), 1);
  assert.is(c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0 }), 0);
  assert.is(c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0 }), 2);
  assert.is(c.ws.watch({ id: 7, key: b('a'), end: undefined, startRev: 0 }), 7);
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      if (err instanceof WatchError) return `${err.code}: ${err.message}`;
      throw err;
    }
    return 'ok';
  };
  assert.is(code(() => c.ws.watch({ id: 7, key: b('a'), end: undefined, startRev: 0 })), 'ErrWatcherDuplicateID: mvcc: duplicate watch ID provided on the WatchStream');
  assert.is(code(() => c.ws.watch({ id: 0, key: b('b'), end: b('a'), startRev: 0 })), 'ErrEmptyWatcherRange: mvcc: watcher range is empty');
  assert.is(code(() => c.ws.watch({ id: 0, key: b('b'), end: b('b'), startRev: 0 })), 'ErrEmptyWatcherRange: mvcc: watcher range is empty');
  assert.is(code(() => c.ws.cancel(42)), 'ErrWatcherNotExist: mvcc: watcher does not exist');
  c.ws.cancel(7);
  assert.is(c.ws.watch({ id: 7, key: b('a'), end: undefined, startRev: 0 }), 7);
  c.ws.close();
  assert.is(f.store.stats.synced, 0);
  assert.is(code(() => c.ws.watch({ id: 0, key: b('a'), end: undefined, startRev: 0 })), 'ErrEmptyWatcherRange: mvcc: watcher range is empty');
});

test('unpublished changes are not delivered when their transaction is discarded', async () => {
  const f = new Fixture();
  const c = f.consumer();
  const id = c.ws.watch({ id: 0, key: b('x'), end: undefined, startRev: 0 });
  f.kv.backend.transact((tx) => {
    const w = f.kv.write(tx);
    w.put(b('x'), b('1'));
    w.end();
  });
  f.store.discardPending();
  f.store.publish();
  await f.settle();
  assert.is(c.watchResponses(id).length, 0);
});

test('restore from a snapshot keeps the watchers; they catch up from the new store', async () => {
  const f = new Fixture();
  const c = f.consumer();
  f.put('r', '1');
  const id = c.ws.watch({ id: 0, key: b('r'), end: prefixEnd('r'), startRev: 0 });
  const future = c.ws.watch({ id: 0, key: b('r'), end: undefined, startRev: 50 });
  f.put('r', '2');
  await f.settle();
  // The leader's store: the same history, and more.
  const leader = KVStore.open(new MemoryBackend());
  const put = (kv: KVStore, k: string, v: string): void =>
    kv.backend.transact((tx) => {
      const w = kv.write(tx);
      w.put(b(k), b(v));
      w.end();
    });
  put(leader, 'r', '1');
  put(leader, 'r', '2');
  put(leader, 'r2', '3');
  put(leader, 'x', 'other');
  put(leader, 'r', '4');
  f.store.restore(leader);
  await f.settle();
  put(f.kv, 'r', 'old store, not delivered');
  put(leader, 'r3', '5');
  f.store.publish();
  await f.settle();
  assert.equal(c.watchResponses(id).flatMap((r) => r.events.map(evShape)), ['PUT r@3=2', 'PUT r2@4=3', 'PUT r@6=4', 'PUT r3@7=5']);
  assert.equal(c.watchResponses(future), []);
  assert.is(f.store.stats.synced, 2);
  assert.is(f.store.kv, leader);
});

interface Expect {
  stream: Consumer;
  id: number;
  key: string;
  end: string | undefined;
  start: number;
  noPut: boolean;
  noDel: boolean;
  canceled: boolean;
}

test('model: random writes, watchers, stalls, cancels and compactions deliver each event once, in order, txn-atomic', async () => {
  const KEYS = ['a', 'ab', 'abc', 'b', 'ba', 'c', '\xff', 'z'];
  for (let seed = 1; seed <= Number(process.env["WATCH_MODEL_SEEDS"] ?? 25); seed++) {
    const r = seededRandom(seed);
    const f = new Fixture({ chanBufLen: 2, watchBatchMaxRevs: 2, maxEventsPerSync: 5, maxWatchersPerSync: 2 });
    const streams = [f.consumer(), f.consumer(), f.consumer()];
    const watchers: Expect[] = [];
    let compacted = -1;
    for (let step = 0; step < 250; step++) {
      const x = r();
      if (x < 0.45) {
        const n = 1 + Math.floor(r() * 3);
        const keys = new Set<string>();
        for (let i = 0; i < n; i++) keys.add(KEYS[Math.floor(r() * KEYS.length)]!);
        f.write((w) => {
          for (const k of keys) {
            if (r() < 0.7) w.put(b(k), b(`v${step}`));
            else w.deleteRange(b(k), undefined);
          }
        });
      } else if (x < 0.5) {
        const p = KEYS[Math.floor(r() * KEYS.length)]!;
        f.write((w) => w.deleteRange(b(p), prefixEnd(p)));
      } else if (x < 0.65) {
        const s = streams[Math.floor(r() * streams.length)]!;
        const key = KEYS[Math.floor(r() * KEYS.length)]!;
        const kind = r();
        const end = kind < 0.4 ? undefined : kind < 0.8 ? prefixEnd(key).toString('latin1') : '';
        const cur = f.kv.currentRev;
        const sr = r();
        const startRev = sr < 0.3 ? 0 : sr < 0.8 ? 1 + Math.floor(r() * cur) : cur + 1 + Math.floor(r() * 3);
        const noPut = r() < 0.15;
        const noDel = r() < 0.15;
        const filters: WatchFilter[] = [];
        if (noPut) filters.push((ev) => ev.type === EVENT_PUT);
        if (noDel) filters.push((ev) => ev.type === EVENT_DELETE);
        const id = s.ws.watch({ id: 0, key: b(key), end: end === undefined ? undefined : b(end), startRev, filters });
        const start = startRev === 0 || startRev > cur ? Math.max(cur + 1, startRev) : startRev;
        watchers.push({ stream: s, id, key, end, start, noPut, noDel, canceled: false });
      } else if (x < 0.75) {
        const s = streams[Math.floor(r() * streams.length)]!;
        s.paused = !s.paused;
      } else if (x < 0.78) {
        const live = watchers.filter((w) => !w.canceled);
        const w = live[Math.floor(r() * live.length)];
        if (w !== undefined) {
          w.stream.ws.cancel(w.id);
          w.canceled = true;
        }
      } else if (x < 0.8) {
        const cur = f.kv.currentRev;
        const rev = compacted + 1 + Math.floor(r() * Math.max(1, cur - compacted - 1));
        // A tombstone at exactly the compaction revision is removed with the history
        // (etcd's keyIndex.compact), so a watcher resuming at that revision would not
        // see it, in etcd as here; the model compacts only where that cannot matter.
        const tombstoneAt = f.log.some((e) => e.rev === rev && e.type === EVENT_DELETE);
        if (rev > compacted && rev <= cur && !tombstoneAt) {
          f.compact(rev);
          compacted = rev;
        }
      } else {
        await new Promise((res) => setImmediate(res));
        for (const s of streams) s.drain();
      }
      for (const s of streams) assert.ok(s.ws.queuedWatch <= 2, 'queue bounded');
    }
    for (const s of streams) s.paused = false;
    await f.settle();
    const byRev = f.log;
    for (const w of watchers) {
      const rs = w.stream.watchResponses(w.id);
      const got = rs.flatMap((resp) => resp.events.map(evShape));
      const compactResp = rs.find((resp) => resp.compactRevision !== 0);
      const matches = (ev: { key: string; type: number }): boolean =>
        (w.end === undefined ? ev.key === w.key : ev.key >= w.key && (w.end === '' || ev.key < w.end)) &&
        !(w.noPut && ev.type === EVENT_PUT) &&
        !(w.noDel && ev.type === EVENT_DELETE);
      const want = byRev.filter((e) => e.rev >= w.start && matches(e)).map((e) => e.shape);
      const label = `seed ${seed} watcher ${w.id} on ${JSON.stringify(w.key)}..${JSON.stringify(w.end)} from ${w.start}`;
      if (w.canceled || compactResp !== undefined) {
        assert.equal(got, want.slice(0, got.length), `${label}: a prefix`);
      } else {
        assert.equal(got, want, label);
      }
      // No revision is split across two responses of one watcher.
      const seen = new Map<number, number>();
      rs.forEach((resp, i) => {
        for (const ev of resp.events) {
          const prev = seen.get(ev.modRevision);
          if (prev !== undefined && prev !== i) assert.unreachable(`${label}: revision ${ev.modRevision} split across responses`);
          seen.set(ev.modRevision, i);
        }
        const last = resp.events[resp.events.length - 1];
        if (last !== undefined) assert.ok(resp.revision >= last.modRevision, `${label}: header revision below its events`);
      });
    }
  }
});

test.run();
