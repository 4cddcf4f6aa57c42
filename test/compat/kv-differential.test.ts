import { suite } from 'uvu';
import { ServerPool, describeFailures, failWith, runScenario, targetsFromEnv, type ScenarioReport } from '../harness/kv-differential.js';
import { KV_SCENARIOS } from './kv-scenarios.js';

/*
 * Differential KV suite: every scenario of KV_SCENARIOS runs on real etcd
 * (the reference) and on etcd-ts; responses must be equal after dropping the
 * header's cluster_id, member_id and raft_term. Errors compare by gRPC code
 * and exact details. Set DIFF_FILTER=<substring> to run some scenarios only.
 */

const { reference, candidates } = targetsFromEnv();
const pool = new ServerPool([reference, ...candidates]);
const reports: ScenarioReport[] = [];
const filter = process.env['DIFF_FILTER'];
const started = Date.now();

const kv = suite('kv-differential');

kv.after(async () => {
  await pool.disposeAll();
  const failed = reports.filter((r) => describeFailures(r) !== undefined);
  const steps = reports.reduce((n, r) => n + r.steps, 0);
  process.stdout.write(
    `\nkv-differential: ${reports.length} scenarios, ${steps} steps, ${failed.length} with differences, ` +
      `${candidates.map((c) => c.label).join(', ')} vs ${reference.label}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
});

for (const sc of KV_SCENARIOS) {
  if (filter !== undefined && !sc.name.includes(filter)) continue;
  kv(sc.name, async () => {
    const report = await runScenario(pool, sc);
    reports.push(report);
    const failure = describeFailures(report);
    if (failure !== undefined) failWith(failure);
  });
}

kv.run();
