/**
 * `etcdctl snapshot save` against real etcd and etcd-ts: the same command
 * succeeds with the same output on both, and the saved file is the server's
 * database followed by the SHA-256 of it (the trailer `snapshot restore`
 * checks). The database itself differs by design: bolt for etcd, LMDB for
 * etcd-ts, each restorable into its own server only.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runEtcdctl } from '../harness/etcdctl.js';
import { targetsFromEnv } from '../harness/kv-differential.js';
import { registerTempDir } from '../harness/process-registry.js';
import { spawnServer } from '../harness/server.js';

const { reference, candidates } = targetsFromEnv();

for (const target of [reference, ...candidates]) {
  test(`${target.label}: etcdctl snapshot save writes the database and its SHA-256`, async () => {
    const server = await spawnServer(target.kind);
    try {
      const value = 'v'.repeat(50_000);
      const put = await runEtcdctl(server.endpoint, ['put', 'snapshot/key', value]);
      assert.is(put.code, 0, put.stderr);
      const dir = mkdtempSync(join(tmpdir(), 'etcdctl-snapshot-'));
      registerTempDir(dir);
      const file = join(dir, 'snap.db');
      const r = await runEtcdctl(server.endpoint, ['snapshot', 'save', file]);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stdout, `Snapshot saved at ${file}\n`);
      const saved = readFileSync(file);
      assert.ok(saved.length > value.length + 32, `${saved.length} bytes`);
      const db = saved.subarray(0, saved.length - 32);
      assert.equal(createHash('sha256').update(db).digest(), saved.subarray(saved.length - 32), 'sha256 trailer');
      assert.ok(db.includes(Buffer.from('snapshot/key')), 'the key is in the database');
    } finally {
      await server.dispose();
    }
  });
}

test.run();
