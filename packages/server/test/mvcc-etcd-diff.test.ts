import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../src/backend/memory-backend.js';
import type { TxnWrite } from '../src/mvcc/kv-store.js';
import { KVStore } from '../src/mvcc/kv-store.js';

/**
 * Differential test against a real etcd 3.4 (skipped when the etcd binary is
 * missing): the same history is written to both, then HashKV at every
 * revision and range reads at every revision are compared, before and after
 * compactions.
 */

function which(bin: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

const ETCD = which('etcd');
const ETCDCTL = which('etcdctl');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

class Etcd {
  proc: ChildProcess | undefined;
  endpoint = '';
  dir = '';

  async start(): Promise<void> {
    const [cp, pp] = [await freePort(), await freePort()];
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-diff-'));
    this.endpoint = `http://127.0.0.1:${cp}`;
    const peer = `http://127.0.0.1:${pp}`;
    this.proc = spawn(
      ETCD!,
      [
        '--name', 'diff',
        '--data-dir', path.join(this.dir, 'data'),
        '--listen-client-urls', this.endpoint,
        '--advertise-client-urls', this.endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `diff=${peer}`,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        this.ctl(['endpoint', 'health']);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  ctl(args: string[], input?: string): string {
    return execFileSync(ETCDCTL!, ['--endpoints', this.endpoint, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      encoding: 'utf8',
      ...(input === undefined ? {} : { input }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  hash(rev: number): { hash: number; compact: number } {
    const out = JSON.parse(this.ctl(['endpoint', 'hashkv', `--rev=${rev}`, '-w', 'json'])) as {
      HashKV: { hash: number; compact_revision?: number };
    }[];
    return { hash: out[0]!.HashKV.hash >>> 0, compact: out[0]!.HashKV.compact_revision ?? 0 };
  }

  getAll(rev: number): unknown[] {
    const out = JSON.parse(this.ctl(['get', '', '--from-key', `--rev=${rev}`, '-w', 'json'])) as {
      kvs?: { key: string; value?: string; create_revision: number; mod_revision: number; version: number }[];
    };
    return (out.kvs ?? []).map((kv) => [
      Buffer.from(kv.key, 'base64').toString(),
      Buffer.from(kv.value ?? '', 'base64').toString(),
      kv.create_revision,
      kv.mod_revision,
      kv.version,
    ]);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p !== undefined && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    }
    if (this.dir !== '') fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function txn(store: KVStore, fn: (w: TxnWrite) => void): void {
  store.backend.transact((tx) => {
    const w = store.write(tx);
    fn(w);
    w.end();
  });
}

const s = (x: string): Buffer => Buffer.from(x);

function ours(store: KVStore, rev: number): unknown[] {
  return store
    .read()
    .range(Buffer.alloc(0), Buffer.from([0]), { rev })
    .kvs.map((kv) => [kv.key.toString(), kv.value.toString(), kv.createRevision, kv.modRevision, kv.version]);
}

test('HashKV and history reads equal etcd 3.4', async () => {
  if (ETCD === undefined || ETCDCTL === undefined) {
    console.log('etcd not installed: skipped');
    return;
  }
  const etcd = new Etcd();
  const store = new KVStore(new MemoryBackend());
  try {
    await etcd.start();
    const lease = BigInt('0x' + /lease ([0-9a-f]+) granted/.exec(etcd.ctl(['lease', 'grant', '600']))![1]!);
    const steps: [string[], string | undefined, (w: TxnWrite) => void][] = [
      [['put', 'a', '1'], undefined, (w) => w.put(s('a'), s('1'))],
      [['put', 'b', '2'], undefined, (w) => w.put(s('b'), s('2'))],
      [['put', 'a', '3'], undefined, (w) => w.put(s('a'), s('3'))],
      [['put', 'c', '4', `--lease=${lease.toString(16)}`], undefined, (w) => w.put(s('c'), s('4'), lease)],
      [['del', 'b'], undefined, (w) => w.deleteRange(s('b'), undefined)],
      [
        ['txn'],
        '\nput d 5\nput e 6\ndel a\n\n\n',
        (w) => {
          w.put(s('d'), s('5'));
          w.put(s('e'), s('6'));
          w.deleteRange(s('a'), undefined);
        },
      ],
      [['put', 'b', '7'], undefined, (w) => w.put(s('b'), s('7'))],
      [['put', 'a', ''], undefined, (w) => w.put(s('a'), s(''))],
      [['del', 'd'], undefined, (w) => w.deleteRange(s('d'), undefined)],
      [['put', 'e', 'x'.repeat(300)], undefined, (w) => w.put(s('e'), s('x'.repeat(300)))],
      [['del', 'a', 'c'], undefined, (w) => w.deleteRange(s('a'), s('c'))],
      [['put', 'a', 'again'], undefined, (w) => w.put(s('a'), s('again'))],
    ];
    for (const [args, input, fn] of steps) {
      etcd.ctl(args, input);
      txn(store, fn);
    }
    const current = store.currentRev;
    assert.is(current, 13);
    const compare = (from: number): void => {
      for (let rev = from; rev <= current; rev++) {
        const want = etcd.hash(rev);
        const got = store.hashByRev(rev);
        assert.is(got.hash, want.hash, `hash at ${rev} (compacted at ${store.compactRev})`);
        assert.equal(ours(store, rev), etcd.getAll(rev), `range at ${rev}`);
      }
      assert.is(store.hashByRev(0).hash, etcd.hash(0).hash);
    };
    compare(1);
    etcd.ctl(['compact', '6', '--physical']);
    store.backend.transact((tx) => store.compact(tx, 6));
    compare(7);
    assert.is(etcd.hash(0).compact, 6);
    assert.is(store.hashByRev(0).compactRev, 6);
    etcd.ctl(['compact', '10', '--physical']);
    store.backend.transact((tx) => store.compact(tx, 10));
    compare(11);
  } finally {
    await etcd.stop();
  }
});

test.run();
