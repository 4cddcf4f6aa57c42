import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend/backend.js';
import { BackendClosedError, BackendError, EmptyKeyError, TxClosedError } from '../src/backend/backend-error.js';
import { backendPath, LmdbBackend, openLmdbBackend } from '../src/backend/lmdb-backend.js';
import { MemoryBackend } from '../src/backend/memory-backend.js';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const s = (str: string): Buffer => Buffer.from(str);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-backend-'));
  dirs.push(d);
  return d;
}

interface Impl {
  readonly name: string;
  make(): Backend;
}

const impls: Impl[] = [
  { name: 'memory', make: () => new MemoryBackend() },
  { name: 'lmdb', make: () => openLmdbBackend(tmpDir()) },
  // every transaction written to LMDB before transact() returns
  { name: 'lmdb unbatched', make: () => openLmdbBackend(tmpDir(), { batchIntervalMs: 0 }) },
  // every read goes through the write buffer until sync() or close()
  { name: 'lmdb buffered', make: () => openLmdbBackend(tmpDir(), { batchIntervalMs: 3_600_000, batchLimit: 1e9 }) },
];

for (const impl of impls) {
  const t = (name: string, fn: (be: Backend) => void | Promise<void>): void => {
    test(`${impl.name}: ${name}`, async () => {
      const be = impl.make();
      try {
        await fn(be);
      } finally {
        await be.close();
      }
    });
  };

  t('put, get, overwrite, delete', (be) => {
    assert.is(be.get('key', s('a')), undefined);
    be.transact((tx) => tx.put('key', s('a'), s('1')));
    assert.is(Buffer.from(be.get('key', s('a'))!).toString(), '1');
    be.transact((tx) => tx.put('key', s('a'), s('22')));
    assert.is(Buffer.from(be.get('key', s('a'))!).toString(), '22');
    be.transact((tx) => tx.delete('key', s('a')));
    assert.is(be.get('key', s('a')), undefined);
    be.transact((tx) => tx.delete('key', s('missing')));
  });

  t('empty values are stored', (be) => {
    be.transact((tx) => tx.put('meta', s('k'), b()));
    const v = be.get('meta', s('k'));
    assert.ok(v !== undefined);
    assert.is(v.length, 0);
  });

  t('buckets are separate', (be) => {
    be.transact((tx) => {
      tx.put('key', s('x'), s('in key'));
      tx.put('meta', s('x'), s('in meta'));
    });
    assert.is(Buffer.from(be.get('key', s('x'))!).toString(), 'in key');
    assert.is(Buffer.from(be.get('meta', s('x'))!).toString(), 'in meta');
    assert.is(be.get('lease', s('x')), undefined);
    assert.equal([...be.range('lease', b())], []);
  });

  t('unsigned byte order in range', (be) => {
    const keys = [b(0xff), b(0x00), b(0x80), b(0x7f), b(0x01), b(0xff, 0x00), b(0x00, 0xff), b(0x80, 0x00, 0x01)];
    be.transact((tx) => {
      for (const k of keys) tx.put('key', k, k);
    });
    const sorted = keys.map(hex).sort();
    const got = [...be.range('key', b())].map(([k]) => hex(k));
    assert.equal(got, sorted);
    // the one-byte key 0x00 is the lowest of all, in both directions
    assert.equal([...be.range('key', b(), { reverse: true })].map(([k]) => hex(k)), [...sorted].reverse());
    for (const [k, v] of be.range('key', b())) assert.is(hex(k), hex(v));
  });

  t('range bounds, limit and reverse', (be) => {
    be.transact((tx) => {
      for (let i = 0; i < 10; i++) tx.put('key', s(`k${i}`), s(`v${i}`));
    });
    const keysOf = (it: Iterable<[Uint8Array, Uint8Array]>): string[] => [...it].map(([k]) => Buffer.from(k).toString());
    assert.equal(keysOf(be.range('key', s('k3'), { end: s('k6') })), ['k3', 'k4', 'k5']);
    assert.equal(keysOf(be.range('key', s('k3'), { end: s('k6'), reverse: true })), ['k5', 'k4', 'k3']);
    assert.equal(keysOf(be.range('key', s('k3'), { limit: 2 })), ['k3', 'k4']);
    assert.equal(keysOf(be.range('key', s('k3'), { reverse: true, limit: 2 })), ['k9', 'k8']);
    assert.equal(keysOf(be.range('key', s('k35'), { end: s('k55') })), ['k4', 'k5']);
    assert.equal(keysOf(be.range('key', s('k35'), { end: s('k55'), reverse: true })), ['k5', 'k4']);
    assert.equal(keysOf(be.range('key', s('k6'), { end: s('k3') })), []);
    assert.equal(keysOf(be.range('key', s('k6'), { end: s('k6') })), []);
    assert.equal(keysOf(be.range('key', s('z'))), []);
    assert.equal(keysOf(be.range('key', b(), { end: s('k2') })), ['k0', 'k1']);
    assert.equal(keysOf(be.range('key', b(), { reverse: true })).length, 10);
    // early exit from iteration leaves the backend usable
    for (const _ of be.range('key', b())) break;
    be.transact((tx) => tx.put('key', s('k10'), s('v')));
    assert.is(keysOf(be.range('key', b())).length, 11);
  });

  t('scan: bounds, order, early stop, large values', (be) => {
    const big = Buffer.alloc(3 * 1024 * 1024, 9);
    be.transact((tx) => {
      for (let i = 0; i < 10; i++) tx.put('key', s(`k${i}`), s(`v${i}`));
      tx.put('key', b(0xff, 0x01), big);
      tx.put('key', b(0x80), Buffer.alloc(70_000, 3));
    });
    const seen: string[] = [];
    be.scan('key', s('k3'), s('k6'), (k, v) => {
      seen.push(`${k.toString()}=${v.toString()}`);
    });
    assert.equal(seen, ['k3=v3', 'k4=v4', 'k5=v5']);
    const copies: Buffer[] = [];
    be.scan('key', b(), undefined, (k) => {
      copies.push(Buffer.from(k));
    });
    assert.equal(
      copies.map((k) => hex(k)),
      [...Array.from({ length: 10 }, (_, i) => hex(s(`k${i}`))), '80', 'ff01'],
    );
    let n = 0;
    be.scan('key', b(), undefined, () => ++n < 4);
    assert.is(n, 4);
    let sizes: number[] = [];
    be.scan('key', b(0x80), undefined, (_k, v) => {
      sizes.push(v.length);
      assert.ok(v.every((x) => x === v[0]));
    });
    assert.equal(sizes, [70_000, big.length]);
    sizes = [];
    be.scan('key', s('k9'), s('k0'), (_k, v) => void sizes.push(v.length));
    assert.equal(sizes, []);
    be.scan('lease', b(), undefined, () => {
      throw new Error('empty bucket');
    });
  });

  t('transact sees its own writes and aborts when fn throws', (be) => {
    be.transact((tx) => tx.put('key', s('a'), s('1')));
    const r = be.transact((tx) => {
      tx.put('key', s('b'), s('2'));
      tx.delete('key', s('a'));
      assert.is(Buffer.from(be.get('key', s('b'))!).toString(), '2');
      assert.is(be.get('key', s('a')), undefined);
      assert.equal([...be.range('key', b())].map(([k]) => Buffer.from(k).toString()), ['b']);
      return 42;
    });
    assert.is(r, 42);
    assert.throws(
      () =>
        be.transact((tx) => {
          tx.put('key', s('c'), s('3'));
          tx.put('key', s('b'), s('changed'));
          tx.delete('key', s('b'));
          tx.put('meta', s('m'), s('x'));
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.is(be.get('key', s('c')), undefined);
    assert.is(Buffer.from(be.get('key', s('b'))!).toString(), '2');
    assert.is(be.get('meta', s('m')), undefined);
    assert.equal([...be.range('key', b())].map(([k]) => Buffer.from(k).toString()), ['b']);
  });

  t('nested transact joins the outer transaction', (be) => {
    assert.throws(() =>
      be.transact((tx) => {
        tx.put('key', s('a'), s('1'));
        be.transact((inner) => inner.put('key', s('b'), s('2')));
        assert.ok(be.get('key', s('b')) !== undefined);
        throw new Error('abort');
      }),
    );
    assert.is(be.get('key', s('a')), undefined);
    assert.is(be.get('key', s('b')), undefined);
  });

  t('a WriteTx is unusable after transact returns', (be) => {
    let saved: { put(bucket: 'key', k: Uint8Array, v: Uint8Array): void } | undefined;
    be.transact((tx) => {
      saved = tx;
    });
    assert.throws(() => saved!.put('key', s('a'), s('1')), (e: unknown) => e instanceof TxClosedError);
  });

  t('empty keys are refused', (be) => {
    assert.throws(() => be.transact((tx) => tx.put('key', b(), s('1'))), (e: unknown) => e instanceof EmptyKeyError);
    assert.is(be.get('key', b()), undefined);
  });

  t('returned buffers stay valid across later reads and writes', (be) => {
    be.transact((tx) => {
      for (let i = 0; i < 100; i++) tx.put('key', s(`k${i}`), Buffer.alloc(64 + i, i));
    });
    const held = [];
    for (let i = 0; i < 100; i++) held.push(be.get('key', s(`k${i}`))!);
    const ranged = [...be.range('key', b())];
    be.transact((tx) => {
      for (let i = 0; i < 100; i++) tx.put('key', s(`k${i}`), Buffer.alloc(64 + i, 255 - i));
    });
    for (let i = 0; i < 100; i++) {
      const v = held[i]!;
      assert.is(v.length, 64 + i);
      assert.ok(v.every((x) => x === i));
    }
    for (const [k, v] of ranged) {
      const i = Number(Buffer.from(k).toString().slice(1));
      assert.ok(v.every((x) => x === i));
    }
  });

  t('range iterates a snapshot of the time it was called', (be) => {
    be.transact((tx) => {
      for (let i = 0; i < 5; i++) tx.put('key', s(`k${i}`), s('v'));
    });
    const it = be.range('key', b());
    const first = it.next();
    assert.is(Buffer.from(first.value![0]).toString(), 'k0');
    be.transact((tx) => tx.put('key', s('k00'), s('new')));
    const rest = [...it].map(([k]) => Buffer.from(k).toString());
    assert.equal(rest, ['k1', 'k2', 'k3', 'k4']);
  });

  t('size grows with data; sync resolves', async (be) => {
    const before = be.size();
    be.transact((tx) => {
      for (let i = 0; i < 1000; i++) tx.put('key', s(`k${i}`), Buffer.alloc(300));
    });
    assert.ok(be.size() > before);
    assert.ok(be.sizeInUse() > 0);
    assert.ok(be.sizeInUse() <= be.size() || be.kind === 'memory');
    await be.sync();
  });

  t('closed backend refuses work', async (be) => {
    await be.close();
    assert.throws(() => be.get('key', s('a')), (e: unknown) => e instanceof BackendClosedError);
    assert.throws(() => be.transact(() => 1), (e: unknown) => e instanceof BackendClosedError);
  });
}

test('lmdb: data lives in member/snap/db and survives reopen', async () => {
  const dir = tmpDir();
  const be = openLmdbBackend(dir);
  assert.is(be.path, backendPath(dir));
  assert.is(be.path, path.join(dir, 'member', 'snap', 'db'));
  be.transact((tx) => {
    tx.put('key', s('a'), s('1'));
    tx.put('meta', s('consistent_index'), b(0, 0, 0, 0, 0, 0, 0, 7));
  });
  await be.sync();
  await be.close();
  assert.ok(fs.existsSync(path.join(dir, 'member', 'snap', 'db')));
  const again = openLmdbBackend(dir);
  assert.is(Buffer.from(again.get('key', s('a'))!).toString(), '1');
  assert.is(hex(again.get('meta', s('consistent_index'))!), '0000000000000007');
  await again.close();
});

test('lmdb: every durability mode commits and reopens', async () => {
  for (const durability of ['nosync', 'overlapping', 'sync'] as const) {
    const dir = tmpDir();
    const be = openLmdbBackend(dir, { durability });
    be.transact((tx) => tx.put('key', s('a'), s(durability)));
    await be.sync();
    await be.close();
    const again = new LmdbBackend(backendPath(dir), { durability });
    assert.is(Buffer.from(again.get('key', s('a'))!).toString(), durability);
    await again.close();
  }
});

test('lmdb: keys beyond the LMDB key size limit fail with a typed error and abort', async () => {
  const be = openLmdbBackend(tmpDir());
  assert.throws(
    () =>
      be.transact((tx) => {
        tx.put('key', s('ok'), s('1'));
        tx.put('auth', Buffer.alloc(4000, 1), s('x'));
      }),
    (e: unknown) => e instanceof BackendError && e.code === 'ErrBackendWrite',
  );
  assert.is(be.get('key', s('ok')), undefined);
  be.transact((tx) => tx.put('auth', Buffer.alloc(1978, 1), s('x')));
  await be.close();
});

test('lmdb: backup copies a consistent database', async () => {
  const dir = tmpDir();
  const be = openLmdbBackend(dir);
  be.transact((tx) => tx.put('key', s('a'), s('1')));
  const copy = path.join(tmpDir(), 'copy.db');
  await be.backup(copy);
  await be.close();
  const c = new LmdbBackend(copy);
  assert.is(Buffer.from(c.get('key', s('a'))!).toString(), '1');
  await c.close();
});

test.after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test.run();
