/**
 * Leadership transfer (dissertation §3.10): MsgTransferLeader, catching the
 * transferee up, MsgTimeoutNow, and aborting after an election timeout.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrProposalDropped } from '../src/raft/errors.js';
import { MessageType, None, StateType } from '../src/raft/types.js';
import type { NodeId } from '../src/raft/types.js';
import { Cluster, enc } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];

test('transfer to an up-to-date follower: it campaigns at once and wins the next term', () => {
  for (const preVote of [false, true]) {
    const c = new Cluster(ids3, { preVote, checkQuorum: true });
    c.campaign(1n);
    c.propose(1n, 'x');
    c.traceMessages = true;
    c.rn(1n).transferLeader(2n);
    c.stabilize();
    assert.ok(c.delivered.some((m) => m.type === MessageType.MsgTimeoutNow && m.to === 2n));
    assert.is(c.state(2n), StateType.Leader, `preVote ${preVote}`);
    assert.is(c.term(2n), 2);
    assert.is(c.state(1n), StateType.Follower);
    assert.is(c.rn(1n).status().lead, 2n);
    c.propose(2n, 'y');
    for (const id of ids3) assert.equal(c.appliedData(id), ['x', 'y']);
  }
});

test('transfer to a lagging follower first brings its log up to date', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  for (let i = 0; i < 5; i++) c.propose(1n, `v${i}`);
  c.heal();
  c.traceMessages = true;
  c.rn(1n).transferLeader(3n);
  c.stabilize();
  const timeoutNow = c.delivered.findIndex((m) => m.type === MessageType.MsgTimeoutNow);
  const lastApp = c.delivered.findIndex((m) => m.type === MessageType.MsgApp && m.to === 3n);
  assert.ok(lastApp >= 0 && timeoutNow > lastApp, 'entries before MsgTimeoutNow');
  assert.is(c.state(3n), StateType.Leader);
  assert.equal(c.appliedData(3n), ['v0', 'v1', 'v2', 'v3', 'v4']);
});

test('proposals are dropped during a transfer; an unfinished transfer is abandoned after an election timeout', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  c.rn(1n).transferLeader(3n);
  c.stabilize();
  assert.is(c.rn(1n).status().leadTransferee, 3n);
  assert.throws(() => c.rn(1n).propose(enc('x')), (e: unknown) => e instanceof ErrProposalDropped);
  c.tick(1n, 10);
  assert.is(c.rn(1n).status().leadTransferee, None);
  assert.is(c.state(1n), StateType.Leader);
  c.propose(1n, 'x');
  assert.equal(c.appliedData(2n), ['x']);
});

test('transfer to itself, to a learner or to a non-member is ignored', () => {
  const c = new Cluster([1n, 2n, 3n], { learners: [3n] });
  c.campaign(1n);
  for (const to of [1n, 3n, 9n]) {
    c.rn(1n).transferLeader(to);
    c.stabilize();
    assert.is(c.rn(1n).status().leadTransferee, None, `to ${to}`);
    assert.is(c.state(1n), StateType.Leader);
  }
});

test('a transfer requested on a follower is forwarded to the leader', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.rn(3n).transferLeader(2n);
  c.stabilize();
  assert.is(c.state(2n), StateType.Leader);
});

test('a second transfer to another member replaces the first', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  c.rn(1n).transferLeader(3n);
  c.stabilize();
  c.rn(1n).transferLeader(2n);
  c.stabilize();
  assert.is(c.state(2n), StateType.Leader);
});

test.run();
