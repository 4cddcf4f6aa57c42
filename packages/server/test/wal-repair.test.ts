import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EntryType, type Entry, type HardState } from '../src/raft/types.js';
import { frameBytes } from '../src/wal/record-frame.js';
import { RecordType } from '../src/wal/record-type.js';
import { Wal, WalCorruptError, segmentName } from '../src/wal/index.js';

const roots: string[] = [];
function tempRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'wal-repair-'));
  roots.push(root);
  return root;
}
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function entry(index: number, term: number, text = `entry ${index} term ${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}
function hs(term: number, commit: number): HardState {
  return { term, vote: 2n, commit };
}
const META = new Uint8Array([1, 2, 3, 4, 5]);

interface Rec {
  readonly offset: number;
  readonly end: number;
  readonly type: number;
}
/** Frame boundaries of a well-formed segment. */
function records(buf: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let p = 0; p + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(p);
    const type = buf[p + 4] as number;
    if (type === 0) break;
    const end = p + frameBytes(len);
    out.push({ offset: p, end, type });
    p = end;
  }
  return out;
}
function walFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.wal')).sort();
}
/** A fresh directory holding `files` (name → bytes). */
function dirWith(root: string, label: string, files: Record<string, Uint8Array>): string {
  const dir = path.join(root, label);
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  return dir;
}
async function openCorrupt(dir: string): Promise<WalCorruptError> {
  try {
    const r = await Wal.open(dir);
    await r.wal.close();
  } catch (err) {
    assert.instance(err, WalCorruptError);
    return err as WalCorruptError;
  }
  throw new Error(`expected WalCorruptError opening ${dir}`);
}

/** A single-segment wal: entries 1..5 in three saves, then entry 6 alone as the final record. */
async function buildSingle(root: string): Promise<{ dir: string; file: string; bytes: Buffer; lastStart: number }> {
  const dir = path.join(root, 'src');
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 0), [entry(1, 1), entry(2, 1)]);
  await wal.save(hs(1, 2), [entry(3, 1), entry(4, 1)]);
  await wal.save(hs(2, 4), [entry(5, 2)]);
  const file = path.join(dir, segmentName(0, 0));
  const lastStart = statSync(file).size;
  await wal.save(undefined, [entry(6, 2, 'the final record of the log, torn at every byte')]);
  await wal.close();
  return { dir, file, bytes: readFileSync(file), lastStart };
}
const FIRST_FIVE = [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1), entry(5, 2)];

test('a torn final record is cut off at every byte offset and appending resumes', async () => {
  const root = tempRoot();
  const { bytes, lastStart } = await buildSingle(root);
  assert.ok(bytes.length - lastStart >= 64);
  const name = segmentName(0, 0);
  for (let cut = lastStart; cut < bytes.length; cut++) {
    const dir = dirWith(root, `cut-${cut}`, { [name]: bytes.subarray(0, cut) });
    const r = await Wal.open(dir);
    assert.equal(r.entries, FIRST_FIVE, `cut at ${cut}`);
    assert.equal(r.hardState, hs(2, 4));
    assert.is(r.wal.lastIndex, 5);
    if (cut === lastStart) {
      assert.is(r.repaired, undefined);
    } else {
      assert.ok(r.repaired !== undefined);
      assert.is(r.repaired.offset, lastStart);
      assert.is(r.repaired.bytesRemoved, cut - lastStart);
      assert.type(r.repaired.reason, 'string');
    }
    assert.is(statSync(path.join(dir, name)).size, lastStart);
    await r.wal.save(hs(3, 5), [entry(6, 3, 'rewritten')]);
    await r.wal.close();
    const again = await Wal.open(dir);
    assert.equal(again.entries, [...FIRST_FIVE, entry(6, 3, 'rewritten')]);
    assert.equal(again.hardState, hs(3, 5));
    await again.wal.close();
    rmSync(dir, { recursive: true });
  }
  // The untouched file opens whole.
  const whole = dirWith(root, 'whole', { [name]: bytes });
  const r = await Wal.open(whole);
  assert.is(r.entries.length, 6);
  assert.is(r.repaired, undefined);
  await r.wal.close();
});

test('a torn multi-record batch keeps exactly the records that are complete', async () => {
  const root = tempRoot();
  const dir = path.join(root, 'src');
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 1), [entry(1, 1)]);
  const file = path.join(dir, segmentName(0, 0));
  const batchStart = statSync(file).size;
  const batch = [entry(2, 1, 'a'.repeat(3)), entry(3, 1, 'b'.repeat(70)), entry(4, 1, '')];
  await wal.save(hs(1, 4), batch);
  await wal.close();
  const bytes = readFileSync(file);
  const recs = records(bytes).filter((r) => r.offset >= batchStart);
  assert.equal(recs.map((r) => r.type), [RecordType.Entry, RecordType.Entry, RecordType.Entry, RecordType.HardState]);
  for (let cut = batchStart; cut <= bytes.length; cut++) {
    const complete = recs.filter((r) => r.end <= cut);
    const d = dirWith(root, `cut-${cut}`, { [segmentName(0, 0)]: bytes.subarray(0, cut) });
    const r = await Wal.open(d);
    const entriesKept = complete.filter((x) => x.type === RecordType.Entry).length;
    assert.equal(r.entries, [entry(1, 1), ...batch.slice(0, entriesKept)], `cut at ${cut}`);
    assert.equal(r.hardState, complete.length === 4 ? hs(1, 4) : hs(1, 1));
    assert.is(statSync(path.join(d, segmentName(0, 0))).size, complete.length === 0 ? batchStart : (complete[complete.length - 1] as Rec).end);
    await r.wal.close();
    rmSync(d, { recursive: true });
  }
});

test('zero fill after the log (preallocation) is removed; a bad final record before zeros is torn', async () => {
  const root = tempRoot();
  const { bytes, lastStart } = await buildSingle(root);
  const name = segmentName(0, 0);

  const zeros = Buffer.alloc(8192);
  let dir = dirWith(root, 'zero-fill', { [name]: Buffer.concat([bytes, zeros]) });
  let r = await Wal.open(dir);
  assert.is(r.entries.length, 6);
  assert.ok(r.repaired !== undefined);
  assert.is(r.repaired.reason, undefined);
  assert.is(r.repaired.bytesRemoved, 8192);
  assert.is(statSync(path.join(dir, name)).size, bytes.length);
  await r.wal.save(undefined, [entry(7, 2)]);
  await r.wal.close();
  r = await Wal.open(dir);
  assert.is(r.entries.length, 7);
  await r.wal.close();

  // Odd-length zero fill (not a whole header) is fill too.
  dir = dirWith(root, 'zero-fill-short', { [name]: Buffer.concat([bytes, Buffer.alloc(5)]) });
  r = await Wal.open(dir);
  assert.is(r.entries.length, 6);
  await r.wal.close();

  // Final record's payload flipped, then zeros: torn.
  const flipped = Buffer.from(bytes);
  flipped[lastStart + 30] = (flipped[lastStart + 30] as number) ^ 0x40;
  dir = dirWith(root, 'bad-crc-then-zeros', { [name]: Buffer.concat([flipped, zeros]) });
  r = await Wal.open(dir);
  assert.equal(r.entries, FIRST_FIVE);
  assert.ok(r.repaired !== undefined);
  assert.match(r.repaired.reason ?? '', /crc mismatch/);
  assert.is(statSync(path.join(dir, name)).size, lastStart);
  await r.wal.close();

  // A sector of the final record never reached the disk (zeros inside it): torn.
  const holed = Buffer.from(bytes);
  holed.fill(0, lastStart + 20, bytes.length);
  dir = dirWith(root, 'zeroed-payload', { [name]: holed });
  r = await Wal.open(dir);
  assert.equal(r.entries, FIRST_FIVE);
  await r.wal.close();

  // Header of the final record zeroed but its payload present: torn.
  const noHeader = Buffer.from(bytes);
  noHeader.fill(0, lastStart, lastStart + 16);
  dir = dirWith(root, 'zeroed-header', { [name]: noHeader });
  r = await Wal.open(dir);
  assert.equal(r.entries, FIRST_FIVE);
  await r.wal.close();

  // A flipped byte in the final record with nothing after it is indistinguishable from a torn write.
  const lastFlip = Buffer.from(bytes);
  lastFlip[bytes.length - 10] = (lastFlip[bytes.length - 10] as number) ^ 1;
  dir = dirWith(root, 'flip-last', { [name]: lastFlip });
  r = await Wal.open(dir);
  assert.equal(r.entries, FIRST_FIVE);
  await r.wal.close();
});

test('a flipped byte anywhere in a middle record refuses to open, naming file and offset', async () => {
  const root = tempRoot();
  const { bytes } = await buildSingle(root);
  const name = segmentName(0, 0);
  const recs = records(bytes);
  // Every record but the last: crc, metadata, snapshot marker, entries, hard states.
  const middle = recs.slice(0, -1);
  assert.ok(middle.length >= 10);
  for (const rec of middle) {
    for (let at = rec.offset; at < rec.end; at++) {
      const bad = Buffer.from(bytes);
      bad[at] = (bad[at] as number) ^ 0x10;
      const dir = dirWith(root, `flip-${at}`, { [name]: bad });
      const err = await openCorrupt(dir);
      assert.is(err.file, path.join(dir, name));
      assert.is(err.offset, rec.offset, `flip at ${at}`);
      assert.ok(err.message.includes(path.join(dir, name)));
      assert.ok(err.message.includes(`offset ${rec.offset}`));
      // A refused open leaves the file untouched.
      assert.equal(readFileSync(path.join(dir, name)), bad);
      rmSync(dir, { recursive: true });
    }
  }
});

test('a zeroed header before intact records is corruption, not a torn tail', async () => {
  const root = tempRoot();
  const { bytes } = await buildSingle(root);
  const recs = records(bytes);
  const victim = recs[5] as Rec;
  const bad = Buffer.from(bytes);
  bad.fill(0, victim.offset, victim.end);
  const err = await openCorrupt(dirWith(root, 'zeroed-middle', { [segmentName(0, 0)]: bad }));
  assert.is(err.offset, victim.offset);
  assert.match(err.message, /intact record follows/);
});

test('a hole in the entry indexes is corruption', async () => {
  const root = tempRoot();
  const dir = path.join(root, 'hole');
  const wal = await Wal.create(dir, META);
  await wal.save(hs(1, 1), [entry(1, 1), entry(2, 1)]);
  await wal.save(undefined, [entry(5, 1)]);
  await wal.save(undefined, [entry(6, 1)]);
  await wal.close();
  const bytes = readFileSync(path.join(dir, segmentName(0, 0)));
  const fifth = records(bytes).filter((r) => r.type === RecordType.Entry)[2] as Rec;
  const err = await openCorrupt(dir);
  assert.is(err.offset, fifth.offset);
  assert.match(err.message, /hole/);
});

/** A wal of several segments; entry data derived from `tag` so two builds have equal sizes. */
async function buildMulti(root: string, label: string, tag: string): Promise<string> {
  const dir = path.join(root, label);
  const wal = await Wal.create(dir, META, { segmentBytes: 512 });
  for (let i = 1; i <= 40; i++) await wal.save(hs(1, i - 1), [entry(i, 1, `${tag}`.repeat(30))]);
  await wal.close();
  assert.ok(walFiles(dir).length >= 4);
  return dir;
}

test('segment-level damage: missing segment, broken chain, renamed segment, damaged non-last segment', async () => {
  const root = tempRoot();
  const a = await buildMulti(root, 'a', 'A');
  const b = await buildMulti(root, 'b', 'B');
  const names = walFiles(a);
  assert.equal(names, walFiles(b));
  const files = (dir: string) => Object.fromEntries(walFiles(dir).map((n) => [n, readFileSync(path.join(dir, n))]));
  const good = files(a);

  // Intact copy opens.
  const ok = await Wal.open(dirWith(root, 'copy', good));
  assert.is(ok.entries.length, 40);
  await ok.wal.close();

  // A segment missing from the middle of the sequence.
  const missing = dirWith(root, 'missing', good);
  unlinkSync(path.join(missing, names[2] as string));
  let err = await openCorrupt(missing);
  assert.is(err.file, path.join(missing, names[3] as string));
  assert.match(err.message, /missing/);

  // A segment from another wal with the same name: the crc chain does not continue.
  const spliced = dirWith(root, 'spliced', { ...good, [names[2] as string]: files(b)[names[2] as string] as Buffer });
  err = await openCorrupt(spliced);
  assert.is(err.file, path.join(spliced, names[2] as string));
  assert.is(err.offset, 0);
  assert.match(err.message, /chain/);

  // A segment whose name does not match its crc record.
  const renamed = dirWith(root, 'renamed', good);
  const last = names[names.length - 1] as string;
  const wrongName = segmentName(names.length - 1, 9999);
  renameSync(path.join(renamed, last), path.join(renamed, wrongName));
  err = await openCorrupt(renamed);
  assert.is(err.file, path.join(renamed, wrongName));

  // The final record of a segment that is not the last: never a torn tail.
  const first = good[names[0] as string] as Buffer;
  const recs = records(first);
  const lastRec = recs[recs.length - 1] as Rec;
  const bad = Buffer.from(first);
  bad[lastRec.end - 12] = (bad[lastRec.end - 12] as number) ^ 0xff;
  const damaged = dirWith(root, 'damaged-first', { ...good, [names[0] as string]: bad });
  err = await openCorrupt(damaged);
  assert.is(err.file, path.join(damaged, names[0] as string));
  assert.is(err.offset, lastRec.offset);

  // Truncating a non-last segment loses records: the next segment's chain check catches it.
  const cutShort = dirWith(root, 'cut-short', { ...good, [names[1] as string]: (good[names[1] as string] as Buffer).subarray(0, records(good[names[1] as string] as Buffer).at(-1)?.offset ?? 0) });
  err = await openCorrupt(cutShort);
  assert.is(err.file, path.join(cutShort, names[2] as string));

  // The last segment cut inside its leading crc/metadata records.
  const lastBytes = good[last] as Buffer;
  for (const cut of [0, 10, 16, 40]) {
    const d = dirWith(root, `lead-${cut}`, { ...good, [last]: lastBytes.subarray(0, cut) });
    err = await openCorrupt(d);
    assert.is(err.file, path.join(d, last));
  }
});

test.run();
