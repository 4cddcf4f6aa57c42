/**
 * Elections beyond the basic paper rules: pre-vote (dissertation §9.6),
 * check-quorum and leader leases, stuck candidates, learners.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newMessage } from '../src/raft/message.js';
import { MessageType, None, StateType } from '../src/raft/types.js';
import type { NodeId } from '../src/raft/types.js';
import { Cluster, TestNode, storageWith } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];

test('pre-vote: an isolated member keeps its term, and does not disrupt the leader when it returns', () => {
  const c = new Cluster(ids3, { preVote: true });
  c.campaign(1n);
  assert.is(c.term(1n), 1);
  c.isolate(3n);
  c.tick(3n, 100);
  assert.is(c.term(3n), 1, 'pre-votes do not increase the term');
  assert.is(c.state(3n), StateType.PreCandidate);
  c.heal();
  c.tickAll(5);
  assert.is(c.state(1n), StateType.Leader);
  assert.is(c.term(1n), 1);
  assert.is(c.state(3n), StateType.Follower);
  assert.is(c.rn(3n).status().lead, 1n);
});

test('without pre-vote the returning member bumps the term and forces a new election', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  c.tick(3n, 100);
  assert.ok(c.term(3n) > 2);
  const t3 = c.term(3n);
  c.heal();
  c.tickAll(60);
  assert.ok(c.term(1n) >= t3, 'the cluster moved to the disrupting term');
  assert.is(c.leaders().length, 1);
});

test('pre-vote requests change neither the term nor the vote of the voter', () => {
  const n = new TestNode(1n, { peers: ids3, preVote: true, storage: storageWith([1], { term: 1, vote: 2n, commit: 1 }) });
  const out = n.step(newMessage({ type: MessageType.MsgPreVote, from: 3n, to: 1n, term: 2, index: 1, logTerm: 1 }));
  assert.is(out.length, 1);
  assert.is(out[0]!.type, MessageType.MsgPreVoteResp);
  assert.is(out[0]!.reject, false);
  assert.is(out[0]!.term, 2, 'a granted pre-vote answers in the proposed term');
  assert.is(n.status.term, 1);
  assert.is(n.status.vote, 2n);
  assert.equal(n.storage.initialState().hardState, { term: 1, vote: 2n, commit: 1 });
});

test('pre-vote with a stale log is rejected and the pre-candidate falls back to follower in its own term', () => {
  const n = new TestNode(1n, { peers: ids3, preVote: true, storage: storageWith([1], { term: 1, vote: None, commit: 1 }) });
  n.rn.campaign();
  const out = n.msgs();
  assert.equal(
    out.map((m) => [m.type, m.to, m.term, m.index, m.logTerm]),
    [
      [MessageType.MsgPreVote, 2n, 2, 1, 1],
      [MessageType.MsgPreVote, 3n, 2, 1, 1],
    ],
  );
  assert.is(n.status.raftState, StateType.PreCandidate);
  assert.is(n.status.term, 1);
  for (const from of [2n, 3n]) n.step(newMessage({ type: MessageType.MsgPreVoteResp, from, to: 1n, term: 1, reject: true }));
  assert.is(n.status.raftState, StateType.Follower);
  assert.is(n.status.term, 1);
});

test('a pre-candidate that wins the pre-vote campaigns for real in the next term', () => {
  const n = new TestNode(1n, { peers: ids3, preVote: true });
  n.rn.campaign();
  n.msgs();
  const out = n.step(newMessage({ type: MessageType.MsgPreVoteResp, from: 2n, to: 1n, term: 1 }));
  assert.is(n.status.raftState, StateType.Candidate);
  assert.is(n.status.term, 1);
  assert.equal(out.map((m) => [m.type, m.to, m.term]), [
    [MessageType.MsgVote, 2n, 1],
    [MessageType.MsgVote, 3n, 1],
  ]);
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 3n, to: 1n, term: 1 }));
  assert.is(n.status.raftState, StateType.Leader);
});

test('a stale pre-vote (lower term) is rejected with the current term so the sender catches up', () => {
  const n = new TestNode(1n, { peers: ids3, preVote: true, storage: storageWith([1, 3], { term: 5, vote: None, commit: 0 }) });
  const out = n.step(newMessage({ type: MessageType.MsgPreVote, from: 2n, to: 1n, term: 3, index: 9, logTerm: 3 }));
  assert.equal(out.map((m) => [m.type, m.term, m.reject]), [[MessageType.MsgPreVoteResp, 5, true]]);
});

test('a stale vote request is rejected with the current term, and the candidate steps down to it', () => {
  const n = new TestNode(1n, { peers: ids3, storage: storageWith([1], { term: 5, vote: None, commit: 1 }) });
  const out = n.step(newMessage({ type: MessageType.MsgVote, from: 2n, to: 1n, term: 3, index: 9, logTerm: 3 }));
  assert.equal(out.map((m) => [m.type, m.term, m.reject]), [[MessageType.MsgVoteResp, 5, true]]);
  const cand = new TestNode(2n, { peers: ids3, storage: storageWith([1], { term: 2, vote: None, commit: 1 }) });
  cand.rn.campaign();
  cand.msgs();
  cand.step(out[0]!);
  assert.is(cand.status.raftState, StateType.Follower);
  assert.is(cand.status.term, 5);
});

test('check-quorum: a leader that loses contact with a quorum steps down after an election timeout', () => {
  const c = new Cluster(ids3, { checkQuorum: true });
  c.campaign(1n);
  c.tickAll(25);
  assert.is(c.state(1n), StateType.Leader, 'a leader in contact with its quorum stays');
  c.isolate(1n);
  c.tick(1n, 9);
  assert.is(c.state(1n), StateType.Leader);
  c.tick(1n, 11);
  assert.is(c.state(1n), StateType.Follower);
  assert.is(c.term(1n), 1, 'stepping down does not change the term');
});

test('check-quorum lease: followers that hear from a leader ignore votes from a higher-term candidate', () => {
  const c = new Cluster(ids3, { checkQuorum: true });
  c.campaign(1n);
  c.tickAll(2);
  // Node 3 campaigns while the leader is healthy.
  c.rn(3n).campaign();
  c.stabilize();
  assert.is(c.state(1n), StateType.Leader, 'the leader was not deposed');
  assert.is(c.term(2n), 1, 'node 2 ignored the vote request');
  assert.is(c.state(3n), StateType.Candidate);
});

test('check-quorum frees a stuck candidate: its higher term reaches the leader through a heartbeat response', () => {
  const c = new Cluster(ids3, { checkQuorum: true });
  c.campaign(1n);
  c.isolate(3n);
  c.tick(3n, 50);
  const stuck = c.term(3n);
  assert.ok(stuck > 1);
  c.heal();
  // The leader's heartbeat is answered (MsgAppResp at the higher term): the leader steps down.
  c.tickAll(1);
  assert.ok(c.term(1n) >= stuck);
  c.tickAll(60);
  assert.is(c.leaders().length, 1);
  const leader = c.leaders()[0]!;
  c.propose(leader, 'x');
  for (const id of ids3) assert.equal(c.appliedData(id), ['x']);
});

test('a learner never campaigns, and learner votes do not count', () => {
  const c = new Cluster([1n, 2n, 3n], { learners: [3n] });
  c.tick(3n, 100);
  assert.is(c.state(3n), StateType.Follower);
  assert.is(c.term(3n), 0);
  // Node 1 campaigns; only node 2 (a voter) can make it win.
  c.isolate(2n);
  c.campaign(1n);
  assert.is(c.state(1n), StateType.Candidate, 'the learner granted its vote, which does not count');
  c.heal();
  c.campaign(1n);
  assert.is(c.state(1n), StateType.Leader);
});

test('a candidate ignores vote responses from earlier terms', () => {
  const n = new TestNode(1n, { peers: [1n, 2n, 3n, 4n, 5n] });
  n.rn.campaign();
  n.msgs();
  n.rn.campaign();
  n.msgs();
  assert.is(n.status.term, 2);
  for (const from of [2n, 3n]) n.step(newMessage({ type: MessageType.MsgVoteResp, from, to: 1n, term: 1 }));
  assert.is(n.status.raftState, StateType.Candidate);
  for (const from of [2n, 3n]) n.step(newMessage({ type: MessageType.MsgVoteResp, from, to: 1n, term: 2 }));
  assert.is(n.status.raftState, StateType.Leader);
});

test('a duplicated vote from the same voter is counted once', () => {
  const n = new TestNode(1n, { peers: [1n, 2n, 3n, 4n, 5n] });
  n.rn.campaign();
  n.msgs();
  for (let i = 0; i < 3; i++) n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  assert.is(n.status.raftState, StateType.Candidate);
});

test('a member restarted with entries but a lost hard state adopts the term of its log', () => {
  const n = new TestNode(1n, { peers: ids3, storage: storageWith([1, 3]) });
  assert.is(n.status.term, 3);
  assert.is(n.status.vote, None);
});

test.run();
