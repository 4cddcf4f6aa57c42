import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EntryType, type Entry } from '../src/raft/types.js';
import { Wal, WalCorruptError } from '../src/wal/index.js';

/**
 * Damage fuzzing: whatever single byte is flipped, or wherever the last segment is
 * cut, open() either refuses with WalCorruptError or returns a prefix of the log
 * that was written — never different data — and only drops records at the end of
 * the last segment.
 */

const roots: string[] = [];
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function entry(index: number): Entry {
  const data = new Uint8Array((index * 13) % 90);
  data.fill(index & 0xff);
  return { index, term: 1 + Math.floor(index / 10), type: EntryType.Normal, data };
}

async function build(): Promise<{ root: string; files: Map<string, Buffer>; log: Entry[] }> {
  const root = mkdtempSync(path.join(tmpdir(), 'wal-fuzz-'));
  roots.push(root);
  const dir = path.join(root, 'src');
  const wal = await Wal.create(dir, new Uint8Array([7]), { segmentBytes: 700, unsafeNoFsync: true });
  const log: Entry[] = [];
  for (let i = 1; i <= 40; i += 2) {
    const batch = [entry(i), entry(i + 1)];
    log.push(...batch);
    await wal.save({ term: 1, vote: 3n, commit: i }, batch);
  }
  await wal.close();
  const files = new Map<string, Buffer>();
  for (const n of readdirSync(dir).filter((x) => x.endsWith('.wal')).sort()) files.set(n, readFileSync(path.join(dir, n)));
  assert.ok(files.size >= 3);
  return { root, files, log };
}

let counter = 0;
async function openDamaged(root: string, files: Map<string, Buffer>): Promise<Entry[] | WalCorruptError> {
  const dir = path.join(root, `case-${counter++}`);
  mkdirSync(dir);
  for (const [n, b] of files) writeFileSync(path.join(dir, n), b);
  try {
    const r = await Wal.open(dir, undefined, { unsafeNoFsync: true });
    await r.wal.close();
    return r.entries;
  } catch (err) {
    if (err instanceof WalCorruptError) return err;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a flipped byte anywhere: refused, or a prefix of the log when it hit the final record', async () => {
  const { root, files, log } = await build();
  const names = [...files.keys()];
  const lastName = names[names.length - 1] as string;
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (fileRaw, offRaw, mask) => {
      const name = names[fileRaw % names.length] as string;
      const orig = files.get(name) as Buffer;
      const at = offRaw % orig.length;
      const bad = Buffer.from(orig);
      bad[at] = (bad[at] as number) ^ mask;
      const out = await openDamaged(root, new Map([...files, [name, bad]]));
      if (out instanceof WalCorruptError) {
        assert.ok(out.file.endsWith(name) || names.indexOf(name) < names.length - 1, out.message);
        return;
      }
      assert.ok(out.length <= log.length);
      assert.equal(out, log.slice(0, out.length));
      if (out.length < log.length) assert.is(name, lastName, `data lost after flipping ${name}@${at}`);
    }),
    { numRuns: 300 },
  );
});

test('the last segment cut anywhere after its leading records opens as a prefix', async () => {
  const { root, files, log } = await build();
  const names = [...files.keys()];
  const lastName = names[names.length - 1] as string;
  const last = files.get(lastName) as Buffer;
  let prev = -1;
  for (let cut = 0; cut <= last.length; cut++) {
    const out = await openDamaged(root, new Map([...files, [lastName, last.subarray(0, cut)]]));
    if (out instanceof WalCorruptError) {
      assert.ok(prev < 0, `refused at ${cut} after succeeding at a shorter cut`);
      continue;
    }
    assert.equal(out, log.slice(0, out.length));
    assert.ok(out.length >= prev);
    prev = out.length;
  }
  assert.is(prev, log.length);
});

test.run();
