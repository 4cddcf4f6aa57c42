/**
 * Scripted interactions with their exact message transcripts, in the spirit of
 * etcd's interaction tests: any change in what is sent, to whom, or in which
 * order shows up here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { None } from '../src/raft/types.js';
import type { Message } from '../src/raft/types.js';
import { Cluster, dec, msgName, storageWith } from './raft-sim.js';

const stateName = ['Follower', 'Candidate', 'Leader', 'PreCandidate'];

function fmt(m: Message): string {
  const parts = [`${m.from}->${m.to} ${msgName[m.type]} term=${m.term}`];
  if (m.index !== 0 || m.logTerm !== 0) parts.push(`index=${m.index} logTerm=${m.logTerm}`);
  if (m.commit !== 0) parts.push(`commit=${m.commit}`);
  if (m.entries.length > 0) {
    parts.push(`entries=[${m.entries.map((e) => `${e.index}@${e.term}${e.data.length > 0 ? ` ${dec(e.data)}` : ''}`).join(', ')}]`);
  }
  if (m.reject) parts.push(`rejected hint=${m.rejectHint}`);
  if (m.context.length > 0) parts.push(`ctx=${dec(m.context)}`);
  return parts.join(' ');
}

function states(c: Cluster): string {
  return [...c.nodes.values()]
    .map((n) => {
      const s = n.rn!.status();
      const terms: number[] = [];
      for (let i = n.storage.firstIndex(); i <= n.storage.lastIndex(); i++) terms.push(n.storage.term(i));
      return `${n.id}: ${stateName[s.raftState]} term=${s.term} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=[${terms.join(' ')}]`;
    })
    .join('\n');
}

class Transcript {
  private readonly lines: string[] = [];
  constructor(private readonly c: Cluster) {
    c.traceMessages = true;
  }
  step(title: string | undefined, fn: () => void): void {
    fn();
    if (title !== undefined) {
      this.lines.push(`> ${title}`);
      this.lines.push(...this.c.delivered.map(fmt));
    }
    this.c.delivered.length = 0;
  }
  text(): string {
    return [...this.lines, states(this.c)].join('\n');
  }
}

test('election and a forwarded proposal in a three-member cluster', () => {
  const c = new Cluster([1n, 2n, 3n]);
  const t = new Transcript(c);
  t.step('campaign 1', () => c.campaign(1n));
  t.step('propose a at 2', () => c.propose(2n, 'a'));
  assert.fixture(t.text(), `> campaign 1
1->2 MsgVote term=1
1->3 MsgVote term=1
2->1 MsgVoteResp term=1
3->1 MsgVoteResp term=1
1->2 MsgApp term=1 entries=[1@1]
1->3 MsgApp term=1 entries=[1@1]
2->1 MsgAppResp term=1 index=1 logTerm=0
3->1 MsgAppResp term=1 index=1 logTerm=0
1->2 MsgApp term=1 index=1 logTerm=1 commit=1
1->3 MsgApp term=1 index=1 logTerm=1 commit=1
2->1 MsgAppResp term=1 index=1 logTerm=0
3->1 MsgAppResp term=1 index=1 logTerm=0
> propose a at 2
2->1 MsgProp term=0 entries=[0@0 a]
1->2 MsgApp term=1 index=1 logTerm=1 commit=1 entries=[2@1 a]
1->3 MsgApp term=1 index=1 logTerm=1 commit=1 entries=[2@1 a]
2->1 MsgAppResp term=1 index=2 logTerm=0
3->1 MsgAppResp term=1 index=2 logTerm=0
1->2 MsgApp term=1 index=2 logTerm=1 commit=2
1->3 MsgApp term=1 index=2 logTerm=1 commit=2
2->1 MsgAppResp term=1 index=2 logTerm=0
3->1 MsgAppResp term=1 index=2 logTerm=0
1: Leader term=1 lead=1 commit=2 applied=2 log=[1 1]
2: Follower term=1 lead=1 commit=2 applied=2 log=[1 1]
3: Follower term=1 lead=1 commit=2 applied=2 log=[1 1]`);
});

test('check-quorum lease ignores a pre-vote; the heartbeat brings the stale member back', () => {
  const c = new Cluster([1n, 2n, 3n], { preVote: true, checkQuorum: true });
  const t = new Transcript(c);
  t.step(undefined, () => {
    c.campaign(1n);
    c.isolate(3n);
    c.propose(1n, 'a');
    c.propose(1n, 'b');
    c.heal();
  });
  t.step('campaign 3 (stale log, leader lease)', () => {
    c.rn(3n).campaign();
    c.stabilize();
  });
  t.step('tick 1 (heartbeat)', () => c.tick(1n));
  assert.fixture(t.text(), `> campaign 3 (stale log, leader lease)
3->1 MsgPreVote term=2 index=1 logTerm=1
3->2 MsgPreVote term=2 index=1 logTerm=1
> tick 1 (heartbeat)
1->2 MsgHeartbeat term=1 commit=3
1->3 MsgHeartbeat term=1 commit=1
2->1 MsgHeartbeatResp term=1
3->1 MsgHeartbeatResp term=1
1->3 MsgApp term=1 index=3 logTerm=1 commit=3
3->1 MsgAppResp term=1 index=3 logTerm=0 rejected hint=1
1->3 MsgApp term=1 index=1 logTerm=1 commit=3 entries=[2@1 a, 3@1 b]
3->1 MsgAppResp term=1 index=3 logTerm=0
1->3 MsgApp term=1 index=3 logTerm=1 commit=3
3->1 MsgAppResp term=1 index=3 logTerm=0
1: Leader term=1 lead=1 commit=3 applied=3 log=[1 1 1]
2: Follower term=1 lead=1 commit=3 applied=3 log=[1 1 1]
3: Follower term=1 lead=1 commit=3 applied=3 log=[1 1 1]`);
});

test('a new leader repairs a diverging follower log with rejection hints', () => {
  const storages = new Map([
    [1n, storageWith([1, 1, 2], { term: 2, vote: None, commit: 2 })],
    [2n, storageWith([1, 1, 1, 1], { term: 1, vote: None, commit: 2 })],
    [3n, storageWith([1, 1, 2], { term: 2, vote: None, commit: 2 })],
  ]);
  const c = new Cluster([1n, 2n, 3n], { storages });
  const t = new Transcript(c);
  t.step(undefined, () => c.processAll());
  t.step('campaign 1', () => c.campaign(1n));
  assert.fixture(t.text(), `> campaign 1
1->2 MsgVote term=3 index=3 logTerm=2
1->3 MsgVote term=3 index=3 logTerm=2
2->1 MsgVoteResp term=3
3->1 MsgVoteResp term=3
1->2 MsgApp term=3 index=3 logTerm=2 commit=2 entries=[4@3]
1->3 MsgApp term=3 index=3 logTerm=2 commit=2 entries=[4@3]
2->1 MsgAppResp term=3 index=3 logTerm=0 rejected hint=4
3->1 MsgAppResp term=3 index=4 logTerm=0
1->2 MsgApp term=3 index=2 logTerm=1 commit=2 entries=[3@2 e3, 4@3]
1->3 MsgApp term=3 index=4 logTerm=3 commit=4
2->1 MsgAppResp term=3 index=4 logTerm=0
3->1 MsgAppResp term=3 index=4 logTerm=0
1->2 MsgApp term=3 index=4 logTerm=3 commit=4
2->1 MsgAppResp term=3 index=4 logTerm=0
1: Leader term=3 lead=1 commit=4 applied=4 log=[1 1 2 3]
2: Follower term=3 lead=1 commit=4 applied=4 log=[1 1 2 3]
3: Follower term=3 lead=1 commit=4 applied=4 log=[1 1 2 3]`);
});

test.run();
