/*
 * Watch scenarios at the gRPC level, for the differential watch suite. Each
 * scenario runs on a fresh pair of servers, so revisions are absolute. Every
 * response of every stream is compared (header ids and raft term dropped);
 * `await` steps wait until a stream holds a number of responses, which makes
 * the interleaving of writes and watch traffic the same on both servers.
 */
import type { etcdserverpb } from '@etcd-ts/api';

export type KvStepOp = 'put' | 'deleteRange' | 'txn' | 'compact' | 'leaseGrant' | 'leaseRevoke';

export type WatchStep =
  /** A KV call; its response is compared too. */
  | { kind: 'kv'; op: KvStepOp; req: Record<string, unknown> }
  /** Sequential puts of key = `${valuePrefix}${i}`, i from 0 (responses not compared). */
  | { kind: 'puts'; key: string; count: number; valueBytes?: number; keySuffix?: boolean }
  | { kind: 'open'; stream: string; metadata?: Record<string, string> }
  | { kind: 'send'; stream: string; req: etcdserverpb.WatchRequestInit }
  /** Waits until the stream holds at least `responses` responses. */
  | { kind: 'await'; stream: string; responses: number }
  /** Waits until the stream's responses hold at least `events` events. */
  | { kind: 'awaitEvents'; stream: string; events: number }
  | { kind: 'pause' | 'resume' | 'halfClose'; stream: string };

export interface WatchScenario {
  name: string;
  steps: WatchStep[];
  /** Extra server flags (both servers). */
  extraArgs?: string[];
  /** Responses of a stream to compare (default: all). Used where the count of timed responses varies. */
  select?: (stream: string, rs: etcdserverpb.WatchResponse[]) => etcdserverpb.WatchResponse[];
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const put = (key: string, value: string, extra: Record<string, unknown> = {}): WatchStep => ({ kind: 'kv', op: 'put', req: { key: b(key), value: b(value), ...extra } });
const del = (key: string, rangeEnd?: string, extra: Record<string, unknown> = {}): WatchStep => ({
  kind: 'kv',
  op: 'deleteRange',
  req: rangeEnd === undefined ? { key: b(key), ...extra } : { key: b(key), rangeEnd: b(rangeEnd), ...extra },
});
const open = (stream = 's'): WatchStep => ({ kind: 'open', stream });
const create = (req: etcdserverpb.WatchCreateRequestInit, stream = 's'): WatchStep => ({ kind: 'send', stream, req: { createRequest: req } });
const cancel = (watchId: number, stream = 's'): WatchStep => ({ kind: 'send', stream, req: { cancelRequest: { watchId } } });
const progress = (stream = 's'): WatchStep => ({ kind: 'send', stream, req: { progressRequest: {} } });
const wait = (responses: number, stream = 's'): WatchStep => ({ kind: 'await', stream, responses });
const waitEvents = (events: number, stream = 's'): WatchStep => ({ kind: 'awaitEvents', stream, events });

const NOPUT = 0;
const NODELETE = 1;

export const WATCH_GRPC_SCENARIOS: WatchScenario[] = [
  {
    name: 'create from now: created response, then one response per write of the key',
    steps: [
      put('a', '0'),
      open(),
      create({ key: b('a') }),
      wait(1),
      put('a', '1'),
      put('b', 'x'),
      put('a', '2'),
      del('a'),
      waitEvents(3),
    ],
  },
  {
    name: 'prefix, explicit range and from-key watchers',
    steps: [
      open(),
      create({ key: b('p/'), rangeEnd: b('p0') }),
      create({ key: b('r1'), rangeEnd: b('r3') }),
      create({ key: b('m'), rangeEnd: Buffer.from([0]) }),
      wait(3),
      put('p/1', 'a'),
      put('p', 'not in prefix'),
      put('r2', 'b'),
      put('r3', 'end is exclusive'),
      put('r1', 'c'),
      put('a', 'before m'),
      put('zz', 'after m'),
      del('p/', 'p0'),
      // m.. sees p/1, p, r2, r3, r1, zz and the delete of p/1; p/ sees p/1 twice; r1..r3 sees r2, r1
      waitEvents(11),
    ],
  },
  {
    name: 'history replay from a past revision, then live',
    steps: [
      put('h', '1'),
      put('h', '2'),
      put('other', 'x'),
      del('h'),
      put('h', '3'),
      open(),
      create({ key: b('h'), startRevision: 2 }),
      waitEvents(4),
      put('h', '4'),
      waitEvents(5),
    ],
  },
  {
    name: 'history replay in batches of 1000 revisions',
    steps: [
      { kind: 'puts', key: 'batch', count: 2300 },
      open(),
      create({ key: b('batch'), startRevision: 1 }),
      waitEvents(2300),
    ],
  },
  {
    name: 'history replay of a prefix with prev_kv, start revision 1',
    steps: [
      put('k/a', '1'),
      put('k/b', '1'),
      put('k/a', '2'),
      del('k/b'),
      put('j', 'outside'),
      { kind: 'kv', op: 'txn', req: { success: [{ requestPut: { key: b('k/c'), value: b('t') } }, { requestPut: { key: b('k/a'), value: b('3') } }] } },
      open(),
      create({ key: b('k/'), rangeEnd: b('k0'), startRevision: 1, prevKv: true }),
      waitEvents(6),
    ],
  },
  {
    name: 'prev_kv on live events: create, modify, delete',
    steps: [
      open(),
      create({ key: b('pk'), prevKv: true }),
      wait(1),
      put('pk', 'v1'),
      put('pk', 'v2'),
      del('pk'),
      put('pk', 'v3'),
      waitEvents(4),
    ],
  },
  {
    name: 'filters NOPUT and NODELETE',
    steps: [
      open(),
      create({ key: b('f'), filters: [NOPUT] }),
      create({ key: b('f'), filters: [NODELETE] }),
      create({ key: b('f'), filters: [NOPUT, NODELETE] }),
      wait(3),
      put('f', '1'),
      del('f'),
      put('f', '2'),
      del('f'),
      waitEvents(4),
      progress(),
      wait(8),
    ],
  },
  {
    name: 'watch IDs: automatic, chosen, duplicate, after cancel',
    steps: [
      open(),
      create({ key: b('i'), watchId: 1 }),
      create({ key: b('i') }),
      create({ key: b('i') }),
      create({ key: b('i'), watchId: 7 }),
      create({ key: b('i'), watchId: 7 }),
      cancel(1),
      wait(6),
      create({ key: b('i') }),
      create({ key: b('i'), watchId: 1 }),
      wait(8),
      put('i', 'v'),
      waitEvents(5),
    ],
  },
  {
    name: 'empty and inverted ranges, empty key',
    steps: [
      open(),
      create({ key: b('b'), rangeEnd: b('a') }),
      create({ key: b('b'), rangeEnd: b('b') }),
      create({ key: b('') }),
      create({ key: b(''), rangeEnd: Buffer.from([0]) }),
      wait(4),
      put('\x00', 'zero'),
      put('x', 'y'),
      waitEvents(3),
    ],
  },
  {
    name: 'cancel: response, no events afterwards, unknown IDs ignored',
    steps: [
      open(),
      create({ key: b('c') }),
      create({ key: b('c') }),
      wait(2),
      put('c', '1'),
      waitEvents(2),
      cancel(0),
      cancel(42),
      cancel(0),
      wait(5),
      put('c', '2'),
      waitEvents(3),
      progress(),
      wait(7),
    ],
  },
  {
    name: 'progress request answers with watch ID -1 and the current revision',
    steps: [
      open(),
      progress(),
      wait(1),
      put('x', '1'),
      put('x', '2'),
      create({ key: b('x') }),
      progress(),
      wait(3),
    ],
  },
  {
    name: 'compaction: start below it is canceled with compact_revision, at it replays',
    steps: [
      put('k', '1'),
      put('k', '2'),
      put('k', '3'),
      put('k', '4'),
      { kind: 'kv', op: 'compact', req: { revision: 4 } },
      open(),
      create({ key: b('k'), startRevision: 2 }),
      wait(2),
      create({ key: b('k'), startRevision: 4 }),
      waitEvents(2),
      create({ key: b('k'), startRevision: 1, prevKv: true }),
      wait(6),
      cancel(0),
      wait(7),
    ],
  },
  {
    name: 'a txn delivers all its events in one response',
    steps: [
      put('t/old', 'x'),
      open(),
      create({ key: b('t/'), rangeEnd: b('t0'), prevKv: true }),
      wait(1),
      {
        kind: 'kv',
        op: 'txn',
        req: {
          success: [
            { requestPut: { key: b('t/1'), value: b('a') } },
            { requestPut: { key: b('t/2'), value: b('b') } },
            { requestDeleteRange: { key: b('t/old') } },
            { requestPut: { key: b('u'), value: b('outside') } },
          ],
        },
      },
      waitEvents(3),
    ],
  },
  {
    name: 'fragment: a revision larger than the request limit is split for a fragment watcher only',
    steps: [
      { kind: 'puts', key: 'big/', count: 24, valueBytes: 100_000, keySuffix: true },
      open(),
      create({ key: b('big/'), rangeEnd: b('big0'), prevKv: true, fragment: true }),
      create({ key: b('big/'), rangeEnd: b('big0'), prevKv: true }),
      create({ key: b('big/'), rangeEnd: b('big0'), fragment: true }),
      wait(3),
      del('big/', 'big0'),
      waitEvents(72),
    ],
  },
  {
    name: 'lease revoke deletes its keys in one revision',
    steps: [
      { kind: 'kv', op: 'leaseGrant', req: { ID: 0x1234, TTL: 100 } },
      put('l/1', 'a', { lease: 0x1234 }),
      put('l/2', 'b', { lease: 0x1234 }),
      put('l/3', 'c', { lease: 0x1234 }),
      open(),
      create({ key: b('l/'), rangeEnd: b('l0'), prevKv: true }),
      wait(1),
      { kind: 'kv', op: 'leaseRevoke', req: { ID: 0x1234 } },
      waitEvents(3),
    ],
  },
  {
    name: 'future start revision: only events from it',
    steps: [
      put('fu', '1'),
      open(),
      create({ key: b('fu'), startRevision: 5 }),
      wait(1),
      put('fu', '2'),
      put('fu', '3'),
      put('fu', '4'),
      put('fu', '5'),
      waitEvents(2),
    ],
  },
  {
    name: 'several streams, and a stream whose client half-closed keeps receiving',
    steps: [
      open('s1'),
      open('s2'),
      create({ key: b('m') }, 's1'),
      create({ key: b('m'), prevKv: true }, 's2'),
      wait(1, 's1'),
      wait(1, 's2'),
      { kind: 'halfClose', stream: 's2' },
      put('m', '1'),
      put('m', '2'),
      waitEvents(2, 's1'),
      waitEvents(2, 's2'),
    ],
  },
  {
    name: 'a paused reader gets every event once it resumes',
    steps: [
      open(),
      create({ key: b('slow/'), rangeEnd: b('slow0') }),
      wait(1),
      { kind: 'pause', stream: 's' },
      { kind: 'puts', key: 'slow/', count: 600, valueBytes: 2000 },
      { kind: 'resume', stream: 's' },
      waitEvents(600),
    ],
    // How the backlog is cut into responses depends on timing; the events must match.
    select: (_stream, rs) => [{ ...rs[0]!, events: rs.flatMap((r) => r.events) }],
  },
  {
    name: 'progress notifications for idle watchers that asked for them',
    extraArgs: ['--experimental-watch-progress-notify-interval', '300ms'],
    steps: [
      put('pn', '1'),
      open(),
      create({ key: b('pn'), progressNotify: true }),
      create({ key: b('pn') }),
      wait(4),
    ],
    // The number of ticks is timing; the first notification is compared.
    select: (_stream, rs) => rs.slice(0, 3),
  },
];
