/**
 * The Raft safety properties (Figure 3 of the paper) as checked by the
 * harness: first that the checker does catch violations, then that they hold
 * for arbitrary schedules generated (and shrunk) by fast-check.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrProposalDropped } from '../src/raft/errors.js';
import { seededRandom } from '../src/raft/seeded-random.js';
import { EntryType } from '../src/raft/types.js';
import type { Entry, NodeId } from '../src/raft/types.js';
import { Cluster, InvariantChecker, InvariantViolation, SimNode, enc, storageWith } from './raft-sim.js';

function simNode(id: NodeId, terms: number[] = []): SimNode {
  return new SimNode({
    id,
    peers: [1n, 2n, 3n],
    electionTick: 10,
    heartbeatTick: 1,
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 16,
    random: seededRandom(1),
    durableStateMachine: false,
    storage: storageWith(terms),
  });
}

const entry = (index: number, term: number, data: string): Entry => ({ index, term, type: EntryType.Normal, data: enc(data) });
const violates = (fn: () => void): boolean => {
  try {
    fn();
    return false;
  } catch (err) {
    return err instanceof InvariantViolation;
  }
};

test('the checker flags two leaders in one term (election safety)', () => {
  const c = new InvariantChecker();
  c.onLeader(1n, 5);
  c.onLeader(1n, 5);
  c.onLeader(2n, 6);
  assert.ok(violates(() => c.onLeader(2n, 5)));
});

test('the checker flags two different entries with the same index and term (log matching)', () => {
  const c = new InvariantChecker();
  c.onAppend(simNode(1n), [entry(1, 1, 'x')], false);
  c.onAppend(simNode(2n), [entry(1, 1, 'x')], false);
  assert.ok(violates(() => c.onAppend(simNode(3n), [entry(1, 1, 'y')], false)));
  // Same entry after a different predecessor.
  c.onAppend(simNode(1n, [1]), [entry(2, 2, 'z')], false);
  assert.ok(violates(() => c.onAppend(simNode(2n, [2]), [entry(2, 2, 'z')], false)));
});

test('the checker flags a leader overwriting its own log (leader append-only)', () => {
  const c = new InvariantChecker();
  assert.ok(violates(() => c.onAppend(simNode(1n, [1, 1]), [entry(2, 2, 'w')], true)));
  assert.not.ok(violates(() => c.onAppend(simNode(2n, [1, 1]), [entry(2, 2, 'w')], false)));
});

test('the checker flags divergent application and lost committed entries (state machine safety, leader completeness)', () => {
  const c = new InvariantChecker();
  const a = simNode(1n, [1, 1]);
  c.onHardState(a, { term: 1, vote: 0n, commit: 0 }, { term: 1, vote: 0n, commit: 2 });
  c.onApply(a, entry(1, 1, 'e1'), 11);
  assert.ok(violates(() => c.onApply(simNode(2n), entry(1, 2, 'other'), 11)));
  assert.ok(violates(() => c.onApply(simNode(2n), entry(1, 1, 'e1'), 12)), 'same entry, different state');
  const leader = simNode(3n, [1]);
  leader.leaderTerm = 2;
  assert.ok(violates(() => c.checkLeaderCompleteness(leader)), 'a term-2 leader lacks committed index 2');
  const stale = simNode(3n, [1]);
  stale.leaderTerm = 1;
  c.committedAt.set(2, { term: 1, commitTerm: 3 });
  assert.not.ok(violates(() => c.checkLeaderCompleteness(stale)), 'entries committed in a later term may be missing');
  assert.ok(violates(() => c.onHardState(a, { term: 2, vote: 1n, commit: 2 }, { term: 2, vote: 3n, commit: 2 })), 'double vote');
  assert.ok(violates(() => c.onHardState(a, { term: 2, vote: 1n, commit: 2 }, { term: 1, vote: 1n, commit: 2 })), 'term regressed');
});

type Action =
  | { kind: 'campaign'; node: number }
  | { kind: 'propose'; node: number }
  | { kind: 'isolate'; node: number }
  | { kind: 'heal' }
  | { kind: 'tick'; node: number; n: number }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'compact'; node: number }
  | { kind: 'transfer'; node: number; to: number };

const nodeArb = fc.integer({ min: 1, max: 5 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('campaign' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('propose' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('isolate' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('tick' as const), node: nodeArb, n: fc.integer({ min: 1, max: 25 }) }),
  fc.record({ kind: fc.constant('crash' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('restart' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('compact' as const), node: nodeArb }),
  fc.record({ kind: fc.constant('transfer' as const), node: nodeArb, to: nodeArb }),
);

test('election safety, log matching, leader completeness and state machine safety hold for arbitrary schedules', () => {
  let proposals = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(3, 5),
      fc.boolean(),
      fc.boolean(),
      fc.array(actionArb, { maxLength: 60 }),
      (size, preVote, checkQuorum, actions) => {
        const ids = Array.from({ length: size }, (_, i) => BigInt(i + 1));
        const c = new Cluster(ids, { preVote, checkQuorum, maxSizePerMsg: 64 });
        const id = (n: number): NodeId => BigInt(((n - 1) % size) + 1);
        for (const a of actions) {
          switch (a.kind) {
            case 'campaign':
              if (c.node(id(a.node)).alive) c.campaign(id(a.node));
              break;
            case 'propose':
              if (!c.node(id(a.node)).alive) break;
              try {
                c.propose(id(a.node), `p${proposals++}`);
              } catch (err) {
                if (!(err instanceof ErrProposalDropped)) throw err;
              }
              break;
            case 'isolate':
              c.isolate(id(a.node));
              break;
            case 'heal':
              c.heal();
              break;
            case 'tick':
              if (c.node(id(a.node)).alive) c.tick(id(a.node), a.n);
              break;
            case 'crash':
              c.node(id(a.node)).crash();
              break;
            case 'restart':
              c.node(id(a.node)).restart();
              c.stabilize();
              break;
            case 'compact': {
              const n = c.node(id(a.node));
              if (n.alive) n.compact(n.sm.applied);
              break;
            }
            case 'transfer':
              if (c.node(id(a.node)).alive) {
                c.rn(id(a.node)).transferLeader(id(a.to));
                c.stabilize();
              }
              break;
          }
        }
        // Liveness once everything is healed and up.
        c.heal();
        for (const n of c.nodes.values()) n.restart();
        c.stabilize();
        let done = false;
        for (let i = 0; i < 300 && !done; i++) {
          c.tickAll(1);
          const ls = c.leaders();
          const leader = ls[0];
          if (ls.length !== 1 || leader === undefined || !ids.every((x) => c.rn(x).status().lead === leader)) continue;
          try {
            c.propose(leader, 'final');
          } catch (err) {
            // A leadership transfer may be in progress.
            if (!(err instanceof ErrProposalDropped)) throw err;
            continue;
          }
          done = ids.every((x) => c.appliedData(x).at(-1) === 'final');
        }
        assert.ok(done, 'a leader emerges and commits a proposal on every member');
      },
    ),
    { numRuns: Number(process.env['RAFT_FC_RUNS'] ?? 150), seed: Number(process.env['RAFT_FC_SEED'] ?? 20240601) },
  );
});

test.run();
