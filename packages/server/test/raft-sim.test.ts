import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulate } from './raft-sim.js';
import type { SimulationResult } from './raft-sim.js';

// Thousands of seeds by default (about a minute on one core); RAFT_SIM_SEEDS changes it.
const seeds = Number(process.env['RAFT_SIM_SEEDS'] ?? 2000);
const first = Number(process.env['RAFT_SIM_FIRST_SEED'] ?? 1);
const steps = Number(process.env['RAFT_SIM_STEPS'] ?? 4000);

test(`randomized network: safety after every step and liveness after healing (${seeds} seeds)`, () => {
  const results: SimulationResult[] = [];
  const started = performance.now();
  for (let seed = first; seed < first + seeds; seed++) results.push(simulate({ seed, steps }));
  const ms = performance.now() - started;
  const sum = (f: (r: SimulationResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const summary = {
    seeds,
    ms: Math.round(ms),
    applied: sum((r) => r.applied),
    leaders: sum((r) => r.leaders),
    snapshotsSent: sum((r) => r.snapshotsSent),
    crashes: sum((r) => r.crashes),
    readsServed: sum((r) => r.readsServed),
    confChanges: sum((r) => r.confChanges),
    transfers: sum((r) => r.transfers),
    maxLivenessTicks: Math.max(...results.map((r) => r.livenessTicks)),
  };
  if (process.env['RAFT_SIM_VERBOSE'] !== undefined) console.log(summary);
  // The scenarios must actually exercise the protocol.
  if (seeds >= 50) {
    assert.ok(summary.applied > seeds * 10, 'entries get committed');
    assert.ok(summary.leaders > seeds * 2, 'leadership changes happen');
    assert.ok(summary.snapshotsSent > 0, 'snapshots are sent to lagging followers');
    assert.ok(summary.crashes > seeds, 'members crash and restart');
    assert.ok(summary.readsServed > seeds, 'linearizable reads are served');
    assert.ok(summary.confChanges > seeds / 4, 'membership changes are applied');
    assert.ok(summary.transfers > seeds / 10, 'leadership is transferred');
  }
});

test.run();
