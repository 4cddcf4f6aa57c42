/**
 * ReadIndex (dissertation §6.4): the leader records its commit index and
 * answers once a heartbeat round carrying the request context proves it was
 * still the leader.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newMessage } from '../src/raft/message.js';
import { ReadOnlyOption } from '../src/raft/read-only.js';
import { MessageType, StateType } from '../src/raft/types.js';
import type { NodeId } from '../src/raft/types.js';
import { Cluster, TestNode, dec, enc } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];

function leader(opts: Partial<ConstructorParameters<typeof TestNode>[1]> = {}): TestNode {
  const n = new TestNode(1n, { peers: ids3, ...opts });
  n.rn.campaign();
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 1 }));
  assert.is(n.status.commit, 1);
  return n;
}

test('the leader confirms leadership with a heartbeat round carrying the context, then answers', () => {
  const n = leader();
  n.rn.readIndex(enc('r1'));
  const out = n.msgs();
  assert.equal(
    out.map((m) => [m.type, m.to, dec(m.context)]),
    [
      [MessageType.MsgHeartbeat, 2n, 'r1'],
      [MessageType.MsgHeartbeat, 3n, 'r1'],
    ],
  );
  assert.equal(n.readStates, [], 'not before a quorum acknowledged');
  // An acknowledgment without the context (a plain heartbeat) does not count.
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 3n, to: 1n, term: 1 }));
  assert.equal(n.readStates, []);
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 3n, to: 1n, term: 1, context: enc('r1') }));
  assert.equal(n.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]), [[1, 'r1']]);
});

test('the read index is the commit index when the request arrived', () => {
  const n = leader();
  n.rn.readIndex(enc('r1'));
  n.msgs();
  n.rn.propose(enc('x'));
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 2 }));
  assert.is(n.status.commit, 2);
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('r1') }));
  assert.equal(n.readStates.map((rs) => rs.index), [1]);
});

test('one acknowledgment confirms every earlier pending request; duplicates are ignored', () => {
  const n = leader();
  for (const ctx of ['a', 'b', 'a', 'c']) n.rn.readIndex(enc(ctx));
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('b') }));
  assert.equal(n.readStates.map((rs) => dec(rs.requestCtx)), ['a', 'b']);
  // The next heartbeat round carries the newest pending context.
  const hb = n.tick();
  assert.ok(hb.every((m) => m.type !== MessageType.MsgHeartbeat || dec(m.context) === 'c'));
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 3n, to: 1n, term: 1, context: enc('c') }));
  assert.equal(n.readStates.map((rs) => dec(rs.requestCtx)), ['a', 'b', 'c']);
});

test('a new leader defers reads until it commits an entry of its own term', () => {
  const n = new TestNode(1n, { peers: ids3 });
  n.rn.campaign();
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  assert.is(n.status.commit, 0);
  n.rn.readIndex(enc('early'));
  assert.equal(n.msgs().filter((m) => m.type === MessageType.MsgHeartbeat), []);
  const out = n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 1 }));
  assert.ok(out.some((m) => m.type === MessageType.MsgHeartbeat && dec(m.context) === 'early'));
  n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('early') }));
  assert.equal(n.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]), [[1, 'early']]);
});

test('a follower forwards the request and gets the answer from the leader', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.propose(1n, 'x');
  c.rn(3n).readIndex(enc('f'));
  c.stabilize();
  const rs = c.node(3n).readStates;
  assert.equal(rs.map((r) => [r.index, dec(r.requestCtx)]), [[2, 'f']]);
  assert.equal(c.node(1n).readStates, []);
});

test('a follower without a leader drops the request', () => {
  const c = new Cluster(ids3);
  c.rn(2n).readIndex(enc('lost'));
  c.stabilize();
  assert.equal(c.node(2n).readStates, []);
});

test('a deposed leader that cannot reach a quorum never answers', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.propose(1n, 'x');
  c.isolate(1n);
  c.campaign(2n);
  c.propose(2n, 'y');
  // The old leader still believes it leads term 1.
  assert.is(c.state(1n), StateType.Leader);
  c.rn(1n).readIndex(enc('stale'));
  c.tick(1n, 5);
  c.heal();
  c.tickAll(3);
  assert.equal(c.node(1n).readStates, [], 'acknowledgments at a higher term never confirm it');
  assert.is(c.state(1n), StateType.Follower);
  c.rn(1n).readIndex(enc('fresh'));
  c.stabilize();
  assert.equal(c.node(1n).readStates.map((r) => [r.index, dec(r.requestCtx)]), [[4, 'fresh']]);
});

test('lease-based reads are answered at once by a leader', () => {
  const n = leader({ checkQuorum: true, extra: { readOnlyOption: ReadOnlyOption.LeaseBased } });
  n.rn.readIndex(enc('l'));
  const out = n.msgs();
  assert.equal(out.filter((m) => m.type === MessageType.MsgHeartbeat), []);
  assert.equal(n.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]), [[1, 'l']]);
});

test.run();
