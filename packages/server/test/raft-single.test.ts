import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeConfChange } from '../src/raft/conf-change-codec.js';
import { ErrCompacted, ErrProposalDropped, ErrRaftInvariant, ErrSnapOutOfDate, ErrUnavailable } from '../src/raft/errors.js';
import { MemoryStorage } from '../src/raft/memory-storage.js';
import type { RaftConfig } from '../src/raft/raft-config.js';
import { RawNode } from '../src/raft/raw-node.js';
import { seededRandom } from '../src/raft/seeded-random.js';
import { ConfChangeType, EntryType, StateType } from '../src/raft/types.js';
import type { Entry, Ready } from '../src/raft/types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function config(storage: MemoryStorage, extra: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id: 1n,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    checkQuorum: false,
    preVote: false,
    random: seededRandom(7),
    ...extra,
  };
}

/** The shell's side of a Ready: persist snapshot, entries and hard state, then advance. */
function handle(rn: RawNode, storage: MemoryStorage, applied: Entry[] = []): Ready {
  const rd = rn.ready();
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  applied.push(...rd.committedEntries);
  rn.advance();
  return rd;
}

function drain(rn: RawNode, storage: MemoryStorage, applied: Entry[] = []): Ready[] {
  const out: Ready[] = [];
  while (rn.hasReady()) out.push(handle(rn, storage, applied));
  return out;
}

function newLeader(storage = new MemoryStorage(), extra: Partial<RaftConfig> = {}): { rn: RawNode; storage: MemoryStorage; applied: Entry[] } {
  const rn = new RawNode(config(storage, { peers: [1n], ...extra }));
  rn.campaign();
  const applied: Entry[] = [];
  drain(rn, storage, applied);
  return { rn, storage, applied };
}

test('campaign() makes a single voter leader and commits the empty entry of its term at once', () => {
  const storage = new MemoryStorage();
  const rn = new RawNode(config(storage, { peers: [1n] }));
  assert.is(rn.hasReady(), false);
  rn.campaign();
  assert.ok(rn.hasReady());
  const rd = rn.ready();
  assert.equal(rd.softState, { lead: 1n, raftState: StateType.Leader });
  assert.equal(rd.hardState, { term: 1, vote: 1n, commit: 1 });
  assert.is(rd.entries.length, 1);
  assert.is(rd.entries[0]!.index, 1);
  assert.is(rd.entries[0]!.term, 1);
  assert.is(rd.entries[0]!.data.byteLength, 0);
  assert.equal(rd.committedEntries.map((e) => e.index), [1]);
  assert.is(rd.messages.length, 0);
  assert.ok(rd.mustSync);
  storage.append(rd.entries);
  storage.setHardState(rd.hardState!);
  rn.advance();
  assert.is(rn.hasReady(), false);
  const st = rn.status();
  assert.is(st.raftState, StateType.Leader);
  assert.is(st.commit, 1);
  assert.is(st.applied, 1);
});

test('with pre-vote the single voter still wins at once', () => {
  const { rn } = newLeader(new MemoryStorage(), { preVote: true, checkQuorum: true });
  assert.is(rn.status().raftState, StateType.Leader);
  assert.is(rn.status().term, 1);
});

test('a single voter elects itself after its randomized election timeout', () => {
  const storage = new MemoryStorage();
  const rn = new RawNode(config(storage, { peers: [1n] }));
  let ticks = 0;
  while (rn.status().raftState !== StateType.Leader) {
    rn.tick();
    ticks++;
    assert.ok(ticks < 20, 'elected within [electionTick, 2*electionTick)');
  }
  assert.ok(ticks >= 10);
  const rds = drain(rn, storage);
  assert.is(rds.length, 1);
  assert.equal(rds[0]!.hardState, { term: 1, vote: 1n, commit: 1 });
});

test('proposals commit in the same Ready that carries them for persistence', () => {
  const { rn, storage, applied } = newLeader();
  rn.propose(enc('a'));
  rn.propose(enc('b'));
  const rd = handle(rn, storage, applied);
  assert.equal(rd.entries.map((e) => [e.index, e.term, dec(e.data)]), [[2, 1, 'a'], [3, 1, 'b']]);
  assert.equal(rd.committedEntries.map((e) => e.index), [2, 3]);
  assert.equal(rd.hardState, { term: 1, vote: 1n, commit: 3 });
  assert.ok(rd.mustSync);
  assert.is(rd.messages.length, 0);
  assert.equal(applied.map((e) => dec(e.data)), ['', 'a', 'b']);
  assert.is(rn.hasReady(), false);
  assert.is(storage.lastIndex(), 3);
});

test('proposals without a leader are dropped with ErrProposalDropped', () => {
  const rn = new RawNode(config(new MemoryStorage(), { peers: [1n] }));
  try {
    rn.propose(enc('x'));
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, ErrProposalDropped);
    assert.is((err as ErrProposalDropped).code, 'RAFT_PROPOSAL_DROPPED');
  }
});

test('readIndex on a single-voter leader answers with the commit index in the next Ready', () => {
  const { rn, storage } = newLeader();
  rn.propose(enc('a'));
  rn.readIndex(enc('req-1'));
  const rd = handle(rn, storage);
  assert.equal(rd.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]), [[2, 'req-1']]);
  assert.is(rd.messages.length, 0);
  rn.readIndex(enc('req-2'));
  assert.ok(rn.hasReady());
  const rd2 = handle(rn, storage);
  assert.equal(rd2.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]), [[2, 'req-2']]);
  assert.is(rd2.mustSync, false);
  assert.is(rd2.hardState, undefined);
});

test('readIndex without a leader produces nothing', () => {
  const rn = new RawNode(config(new MemoryStorage(), { peers: [1n] }));
  rn.readIndex(enc('r'));
  assert.is(rn.hasReady(), false);
});

test('a Ready must be advanced before the next one', () => {
  const storage = new MemoryStorage();
  const rn = new RawNode(config(storage, { peers: [1n] }));
  rn.campaign();
  const rd = rn.ready();
  rn.propose(enc('during'));
  assert.is(rn.hasReady(), false, 'nothing new is offered while a Ready is outstanding');
  assert.throws(() => rn.ready(), (e: unknown) => e instanceof ErrRaftInvariant);
  storage.append(rd.entries);
  storage.setHardState(rd.hardState!);
  rn.advance(rd);
  assert.throws(() => rn.advance(), (e: unknown) => e instanceof ErrRaftInvariant);
  assert.ok(rn.hasReady());
  const rd2 = handle(rn, storage);
  assert.equal(rd2.entries.map((e) => dec(e.data)), ['during']);
  assert.equal(rd2.committedEntries.map((e) => e.index), [2]);
});

test('restart from persisted hard state and entries resumes term and commit without re-delivering applied entries', () => {
  const { rn, storage, applied } = newLeader();
  for (const s of ['a', 'b', 'c']) rn.propose(enc(s));
  drain(rn, storage, applied);
  assert.equal(storage.initialState().hardState, { term: 1, vote: 1n, commit: 4 });

  // Restart with the state machine having applied up to 3.
  const rn2 = new RawNode(config(storage, { peers: [1n], applied: 3 }));
  const st = rn2.status();
  assert.is(st.term, 1);
  assert.is(st.commit, 4);
  assert.is(st.applied, 3);
  assert.is(st.raftState, StateType.Follower);
  const applied2: Entry[] = [];
  const rds = drain(rn2, storage, applied2);
  assert.equal(applied2.map((e) => dec(e.data)), ['c'], 'only the unapplied committed entry');
  assert.ok(rds.every((rd) => rd.hardState === undefined), 'hard state unchanged');

  rn2.campaign();
  drain(rn2, storage, applied2);
  assert.is(rn2.status().raftState, StateType.Leader);
  assert.is(rn2.status().term, 2);
  assert.equal(applied2.map((e) => [e.index, e.term]), [[4, 1], [5, 2]]);
  rn2.propose(enc('d'));
  const rd = handle(rn2, storage, applied2);
  assert.equal(rd.committedEntries.map((e) => [e.index, e.term, dec(e.data)]), [[6, 2, 'd']]);
});

test('restart with applied equal to commit delivers nothing; without applied it re-delivers everything', () => {
  const { rn, storage, applied } = newLeader();
  rn.propose(enc('a'));
  drain(rn, storage, applied);
  const rn2 = new RawNode(config(storage, { peers: [1n], applied: 2 }));
  assert.is(rn2.hasReady(), false);
  const rn3 = new RawNode(config(storage, { peers: [1n] }));
  const again: Entry[] = [];
  drain(rn3, storage, again);
  assert.equal(again.map((e) => e.index), [1, 2]);
});

test('restart from a snapshot takes the configuration from it and starts after it', () => {
  const { rn, storage, applied } = newLeader();
  for (const s of ['a', 'b', 'c', 'd']) rn.propose(enc(s));
  drain(rn, storage, applied);
  storage.createSnapshot(3, { voters: [1n], learners: [] }, enc('state@3'));
  storage.compact(3);
  assert.is(storage.firstIndex(), 4);

  assert.throws(() => new RawNode(config(storage, { peers: [1n, 2n], applied: 3 })), /differ/);
  // Repeating the same peers is allowed.
  new RawNode(config(storage, { peers: [1n], applied: 3 }));
  const rn2 = new RawNode(config(storage, { applied: 3 }));
  const st = rn2.status();
  assert.equal(st.config, { voters: [1n], learners: [] });
  assert.is(st.commit, 5);
  const applied2: Entry[] = [];
  drain(rn2, storage, applied2);
  assert.equal(applied2.map((e) => dec(e.data)), ['c', 'd']);
  rn2.campaign();
  rn2.propose(enc('e'));
  drain(rn2, storage, applied2);
  assert.equal(applied2.map((e) => [e.index, e.term]), [[4, 1], [5, 1], [6, 2], [7, 2]]);
});

test('applied outside [snapshot index, commit] is rejected at start', () => {
  const { rn, storage } = newLeader();
  rn.propose(enc('a'));
  drain(rn, storage);
  assert.throws(() => new RawNode(config(storage, { peers: [1n], applied: 9 })), /applied/);
  storage.createSnapshot(2, { voters: [1n], learners: [] }, enc(''));
  storage.compact(2);
  assert.throws(() => new RawNode(config(storage, { applied: 1 })), /snapshot/);
});

test('a corrupted hard state (commit beyond the log) refuses to start', () => {
  const storage = new MemoryStorage();
  storage.setHardState({ term: 3, vote: 1n, commit: 5 });
  assert.throws(() => new RawNode(config(storage, { peers: [1n] })), (e: unknown) => e instanceof ErrRaftInvariant);
});

test('bootstrap writes committed AddNode entries and the node then elects itself', () => {
  const storage = new MemoryStorage();
  const rn = new RawNode(config(storage));
  rn.bootstrap([{ id: 1n, context: enc('{"name":"n1"}') }]);
  const applied: Entry[] = [];
  const rd = handle(rn, storage, applied);
  assert.equal(rd.hardState, { term: 1, vote: 0n, commit: 1 });
  assert.is(rd.entries.length, 1);
  assert.is(rd.entries[0]!.type, EntryType.ConfChange);
  const cc = decodeConfChange(rd.committedEntries[0]!.data);
  assert.is(cc.type, ConfChangeType.AddNode);
  assert.is(cc.nodeId, 1n);
  assert.is(dec(cc.context), '{"name":"n1"}');
  assert.equal(rn.applyConfChange(cc), { voters: [1n], learners: [] });
  rn.campaign();
  rn.propose(enc('x'));
  drain(rn, storage, applied);
  assert.is(rn.status().raftState, StateType.Leader);
  assert.is(rn.status().term, 2);
  assert.equal(applied.map((e) => e.index), [1, 2, 3]);
  assert.throws(() => new RawNode(config(storage)).bootstrap([{ id: 1n }]), /nonempty/);
});

test('a restarted leader keeps serving after log compaction', () => {
  const { rn, storage, applied } = newLeader();
  for (let i = 0; i < 50; i++) {
    rn.propose(enc(`v${i}`));
    drain(rn, storage, applied);
    if (i % 10 === 9) {
      const idx = applied[applied.length - 1]!.index;
      storage.createSnapshot(idx, rn.status().config, enc(`snap@${idx}`));
      storage.compact(idx - 2);
    }
  }
  assert.is(applied.length, 51);
  assert.is(rn.status().commit, 51);
  rn.readIndex(enc('r'));
  const rd = handle(rn, storage);
  assert.equal(rd.readStates.map((r) => r.index), [51]);
});

test('hard state is only emitted when it changes and mustSync follows term/vote/entries', () => {
  const { rn, storage } = newLeader();
  for (let i = 0; i < 30; i++) rn.tick();
  assert.is(rn.hasReady(), false, 'a lone leader has nobody to heartbeat');
  assert.is(rn.status().raftState, StateType.Leader);
  rn.propose(enc('a'));
  const rd = handle(rn, storage);
  assert.equal(rd.hardState, { term: 1, vote: 1n, commit: 2 });
});

test('MemoryStorage: entries, term, compact, snapshot and their errors', () => {
  const s = new MemoryStorage();
  const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(10) });
  assert.is(s.firstIndex(), 1);
  assert.is(s.lastIndex(), 0);
  assert.throws(() => s.entries(1, 1, 100), (e: unknown) => e instanceof ErrUnavailable);
  s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
  assert.is(s.lastIndex(), 4);
  assert.is(s.term(3), 2);
  assert.throws(() => s.term(5), (e: unknown) => e instanceof ErrUnavailable);
  assert.equal(s.entries(2, 5, Number.MAX_SAFE_INTEGER).map((e) => e.index), [2, 3, 4]);
  assert.equal(s.entries(2, 5, 1).map((e) => e.index), [2], 'at least one entry');
  // Overlapping append truncates the conflicting suffix.
  s.append([ent(3, 3)]);
  assert.is(s.lastIndex(), 3);
  assert.is(s.term(3), 3);
  assert.throws(() => s.append([ent(6, 3)]), (e: unknown) => e instanceof ErrRaftInvariant);
  s.append([ent(4, 3), ent(5, 3)]);
  s.createSnapshot(4, { voters: [1n], learners: [] }, enc('s'));
  assert.throws(() => s.createSnapshot(3, undefined, enc('')), (e: unknown) => e instanceof ErrSnapOutOfDate);
  s.compact(4);
  assert.is(s.firstIndex(), 5);
  assert.is(s.term(4), 3, 'the compacted index keeps its term');
  assert.throws(() => s.term(3), (e: unknown) => e instanceof ErrCompacted);
  assert.throws(() => s.entries(4, 6, 100), (e: unknown) => e instanceof ErrCompacted);
  assert.throws(() => s.compact(4), (e: unknown) => e instanceof ErrCompacted);
  // Appending entries that are partly compacted keeps only the new part.
  s.append([ent(4, 3), ent(5, 3), ent(6, 3)]);
  assert.is(s.lastIndex(), 6);
  assert.throws(
    () => s.applySnapshot({ metadata: { index: 4, term: 3, confState: { voters: [1n], learners: [] } }, data: enc('') }),
    (e: unknown) => e instanceof ErrSnapOutOfDate,
  );
  s.applySnapshot({ metadata: { index: 10, term: 5, confState: { voters: [1n, 2n], learners: [] } }, data: enc('x') });
  assert.is(s.firstIndex(), 11);
  assert.is(s.lastIndex(), 10);
  assert.is(s.term(10), 5);
  assert.equal(s.initialState().confState, { voters: [1n, 2n], learners: [] });
});

test.run();
