/**
 * In-process use: startServer() returns a handle with the client URL and
 * close(); the memory storage mode needs no data dir, and a data dir survives a
 * close and a new startServer() in the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from '@etcd-ts/server';
import { kvClient } from '../harness/index.js';

const endpointOf = (url: string): string => url.replace(/^https?:\/\//, '');

test('memory storage: put and get, then close', async () => {
  const server = await startServer({ experimentalBackendStorage: 'memory', logOutputs: [] });
  const client = kvClient(endpointOf(server.clientUrl));
  try {
    const put = await client.put({ key: Buffer.from('a'), value: Buffer.from('1') });
    assert.is(put.header?.revision, 2);
    const got = await client.range({ key: Buffer.from('a') });
    assert.is(got.kvs[0]?.value.toString(), '1');
  } finally {
    client.close();
    await server.close();
  }
});

test('data dir: a second start in the same process sees the first one\'s writes', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'etcd-ts-embedded-')), 'm.etcd');
  try {
    const first = await startServer({ dataDir, logOutputs: [] });
    let client = kvClient(endpointOf(first.clientUrl));
    for (let i = 0; i < 20; i++) await client.put({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) });
    client.close();
    await first.close();

    const second = await startServer({ dataDir, logOutputs: [] });
    client = kvClient(endpointOf(second.clientUrl));
    try {
      const r = await client.range({ key: Buffer.from('k'), rangeEnd: Buffer.from('l') });
      assert.is(r.count, 20);
      assert.is(r.header?.revision, 21);
    } finally {
      client.close();
      await second.close();
    }
  } finally {
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  }
});

test.run();
