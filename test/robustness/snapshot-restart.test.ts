/**
 * Snapshots bound the log: with a small --snapshot-count the member writes
 * snapshot files, and a restart from the newest snapshot plus the WAL tail
 * shows the same keys, values and revisions, and continues the revision
 * sequence.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kvClient, spawnEtcdTs } from '../harness/index.js';

test('restart from a snapshot and the WAL tail', async () => {
  const server = await spawnEtcdTs({ extraArgs: ['--snapshot-count', '100'] });
  try {
    let client = kvClient(server.endpoint);
    const revisions = new Map<string, number>();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const key = `snap/${batch}/${i}`;
          const r = await client.put({ key: Buffer.from(key), value: Buffer.from(`v${batch}.${i}`) });
          revisions.set(key, r.header?.revision ?? 0);
        }),
      );
    }
    const del = await client.deleteRange({ key: Buffer.from('snap/0/'), rangeEnd: Buffer.from('snap/0/\xff', 'latin1') });
    assert.is(del.deleted, 50);
    const before = await client.range({ key: Buffer.from('snap/'), rangeEnd: Buffer.from('snap0') });
    client.close();

    const snaps = readdirSync(join(server.dataDir, 'member', 'snap')).filter((n) => n.endsWith('.snap'));
    assert.ok(snaps.length >= 1, `expected snapshot files, found ${snaps.join(',')}`);

    await server.restart();
    client = kvClient(server.endpoint);
    const after = await client.range({ key: Buffer.from('snap/'), rangeEnd: Buffer.from('snap0') });
    assert.equal(after.kvs, before.kvs);
    assert.is(after.count, 450);
    assert.is(after.header?.revision, before.header?.revision);
    for (const kv of after.kvs) assert.is(kv.modRevision, revisions.get(kv.key.toString()));
    const next = await client.put({ key: Buffer.from('snap/next'), value: Buffer.from('n') });
    assert.is(next.header?.revision, (before.header?.revision ?? 0) + 1);
    // History below the snapshot is still readable: snapshots do not compact the store.
    const old = await client.range({ key: Buffer.from('snap/0/0'), revision: revisions.get('snap/0/0') ?? 0 });
    assert.is(old.kvs[0]?.value.toString(), 'v0.0');
    client.close();
  } finally {
    await server.dispose();
  }
});

test.run();
