/**
 * kill -9 during a concurrent write load loses no acknowledged write: after a
 * restart every acknowledged put is readable with the value and mod_revision
 * it was acknowledged with, and the store's revision is at least the highest
 * acknowledged one. Runs several rounds, killing at different moments, with
 * frequent snapshots so that kills also land during snapshot and WAL release.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kvClient, spawnEtcdTs, type KvClient, type ServerHandle } from '../harness/index.js';

const WRITERS = 8;
const ROUNDS = 3;

interface Ack {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

async function writeUntilKilled(client: KvClient, writer: number, round: number, acks: Ack[], stop: { killed: boolean }): Promise<void> {
  for (let seq = 0; seq < 100_000 && !stop.killed; seq++) {
    const key = `crash/r${round}/w${writer}/${String(seq).padStart(6, '0')}`;
    const value = `${key}@${Date.now()}`;
    try {
      const resp = await client.put({ key: Buffer.from(key), value: Buffer.from(value) });
      acks.push({ key, value, revision: resp.header?.revision ?? 0 });
    } catch {
      // The server died under the request: it was not acknowledged.
      return;
    }
  }
}

test('no acknowledged write is lost across kill -9', async () => {
  const server: ServerHandle = await spawnEtcdTs({ extraArgs: ['--snapshot-count', '300'] });
  try {
    const acks: Ack[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const client = kvClient(server.endpoint, { deadlineMs: 5000 });
      const stop = { killed: false };
      const writers = Array.from({ length: WRITERS }, (_, w) => writeUntilKilled(client, w, round, acks, stop));
      // Kill once a round-dependent number of writes was acknowledged (bounded by a deadline).
      const target = acks.length + 400 + round * 700;
      const deadline = Date.now() + 20_000;
      while (acks.length < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await server.kill9();
      stop.killed = true;
      await Promise.all(writers);
      client.close();
      await server.restart();

      const check = kvClient(server.endpoint, { deadlineMs: 10_000 });
      try {
        const maxRev = Math.max(...acks.map((a) => a.revision));
        for (const a of acks) {
          const r = await check.range({ key: Buffer.from(a.key) });
          const kv = r.kvs[0];
          assert.ok(kv !== undefined, `acknowledged key ${a.key} (rev ${a.revision}) is missing after round ${round}`);
          assert.is(kv.value.toString(), a.value, `value of ${a.key}`);
          assert.is(kv.modRevision, a.revision, `mod_revision of ${a.key}`);
        }
        const head = await check.range({ key: Buffer.from('crash/'), rangeEnd: Buffer.from('crash0'), countOnly: true });
        assert.ok((head.header?.revision ?? 0) >= maxRev, 'store revision went backwards');
        assert.ok(head.count >= acks.length, 'fewer keys than acknowledged writes');
        // The restarted member keeps serving writes at the next revision.
        const after = await check.put({ key: Buffer.from(`crash/after/${round}`), value: Buffer.from('x') });
        assert.ok((after.header?.revision ?? 0) > (head.header?.revision ?? 0));
      } finally {
        check.close();
      }
    }
    assert.ok(acks.length >= ROUNDS * 400, `only ${acks.length} writes were acknowledged`);
  } finally {
    await server.dispose();
  }
});

test.run();
