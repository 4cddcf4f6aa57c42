/**
 * --auto-compaction-mode periodic compacts history older than the retention
 * window without any client asking, so old revisions become unreadable with
 * etcd's compacted error while recent ones stay readable.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcCallError, kvClient, spawnEtcdTs, waitFor } from '../harness/index.js';

test('periodic auto compaction keeps only the retention window', async () => {
  const server = await spawnEtcdTs({ extraArgs: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1s'] });
  const client = kvClient(server.endpoint);
  try {
    const first = await client.put({ key: Buffer.from('ac/k'), value: Buffer.from('v1') });
    const firstRev = first.header?.revision ?? 0;
    let last = 0;
    await waitFor(
      async () => {
        const r = await client.put({ key: Buffer.from('ac/k'), value: Buffer.from(`v${Date.now()}`) });
        last = r.header?.revision ?? 0;
        try {
          await client.range({ key: Buffer.from('ac/k'), revision: firstRev });
          return false;
        } catch (err) {
          return err instanceof GrpcCallError && err.details === 'etcdserver: mvcc: required revision has been compacted';
        }
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'history older than the retention to be compacted' },
    );
    const recent = await client.range({ key: Buffer.from('ac/k'), revision: last });
    assert.is(recent.kvs.length, 1);
  } finally {
    client.close();
    await server.dispose();
  }
});

test.run();
