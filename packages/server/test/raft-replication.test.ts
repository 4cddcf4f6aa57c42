/**
 * Log replication mechanics: per-follower flow control (Progress probe /
 * replicate / snapshot, inflights), batching by maxSizePerMsg, InstallSnapshot
 * after compaction, proposal forwarding and dropping.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrProposalDropped } from '../src/raft/errors.js';
import { newMessage } from '../src/raft/message.js';
import { ProgressState } from '../src/raft/progress.js';
import { SnapshotStatus } from '../src/raft/raw-node.js';
import { MessageType, StateType } from '../src/raft/types.js';
import type { Message, NodeId } from '../src/raft/types.js';
import { Cluster, TestNode, enc } from './raft-sim.js';

const ids3: NodeId[] = [1n, 2n, 3n];

function leader(opts: Partial<ConstructorParameters<typeof TestNode>[1]> = {}): TestNode {
  const n = new TestNode(1n, { peers: ids3, ...opts });
  n.rn.campaign();
  n.msgs();
  n.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  assert.is(n.status.raftState, StateType.Leader);
  return n;
}

const appsTo = (ms: readonly Message[], to: NodeId): Message[] => ms.filter((m) => m.type === MessageType.MsgApp && m.to === to);
const ack = (n: TestNode, from: NodeId, index: number): Message[] =>
  n.step(newMessage({ type: MessageType.MsgAppResp, from, to: 1n, term: n.status.term, index }));

test('probe state: one append at a time until the follower answers', () => {
  const n = leader();
  assert.is(n.status.progress.get(2n)!.state, ProgressState.Probe);
  // The empty entry's append is the outstanding probe.
  for (let i = 0; i < 3; i++) {
    n.rn.propose(enc(`p${i}`));
    assert.equal(appsTo(n.msgs(), 2n), [], 'paused while a probe is outstanding');
  }
  // A heartbeat response unpauses the probe.
  const out = n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1 }));
  const apps = appsTo(out, 2n);
  assert.is(apps.length, 1);
  assert.equal(apps[0]!.entries.map((e) => e.index), [1, 2, 3, 4]);
});

test('an acknowledgment moves the follower to replicate, which pipelines up to maxInflightMsgs appends', () => {
  const n = leader({ maxInflightMsgs: 3, maxSizePerMsg: 1 });
  ack(n, 2n, 1);
  assert.is(n.status.progress.get(2n)!.state, ProgressState.Replicate);
  const sent: Message[] = [];
  for (let i = 0; i < 5; i++) {
    n.rn.propose(enc(`p${i}`));
    sent.push(...appsTo(n.msgs(), 2n));
  }
  assert.equal(sent.map((m) => m.entries.map((e) => e.index)), [[2], [3], [4]], 'three in flight, one entry each');
  assert.is(n.status.progress.get(2n)!.inflight, 3);
  // Acknowledging the first frees one slot, and the next append goes out.
  const out = appsTo(ack(n, 2n, 2), 2n);
  assert.equal(out.map((m) => m.entries.map((e) => e.index)), [[5]]);
  // Acknowledging everything sends the rest.
  const rest = appsTo(ack(n, 2n, 5), 2n);
  assert.equal(rest.map((m) => m.entries.map((e) => e.index)), [[6]]);
});

test('a heartbeat response frees one inflight slot of a full window', () => {
  const n = leader({ maxInflightMsgs: 2, maxSizePerMsg: 1 });
  ack(n, 2n, 1);
  for (let i = 0; i < 4; i++) n.rn.propose(enc(`p${i}`));
  assert.is(appsTo(n.msgs(), 2n).length, 2);
  assert.is(n.status.progress.get(2n)!.inflight, 2);
  const out = n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1 }));
  assert.is(appsTo(out, 2n).length, 1, 'room for exactly one more');
});

test('maxSizePerMsg bounds the entries of one append (but always sends at least one)', () => {
  const n = leader({ maxSizePerMsg: 40 });
  ack(n, 2n, 1);
  ack(n, 3n, 1);
  n.msgs();
  const big = new Uint8Array(100);
  const small = new Uint8Array(8);
  n.rn.propose(big);
  n.rn.propose(small);
  n.rn.propose(small);
  n.rn.propose(small);
  // Each proposal was broadcast as it came: one entry each.
  const ms = appsTo(n.msgs(), 2n);
  assert.equal(ms.map((m) => m.entries.length), [1, 1, 1, 1]);
  // Resending from scratch batches the small ones.
  n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 5, reject: true, rejectHint: 1 }));
  const probe = n.step(newMessage({ type: MessageType.MsgHeartbeatResp, from: 2n, to: 1n, term: 1 }));
  const counts = appsTo(probe, 2n).map((m) => m.entries.length);
  assert.ok(counts.length >= 1);
  assert.is(counts[0], 1, 'the big entry alone');
  const after = appsTo(ack(n, 2n, 2), 2n);
  assert.equal(after.map((m) => m.entries.length), [2, 1], 'small entries batched within 40 bytes');
});

test('a rejection backs next up to the follower hint and returns to probing', () => {
  const n = leader();
  ack(n, 2n, 1);
  for (let i = 0; i < 5; i++) n.rn.propose(enc(`p${i}`));
  n.msgs();
  assert.is(n.status.progress.get(2n)!.state, ProgressState.Replicate);
  // The follower lost its tail: it has only index 1.
  const out = n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 4, reject: true, rejectHint: 1 }));
  const pr = n.status.progress.get(2n)!;
  assert.is(pr.state, ProgressState.Probe);
  const apps = appsTo(out, 2n);
  assert.is(apps.length, 1);
  assert.is(apps[0]!.index, 1, 'resends from after the match');
  // A stale rejection (of an index at or below match) is ignored.
  ack(n, 2n, 6);
  assert.equal(appsTo(n.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 1, index: 3, reject: true, rejectHint: 2 })), 2n), []);
  assert.is(n.status.progress.get(2n)!.match, 6);
});

test('reportUnreachable moves a replicating follower back to probe', () => {
  const n = leader();
  ack(n, 2n, 1);
  assert.is(n.status.progress.get(2n)!.state, ProgressState.Replicate);
  n.rn.reportUnreachable(2n);
  assert.is(n.status.progress.get(2n)!.state, ProgressState.Probe);
});

test('a follower behind the compacted log gets a snapshot, installs it, and catches up', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  for (let i = 0; i < 10; i++) c.propose(1n, `v${i}`);
  const lead = c.node(1n);
  assert.ok(lead.compact(lead.sm.applied));
  assert.is(lead.storage.firstIndex(), lead.sm.applied + 1);
  c.traceMessages = true;
  c.heal();
  c.tickAll(3);
  assert.ok(c.delivered.some((m) => m.type === MessageType.MsgSnap && m.to === 3n), 'a MsgSnap was sent');
  const f = c.node(3n);
  assert.is(f.storage.snapshot().metadata.index, lead.storage.snapshot().metadata.index);
  assert.is(f.sm.hash, lead.sm.hash);
  c.propose(1n, 'after');
  assert.is(f.sm.applied, lead.sm.applied);
  assert.equal(c.appliedData(3n), ['after'], 'the earlier entries came through the snapshot');
  assert.is(c.rn(1n).status().progress.get(3n)!.state, ProgressState.Replicate);
});

test('while a snapshot is in flight appends pause; a failed snapshot goes back to probing', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.isolate(3n);
  for (let i = 0; i < 5; i++) c.propose(1n, `v${i}`);
  c.node(1n).compact(c.node(1n).sm.applied);
  c.heal();
  // Run the cluster but hold back the snapshot.
  let snap: Message | undefined;
  for (let round = 0; round < 5 && snap === undefined; round++) {
    for (const node of c.nodes.values()) node.rn?.tick();
    for (let guard = 0; guard < 100; guard++) {
      const msgs = c.takeMessages();
      if (msgs.length === 0) break;
      for (const m of msgs) {
        if (m.type === MessageType.MsgSnap) snap = m;
        else c.deliver(m);
      }
    }
  }
  assert.ok(snap !== undefined && snap.to === 3n);
  const rn = c.rn(1n);
  assert.is(rn.status().progress.get(3n)!.state, ProgressState.Snapshot);
  rn.propose(enc('during'));
  assert.equal(
    c.takeMessages().filter((m) => m.to === 3n && (m.type === MessageType.MsgApp || m.type === MessageType.MsgSnap)),
    [],
    'nothing more is sent while the snapshot is pending',
  );
  rn.reportSnapshot(3n, SnapshotStatus.Failure);
  const pr = rn.status().progress.get(3n)!;
  assert.is(pr.state, ProgressState.Probe);
  assert.is(pr.probeSent, true, 'waits for the next heartbeat response before probing');
  c.queue = [];
  c.tickAll(3);
  assert.equal(c.appliedData(3n), ['during']);
  assert.is(c.node(3n).sm.hash, c.node(1n).sm.hash);
});

test('followers forward proposals to the leader', () => {
  const c = new Cluster(ids3);
  c.campaign(1n);
  c.propose(2n, 'from-2');
  c.propose(3n, 'from-3');
  for (const id of ids3) assert.equal(c.appliedData(id), ['from-2', 'from-3']);
});

test('proposals are dropped without a leader, by candidates, and when forwarding is disabled', () => {
  const c = new Cluster(ids3);
  assert.throws(() => c.rn(1n).propose(enc('x')), (e: unknown) => e instanceof ErrProposalDropped);
  c.isolate(1n);
  c.rn(1n).campaign();
  c.stabilize();
  assert.is(c.state(1n), StateType.Candidate);
  assert.throws(() => c.rn(1n).propose(enc('x')), (e: unknown) => e instanceof ErrProposalDropped);
  const f = new TestNode(2n, { peers: ids3, extra: { disableProposalForwarding: true } });
  f.step(newMessage({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1 }));
  assert.is(f.status.lead, 1n);
  assert.throws(() => f.rn.propose(enc('x')), (e: unknown) => e instanceof ErrProposalDropped);
});

test('the uncommitted size limit drops proposals until entries commit', () => {
  const n = leader({ extra: { maxUncommittedEntriesSize: 10 } });
  ack(n, 2n, 1);
  n.msgs();
  n.rn.propose(new Uint8Array(8));
  assert.throws(() => n.rn.propose(new Uint8Array(8)), (e: unknown) => e instanceof ErrProposalDropped);
  n.msgs();
  ack(n, 2n, 2);
  n.msgs();
  n.rn.propose(new Uint8Array(8));
});

test('maxCommittedSizePerReady spreads committed entries over several Readies', () => {
  const n = new TestNode(1n, { peers: [1n], extra: { maxCommittedSizePerReady: 1 } });
  n.rn.campaign();
  for (let i = 0; i < 3; i++) n.rn.propose(enc(`p${i}`));
  let readies = 0;
  while (n.rn.hasReady()) {
    const rd = n.rn.ready();
    assert.ok(rd.committedEntries.length <= 1);
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    n.rn.advance();
    readies++;
  }
  assert.is(readies, 4);
  assert.is(n.status.applied, 4);
});

test('a follower answers an append below its commit index with its commit index', () => {
  const n = new TestNode(2n, { peers: ids3 });
  n.step(
    newMessage({
      type: MessageType.MsgApp,
      from: 1n,
      to: 2n,
      term: 1,
      index: 0,
      logTerm: 0,
      commit: 3,
      entries: [1, 2, 3].map((i) => ({ index: i, term: 1, type: 0, data: enc(`e${i}`) })),
    }),
  );
  const out = n.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 1, logTerm: 1, entries: [] }));
  assert.equal(out.map((m) => [m.type, m.index, m.reject]), [[MessageType.MsgAppResp, 3, false]]);
});

test('duplicated and reordered appends leave the follower log intact', () => {
  const n = new TestNode(2n, { peers: ids3 });
  const app = (index: number, terms: number[], commit: number): Message =>
    newMessage({
      type: MessageType.MsgApp,
      from: 1n,
      to: 2n,
      term: 1,
      index,
      logTerm: index === 0 ? 0 : 1,
      commit,
      entries: terms.map((t, i) => ({ index: index + 1 + i, term: t, type: 0, data: enc(`e${index + 1 + i}`) })),
    });
  n.step(app(0, [1, 1, 1, 1], 1));
  n.step(app(0, [1, 1], 2));
  n.step(app(2, [1], 2));
  assert.equal(n.logTerms(), [1, 1, 1, 1], 'an older, shorter append does not truncate');
  assert.is(n.status.commit, 2);
});

test.run();
