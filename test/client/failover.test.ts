// Failover: a client given every member keeps serving reads and writes when
// the member it is connected to is killed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, hasRetryFacts } from '@etcd-ts/client';
import { useTargetCluster, type TargetCluster } from '../harness/target.js';
import { waitFor } from '../harness/index.js';

let cluster: TargetCluster;

test.before(async () => {
  cluster = await useTargetCluster(3);
});
test.after(async () => {
  await cluster.dispose();
});

test('reads and writes continue when the connected member is killed', async () => {
  await using client = new Client({ endpoints: cluster.endpoints, callTimeoutMs: 10_000, dialTimeoutMs: 1_000 });
  // Pin the first call to the first member: it is the one killed below.
  for (let i = 0; i < 20; i++) await client.put(`failover/before/${i}`, String(i));
  const victim = cluster.members[0];
  assert.ok(victim);
  const killed = victim.kill9();
  let writesOk = 0;
  let maybeApplied = 0;
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < 60 && Date.now() < deadline; i++) {
    try {
      await client.put(`failover/after/${i}`, String(i));
      writesOk++;
    } catch (e) {
      // Only a write that was in flight on the dying connection may fail, and it says so.
      assert.ok(hasRetryFacts(e), String(e));
      assert.is(e.applied, 'unknown', `unexpected ${String(e)}`);
      maybeApplied++;
    }
    const v = await client.get(`failover/before/${i % 20}`).string();
    assert.is(v, String(i % 20));
  }
  await killed;
  assert.ok(maybeApplied <= 3, `at most the in-flight writes fail (${maybeApplied})`);
  assert.ok(writesOk >= 57, `writes continue (${writesOk})`);
  await waitFor(async () => (await client.getAll('failover/after/').count()) >= writesOk, { timeoutMs: 10_000, what: 'every acknowledged write readable' });
});

test.run();
