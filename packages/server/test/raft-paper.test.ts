/**
 * One test per claim of the Raft paper (§5), in the style of etcd's
 * raft_paper_test: each drives a member with explicit messages and checks its
 * state and the messages it sends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newMessage } from '../src/raft/message.js';
import { MessageType, None, StateType } from '../src/raft/types.js';
import type { Message, NodeId } from '../src/raft/types.js';
import { Cluster, TestNode, dec, enc, entriesWithTerms, storageWith } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];

function types(ms: readonly Message[]): string[] {
  return ms.map((m) => `${m.type}:${m.from}->${m.to}`);
}

/** Makes node 1 (of `peers`) leader of term 1 with votes from the given peers. */
function leaderOf(peers: readonly NodeId[], opts: ConstructorParameters<typeof TestNode>[1] = { peers }): TestNode {
  const n = new TestNode(1n, opts);
  n.rn.campaign();
  n.msgs();
  const term = n.status.term;
  for (const p of peers) {
    if (p === 1n || n.status.raftState === StateType.Leader) continue;
    n.step(newMessage({ type: MessageType.MsgVoteResp, from: p, to: 1n, term }));
  }
  assert.is(n.status.raftState, StateType.Leader);
  return n;
}

/** Acknowledges the leader's log on every follower so that all Progress is in StateReplicate. */
function ackAll(n: TestNode, peers: readonly NodeId[]): Message[] {
  const out: Message[] = [];
  for (const p of peers) {
    if (p === n.id) continue;
    out.push(...n.step(newMessage({ type: MessageType.MsgAppResp, from: p, to: n.id, term: n.status.term, index: n.status.lastIndex })));
  }
  return out;
}

test('§5.1 a message with a higher term turns follower, candidate, pre-candidate and leader into followers of that term', () => {
  const make = (state: StateType): TestNode => {
    if (state === StateType.Leader) return leaderOf(ids3);
    const n = new TestNode(1n, { peers: ids3, preVote: state === StateType.PreCandidate });
    if (state !== StateType.Follower) {
      n.rn.campaign();
      n.msgs();
    }
    assert.is(n.status.raftState, state);
    return n;
  };
  for (const state of [StateType.Follower, StateType.Candidate, StateType.PreCandidate, StateType.Leader]) {
    const n = make(state);
    const term = n.status.term + 2;
    n.step(newMessage({ type: MessageType.MsgApp, from: 2n, to: 1n, term, index: 0, logTerm: 0 }));
    const st = n.status;
    assert.is(st.raftState, StateType.Follower, `state ${state}`);
    assert.is(st.term, term);
    assert.is(st.lead, 2n);
    assert.is(n.storage.initialState().hardState.term, term, 'the new term is persisted');
  }
});

test('§5.1 a message with a stale term is ignored', () => {
  const n = new TestNode(1n, { peers: ids3, storage: storageWith([1, 2], { term: 3, vote: None, commit: 0 }) });
  const out = n.step(
    newMessage({ type: MessageType.MsgApp, from: 2n, to: 1n, term: 2, index: 2, logTerm: 2, entries: entriesWithTerms([2], 3) }),
  );
  assert.equal(out, []);
  assert.is(n.status.term, 3);
  assert.is(n.status.lastIndex, 2);
  assert.is(n.status.lead, None);
});

test('§5.2 members start as followers', () => {
  const n = new TestNode(1n, { peers: ids3 });
  assert.is(n.status.raftState, StateType.Follower);
  assert.is(n.status.term, 0);
});

test('§5.2 a leader sends heartbeats to every follower each heartbeat timeout', () => {
  const n = leaderOf(ids3, { peers: ids3, heartbeatTick: 2 });
  n.msgs();
  assert.equal(n.tick(), [], 'nothing before the heartbeat timeout');
  const hb = n.tick();
  assert.equal(types(hb), [`${MessageType.MsgHeartbeat}:1->2`, `${MessageType.MsgHeartbeat}:1->3`]);
  for (const m of hb) assert.is(m.term, 1);
});

test('§5.2 a follower (and a candidate) starts an election when its election timeout elapses', () => {
  const n = new TestNode(1n, { peers: ids3 });
  let out: Message[] = [];
  for (let i = 0; i < 20 && n.status.raftState === StateType.Follower; i++) out = n.tick();
  let st = n.status;
  assert.is(st.raftState, StateType.Candidate);
  assert.is(st.term, 1);
  assert.is(st.vote, 1n, 'votes for itself');
  assert.equal(types(out), [`${MessageType.MsgVote}:1->2`, `${MessageType.MsgVote}:1->3`]);
  for (const m of out) {
    assert.is(m.term, 1);
    assert.is(m.index, 0);
    assert.is(m.logTerm, 0);
  }
  // A candidate that neither wins nor loses starts a new election.
  for (let i = 0; i < 20 && n.status.term === 1; i++) out = n.tick();
  st = n.status;
  assert.is(st.raftState, StateType.Candidate);
  assert.is(st.term, 2);
  assert.equal(types(out), [`${MessageType.MsgVote}:1->2`, `${MessageType.MsgVote}:1->3`]);
});

test('§5.2 a candidate wins with a majority of votes, loses with a majority of rejections, else waits', () => {
  const cases: Array<[number, Record<string, boolean>, StateType]> = [
    [1, {}, StateType.Leader],
    [3, { 2: true }, StateType.Leader],
    [3, { 2: true, 3: true }, StateType.Leader],
    [3, { 2: false }, StateType.Candidate],
    [3, { 2: false, 3: false }, StateType.Follower],
    [5, { 2: true }, StateType.Candidate],
    [5, { 2: true, 3: true }, StateType.Leader],
    [5, { 2: false, 3: false }, StateType.Candidate],
    [5, { 2: false, 3: false, 4: false }, StateType.Follower],
    [5, { 2: true, 3: false, 4: false, 5: true }, StateType.Leader],
  ];
  for (const [size, votes, want] of cases) {
    const peers = Array.from({ length: size }, (_, i) => BigInt(i + 1));
    const n = new TestNode(1n, { peers });
    n.rn.campaign();
    n.msgs();
    for (const [id, granted] of Object.entries(votes)) {
      if (n.status.raftState !== StateType.Candidate) break;
      n.step(newMessage({ type: MessageType.MsgVoteResp, from: BigInt(id), to: 1n, term: 1, reject: !granted }));
    }
    assert.is(n.status.raftState, want, `size ${size} votes ${JSON.stringify(votes)}`);
    assert.is(n.status.term, 1);
  }
});

test('§5.2 a member grants at most one vote per term, first come first served', () => {
  const n = new TestNode(1n, { peers: ids3 });
  const vote = (from: NodeId): Message => {
    const out = n.step(newMessage({ type: MessageType.MsgVote, from, to: 1n, term: 1, index: 0, logTerm: 0 }));
    assert.is(out.length, 1);
    assert.is(out[0]!.type, MessageType.MsgVoteResp);
    return out[0]!;
  };
  assert.is(vote(2n).reject, false);
  assert.is(n.storage.initialState().hardState.vote, 2n, 'the vote is persisted before the response is sent');
  assert.is(vote(3n).reject, true);
  assert.is(vote(2n).reject, false, 'a repeated request from the same candidate is granted again');
});

test('§5.2 a candidate that hears from a leader of its term becomes a follower', () => {
  for (const type of [MessageType.MsgApp, MessageType.MsgHeartbeat]) {
    const n = new TestNode(1n, { peers: ids3 });
    n.rn.campaign();
    n.msgs();
    n.step(newMessage({ type, from: 2n, to: 1n, term: 1 }));
    assert.is(n.status.raftState, StateType.Follower);
    assert.is(n.status.term, 1);
    assert.is(n.status.lead, 2n);
  }
});

test('§5.2 election timeouts are randomized in [electionTick, 2*electionTick)', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const n = new TestNode(1n, { peers: ids3, seed });
    let ticks = 0;
    while (n.status.raftState === StateType.Follower) {
      n.tick();
      ticks++;
      assert.ok(ticks < 20);
    }
    assert.ok(ticks >= 10);
    seen.add(ticks);
  }
  assert.is(seen.size, 10, 'every value of the range occurs');
});

test('§5.3 the leader appends a proposal to its log and sends it to every follower', () => {
  const n = leaderOf(ids3);
  ackAll(n, ids3);
  n.msgs();
  n.rn.propose(enc('x'));
  const out = n.msgs();
  assert.equal(types(out), [`${MessageType.MsgApp}:1->2`, `${MessageType.MsgApp}:1->3`]);
  for (const m of out) {
    assert.is(m.index, 1);
    assert.is(m.logTerm, 1);
    assert.is(m.commit, 1);
    assert.equal(m.entries.map((e) => [e.index, e.term, dec(e.data)]), [[2, 1, 'x']]);
  }
  assert.equal(n.logTerms(), [1, 1], 'persisted before the messages are handed out');
});

test('§5.3 the leader commits an entry once a majority stores it, and tells the followers', () => {
  const n = leaderOf(ids3);
  ackAll(n, ids3);
  n.msgs();
  n.rn.propose(enc('x'));
  n.msgs();
  assert.is(n.status.commit, 1);
  const out = n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 2 }));
  assert.is(n.status.commit, 2);
  assert.equal(n.committed.map((e) => e.index), [1, 2]);
  const apps = out.filter((m) => m.type === MessageType.MsgApp);
  assert.equal(apps.map((m) => [m.to, m.commit]), [[2n, 2], [3n, 2]]);
});

test('§5.3 an entry commits only when a majority of voters stores it', () => {
  const cases: Array<[number, number, boolean]> = [
    [1, 0, true],
    [3, 0, false],
    [3, 1, true],
    [3, 2, true],
    [5, 1, false],
    [5, 2, true],
    [5, 4, true],
  ];
  for (const [size, acks, committed] of cases) {
    const peers = Array.from({ length: size }, (_, i) => BigInt(i + 1));
    const n = leaderOf(peers);
    ackAll(n, peers);
    n.msgs();
    n.rn.propose(enc('x'));
    n.msgs();
    for (let i = 0; i < acks; i++) {
      n.step(newMessage({ type: MessageType.MsgAppResp, from: BigInt(i + 2), to: 1n, term: 1, index: 2 }));
    }
    assert.is(n.status.commit === 2, committed, `size ${size} acks ${acks}`);
  }
});

test('§5.3 a follower applies entries up to the commit index the leader sends', () => {
  const n = new TestNode(2n, { peers: ids3 });
  n.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, entries: entriesWithTerms([1, 1, 1]), commit: 2 }));
  assert.equal(n.committed.map((e) => e.index), [1, 2]);
  n.step(newMessage({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, commit: 3 }));
  assert.equal(n.committed.map((e) => e.index), [1, 2, 3]);
});

test('§5.3 a follower rejects an append whose previous entry does not match, hinting its last index', () => {
  const cases: Array<[number, number, boolean]> = [
    [0, 0, true],
    [1, 1, true],
    [2, 2, true],
    [2, 1, false],
    [3, 2, false],
    [3, 3, false],
  ];
  for (const [index, logTerm, ok] of cases) {
    const n = new TestNode(2n, { peers: ids3, storage: storageWith([1, 2], { term: 2, vote: None, commit: 0 }) });
    const out = n.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 2, index, logTerm, entries: [] }));
    assert.is(out.length, 1);
    const resp = out[0]!;
    assert.is(resp.type, MessageType.MsgAppResp);
    assert.is(resp.reject, !ok, `index ${index} logTerm ${logTerm}`);
    if (!ok) {
      assert.is(resp.index, index);
      assert.is(resp.rejectHint, 2);
    }
  }
});

test('§5.3 a follower deletes a conflicting suffix and keeps matching entries', () => {
  const run = (ents: ReturnType<typeof entriesWithTerms>, index: number, logTerm: number): number[] => {
    const n = new TestNode(2n, { peers: ids3, storage: storageWith([1, 2, 2], { term: 3, vote: None, commit: 1 }) });
    n.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 3, index, logTerm, entries: ents }));
    return n.logTerms();
  };
  assert.equal(run(entriesWithTerms([3, 3], 2), 1, 1), [1, 3, 3]);
  assert.equal(run(entriesWithTerms([2], 2), 1, 1), [1, 2, 2], 'an already present entry truncates nothing');
  assert.equal(run(entriesWithTerms([3], 3), 2, 2), [1, 2, 3]);
  assert.equal(run(entriesWithTerms([2, 3], 3), 2, 2), [1, 2, 2, 3]);
});

test('§5.3 Figure 7: a new leader brings every follower log to its own', () => {
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6],
    [1, 1, 1, 4],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    [1, 1, 1, 4, 4, 4, 4],
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  ];
  for (const f of followers) {
    const storages = new Map([
      [1n, storageWith(leaderLog, { term: 8, vote: None, commit: leaderLog.length })],
      [2n, storageWith(f, { term: 7, vote: None, commit: 0 })],
    ]);
    const c = new Cluster(ids3, { storages });
    c.node(3n).crash();
    c.rn(1n).campaign();
    c.processAll();
    // The election takes place in term 9; the down member's vote is injected.
    c.rn(1n).step(newMessage({ type: MessageType.MsgVoteResp, from: 3n, to: 1n, term: 9 }));
    c.stabilize();
    assert.is(c.state(1n), StateType.Leader, `follower log ${f}`);
    c.propose(1n, 'x');
    const want = [...leaderLog, 9, 9];
    assert.equal(c.node(1n).storage.lastIndex(), want.length);
    const terms = (id: NodeId): number[] => {
      const s = c.node(id).storage;
      const out: number[] = [];
      for (let i = 1; i <= s.lastIndex(); i++) out.push(s.term(i));
      return out;
    };
    assert.equal(terms(1n), want);
    assert.equal(terms(2n), want, `follower log ${f}`);
  }
});

test('§5.4.1 a vote is granted only to candidates whose log is at least as up-to-date', () => {
  // Voter log: [1@1, 2@2].
  const cases: Array<[number, number, boolean]> = [
    [2, 2, true],
    [3, 2, true],
    [1, 2, false],
    [5, 1, false],
    [1, 3, true],
    [0, 0, false],
  ];
  for (const [index, logTerm, granted] of cases) {
    for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
      const n = new TestNode(1n, { peers: ids3, storage: storageWith([1, 2], { term: 2, vote: None, commit: 0 }) });
      const out = n.step(newMessage({ type, from: 2n, to: 1n, term: 3, index, logTerm }));
      assert.is(out.length, 1);
      assert.is(out[0]!.reject, !granted, `type ${type} candidate last ${index}@${logTerm}`);
    }
  }
});

test('§5.4.2 a leader commits entries of earlier terms only by committing one of its own term', () => {
  // Leader-to-be has [1@1, 2@2] (2 uncommitted) and is elected in term 3.
  const n = new TestNode(1n, { peers: ids3, storage: storageWith([1, 2], { term: 2, vote: None, commit: 1 }) });
  n.rn.campaign();
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 3 }));
  assert.is(n.status.raftState, StateType.Leader);
  assert.is(n.status.lastIndex, 3, 'empty entry of term 3');
  // A majority stores index 2 (a term-2 entry): not committed by counting.
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 3, index: 2 }));
  assert.is(n.status.commit, 1);
  // Once the term-3 entry is on a majority, everything up to it commits.
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 3, index: 3 }));
  assert.is(n.status.commit, 3);
  assert.equal(n.committed.map((e) => [e.index, e.term]), [[1, 1], [2, 2], [3, 3]]);
});

/**
 * Elects `id`, campaigning again while the election is undecided. With
 * dropAbove set, appends carrying entries of a later term are lost unless the
 * receiver lacks the previous entry (so that it still rejects and gets probed).
 */
function elect(c: Cluster, id: NodeId, dropAbove?: number): void {
  for (let attempt = 0; attempt < 5 && c.state(id) !== StateType.Leader; attempt++) {
    c.rn(id).campaign();
    for (let guard = 0; guard < 1000; guard++) {
      const msgs = c.takeMessages();
      if (msgs.length === 0) break;
      for (const m of msgs) {
        const lost =
          dropAbove !== undefined &&
          m.type === MessageType.MsgApp &&
          m.entries.some((e) => e.term > dropAbove) &&
          c.node(m.to).storage.lastIndex() >= m.index;
        if (!lost) c.deliver(m);
      }
    }
  }
  assert.is(c.state(id), StateType.Leader);
}

test('§5.4.2 Figure 8: an old-term entry stored on a majority is not committed, and may be overwritten', () => {
  const ids5: NodeId[] = [1n, 2n, 3n, 4n, 5n];
  const c = new Cluster(ids5, { maxSizePerMsg: 1 });
  c.campaign(1n);
  c.propose(1n, 'base');
  // (a) S1 leads term 2 and its entry at index 4 reaches only S2.
  c.node(1n).crash();
  c.node(1n).restart();
  elect(c, 1n);
  c.stabilize();
  const t2 = c.term(1n);
  for (const id of [3n, 4n, 5n]) c.isolate(id);
  c.propose(1n, 'old');
  const oldIndex = c.node(1n).storage.lastIndex();
  assert.is(c.node(2n).storage.term(oldIndex), t2);
  // (b) S1 crashes; S5 wins the next term with S3 and S4; its own entry at index 4 stays local.
  c.node(1n).crash();
  c.heal();
  c.isolate(1n);
  c.isolate(2n);
  elect(c, 5n, t2);
  const t3 = c.term(5n);
  assert.is(c.node(5n).storage.term(oldIndex), t3);
  // (c) S5 crashes; S1 restarts and wins with S2 and S3, and copies the term-2 entry to S3:
  // it is now stored on a majority, but the entry of S1's own term is lost.
  c.node(5n).crash();
  c.node(1n).restart();
  c.heal();
  c.isolate(4n);
  c.isolate(5n);
  elect(c, 1n, t2);
  const t4 = c.term(1n);
  for (const id of [1n, 2n, 3n]) assert.is(c.node(id).storage.term(oldIndex), t2, `S${id} stores the old entry`);
  assert.ok(c.rn(1n).status().commit < oldIndex, 'stored on a majority yet not committed (§5.4.2)');
  for (const n of c.nodes.values()) assert.ok(n.sm.applied < oldIndex, 'nobody applied it');
  // (d) S1 crashes again; S5 wins with S2, S3, S4 and overwrites index 4 everywhere.
  c.node(1n).crash();
  c.node(5n).restart();
  c.heal();
  c.isolate(1n);
  elect(c, 5n);
  c.stabilize();
  assert.ok(c.term(5n) > t4);
  c.propose(5n, 'new');
  for (const id of [2n, 3n, 4n, 5n]) {
    assert.is(c.node(id).storage.term(oldIndex), t3, `S${id} has S5's entry`);
    assert.equal(c.appliedData(id), ['base', 'new']);
  }
  // S1 comes back and converges.
  c.node(1n).restart();
  c.heal();
  c.tickAll(3);
  assert.is(c.node(1n).storage.term(oldIndex), t3);
  assert.equal(c.appliedData(1n), ['base', 'new']);
});

test('§5.4.2 Figure 8 (e): once an entry of the leader\'s term is on a majority, the old entry commits and survives', () => {
  const ids5: NodeId[] = [1n, 2n, 3n, 4n, 5n];
  const c = new Cluster(ids5, { maxSizePerMsg: 1 });
  c.campaign(1n);
  const t1 = c.term(1n);
  for (const id of [3n, 4n, 5n]) c.isolate(id);
  c.propose(1n, 'old');
  c.node(1n).crash();
  c.heal();
  c.isolate(1n);
  c.isolate(2n);
  elect(c, 5n, t1);
  c.node(5n).crash();
  c.node(1n).restart();
  c.heal();
  c.isolate(4n);
  c.isolate(5n);
  elect(c, 1n);
  c.stabilize();
  assert.equal(c.appliedData(1n), ['old']);
  assert.equal(c.appliedData(3n), ['old']);
  c.node(1n).crash();
  c.node(5n).restart();
  c.heal();
  c.isolate(1n);
  c.rn(5n).campaign();
  c.stabilize();
  assert.is(c.state(5n) === StateType.Leader, false, 'S5 cannot win: a majority holds a more up-to-date log');
  c.tickAll(60);
  const leaders = c.leaders();
  assert.is(leaders.length, 1);
  assert.ok(leaders[0] === 2n || leaders[0] === 3n);
  c.propose(leaders[0]!, 'after');
  for (const id of [2n, 3n, 4n, 5n]) assert.equal(c.appliedData(id), ['old', 'after']);
});

test.run();
