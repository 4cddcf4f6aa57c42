/**
 * Membership changes one member at a time through ConfChange entries:
 * learners, promotion, removal (also of the leader), the pending-conf-change
 * rule, bootstrap and joining members.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeConfChange, encodeConfChange } from '../src/raft/conf-change-codec.js';
import { ErrConfChangeInvalid } from '../src/raft/errors.js';
import { MemoryStorage } from '../src/raft/memory-storage.js';
import { ConfChangeType, EntryType, MessageType, StateType } from '../src/raft/types.js';
import type { ConfChange, Entry, NodeId } from '../src/raft/types.js';
import { Cluster, TestNode, enc } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];
const cc = (type: ConfChangeType, nodeId: NodeId, id = 0n): ConfChange => ({ type, nodeId, context: new Uint8Array(0), id });

function bootstrapped(): Cluster {
  const c = new Cluster(ids3, { mode: 'bootstrap' });
  c.stabilize();
  c.campaign(1n);
  assert.is(c.state(1n), StateType.Leader);
  return c;
}

test('bootstrap: every member starts from committed AddNode entries and elects a leader', () => {
  const c = bootstrapped();
  assert.is(c.term(1n), 2, 'bootstrap entries are at term 1');
  for (const id of ids3) {
    assert.equal(c.node(id).confState, { voters: ids3, learners: [] });
    assert.equal(c.node(id).applied.slice(0, 3).map((e) => e.type), [EntryType.ConfChange, EntryType.ConfChange, EntryType.ConfChange]);
  }
  c.propose(1n, 'a');
  for (const id of ids3) assert.equal(c.appliedData(id), ['a']);
});

test('a learner joins, receives the log, and does not count towards the quorum until promoted', () => {
  const c = bootstrapped();
  c.propose(1n, 'a');
  c.addNode(4n);
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  c.stabilize();
  c.tickAll(2);
  assert.equal(c.node(4n).confState, { voters: ids3, learners: [4n] });
  assert.equal(c.node(1n).confState, { voters: ids3, learners: [4n] });
  assert.equal(c.appliedData(4n), ['a']);
  // With both other voters away, the learner's acknowledgment does not commit anything.
  c.isolate(2n);
  c.isolate(3n);
  const commit = c.rn(1n).status().commit;
  c.propose(1n, 'b');
  assert.is(c.rn(1n).status().commit, commit);
  assert.is(c.node(4n).storage.lastIndex(), c.node(1n).storage.lastIndex(), 'the learner has the entry');
  c.heal();
  c.tickAll(2);
  assert.equal(c.appliedData(2n), ['a', 'b']);
  // Promotion: now 4 is a voter and counts.
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddNode, 4n));
  c.stabilize();
  assert.equal(c.node(4n).confState, { voters: [1n, 2n, 3n, 4n], learners: [] });
  c.isolate(3n);
  c.propose(1n, 'c');
  assert.equal(c.appliedData(4n), ['a', 'b', 'c'], 'committed by 1, 2 and 4');
  c.isolate(2n);
  const before = c.rn(1n).status().commit;
  c.propose(1n, 'd');
  assert.is(c.rn(1n).status().commit, before, 'two of four voters are not a majority');
});

test('removing a voter shrinks the quorum', () => {
  const c = bootstrapped();
  c.rn(1n).proposeConfChange(cc(ConfChangeType.RemoveNode, 3n));
  c.stabilize();
  assert.equal(c.node(1n).confState, { voters: [1n, 2n], learners: [] });
  c.node(3n).crash();
  c.propose(1n, 'x');
  assert.equal(c.appliedData(2n), ['x']);
});

test('only one conf change may be pending: a second one becomes an empty entry until the first is applied', () => {
  const c = bootstrapped();
  c.addNode(4n);
  c.addNode(5n);
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n));
  c.stabilize();
  const confEntries = c.node(1n).applied.filter((e) => e.type === EntryType.ConfChange).map((e) => decodeConfChange(e.data).nodeId);
  assert.equal(confEntries, [1n, 2n, 3n, 4n]);
  assert.equal(c.node(1n).confState, { voters: ids3, learners: [4n] });
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n));
  c.stabilize();
  assert.equal(c.node(1n).confState, { voters: ids3, learners: [4n, 5n] });
});

test('a removed leader keeps leading until the others know the change, then hands leadership over', () => {
  const c = bootstrapped();
  c.traceMessages = true;
  c.rn(1n).proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
  c.stabilize();
  assert.ok(c.delivered.some((m) => m.type === MessageType.MsgTimeoutNow && m.from === 1n && m.to === 2n));
  assert.equal(c.leaders(), [2n], 'the most up-to-date voter (lowest id on ties) took over at once');
  assert.is(c.state(1n), StateType.Follower);
  assert.equal(c.node(2n).confState, { voters: [2n, 3n], learners: [] });
  c.propose(2n, 'after');
  assert.equal(c.appliedData(2n), ['after']);
  assert.equal(c.appliedData(3n), ['after']);
  c.tick(1n, 100);
  assert.is(c.state(1n), StateType.Follower, 'a removed member never campaigns');
});

test('a removed leader whose MsgTimeoutNow is lost has stepped down; the others elect a leader', () => {
  for (const voters of [[1n, 2n], [1n, 2n, 3n]]) {
    const c = new Cluster(voters, { mode: 'bootstrap' });
    c.stabilize();
    c.campaign(1n);
    c.propose(1n, 'a');
    c.dropType(MessageType.MsgTimeoutNow);
    c.rn(1n).proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
    c.stabilize();
    assert.equal(c.leaders(), [], `voters ${voters}`);
    c.tickAll(40);
    const leaders = c.leaders();
    assert.is(leaders.length, 1);
    assert.ok(leaders[0] !== 1n);
    c.propose(leaders[0]!, 'b');
    for (const id of voters.slice(1)) assert.equal(c.appliedData(id), ['a', 'b']);
  }
});

test('a member does not campaign while a committed conf change is unapplied', () => {
  const storage = new MemoryStorage();
  const ents: Entry[] = [
    { index: 1, term: 1, type: EntryType.ConfChange, data: encodeConfChange(cc(ConfChangeType.AddNode, 1n)) },
    { index: 2, term: 1, type: EntryType.ConfChange, data: encodeConfChange(cc(ConfChangeType.AddNode, 2n)) },
  ];
  storage.append(ents);
  storage.setHardState({ term: 1, vote: 0n, commit: 2 });
  const n = new TestNode(1n, { peers: [1n], storage: (() => {
    storage.createSnapshot(1, { voters: [1n], learners: [] }, enc(''));
    return storage;
  })() });
  n.rn.campaign();
  assert.is(n.status.raftState, StateType.Follower, 'entry 2 is committed but not applied');
  n.msgs();
  assert.equal(n.status.config, { voters: [1n, 2n], learners: [] });
  n.rn.campaign();
  assert.is(n.status.raftState, StateType.Candidate);
});

test('a conf change that removes every voter is refused', () => {
  const n = new TestNode(1n, { peers: [1n] });
  assert.throws(() => n.rn.applyConfChange(cc(ConfChangeType.RemoveNode, 1n)), (e: unknown) => e instanceof ErrConfChangeInvalid);
  assert.throws(() => n.rn.applyConfChange(cc(ConfChangeType.AddLearnerNode, 1n)), (e: unknown) => e instanceof ErrConfChangeInvalid);
  assert.equal(n.status.config, { voters: [1n], learners: [] }, 'unchanged');
});

test('a joining member behind the compacted log is brought up by a snapshot carrying the configuration', () => {
  const c = bootstrapped();
  for (let i = 0; i < 5; i++) c.propose(1n, `v${i}`);
  c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
  c.stabilize();
  const lead = c.node(1n);
  assert.ok(lead.compact(lead.sm.applied));
  c.addNode(4n);
  c.tickAll(3);
  const n4 = c.node(4n);
  assert.is(n4.storage.snapshot().metadata.index, lead.storage.snapshot().metadata.index);
  assert.equal(n4.confState, { voters: ids3, learners: [4n] });
  c.propose(1n, 'x');
  assert.equal(c.appliedData(4n), ['x']);
  assert.is(n4.sm.hash, lead.sm.hash);
});

test('restarted members rebuild their configuration from the snapshot and the replayed conf changes', () => {
  for (const durable of [false, true]) {
    const c = new Cluster(ids3, { mode: 'bootstrap', durableStateMachine: durable });
    c.stabilize();
    c.campaign(1n);
    c.addNode(4n);
    c.rn(1n).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
    c.stabilize();
    c.propose(1n, 'a');
    c.node(2n).compact(c.node(2n).sm.applied - 1);
    c.rn(1n).proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    c.stabilize();
    c.propose(1n, 'b');
    for (const id of [2n, 4n]) {
      c.node(id).crash();
      c.node(id).restart();
    }
    c.stabilize();
    for (const id of [2n, 4n]) assert.equal(c.rn(id).status().config, { voters: [1n, 2n, 3n, 4n], learners: [] }, `node ${id} durable ${durable}`);
    c.propose(1n, 'c');
    assert.equal(c.appliedData(4n).slice(-1), ['c']);
  }
});

test('ConfChange entries use raftpb.ConfChange wire encoding', () => {
  const bytes = encodeConfChange({ id: 1n, type: ConfChangeType.AddNode, nodeId: 2n, context: enc('x') });
  assert.equal([...bytes], [0x08, 0x01, 0x10, 0x00, 0x18, 0x02, 0x22, 0x01, 0x78]);
  const big = { id: (1n << 64n) - 1n, type: ConfChangeType.AddLearnerNode, nodeId: 0x8000000000000001n, context: enc('{"name":"m"}') };
  const back = decodeConfChange(encodeConfChange(big));
  assert.equal(back, big);
});

test.run();
