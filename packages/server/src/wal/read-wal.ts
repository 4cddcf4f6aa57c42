import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { emptyHardState, type Entry, type HardState } from '../raft/types.js';
import { getEntry, getHardState, getSnapshot, type WalSnapshot } from './record-payload.js';
import { RecordType } from './record-type.js';
import { scanSegment, type SegmentTear } from './scan-segment.js';
import { parseSegmentName, type SegmentName } from './segment-name.js';
import {
  WalCorruptError,
  WalNotFoundError,
  WalSnapshotMismatchError,
  WalSnapshotNotFoundError,
} from './wal-errors.js';

export interface SegmentFile extends SegmentName {
  readonly name: string;
}

export interface WalReadResult {
  /** Every segment file in the directory, ordered by seq. */
  readonly segments: SegmentFile[];
  readonly metadata: Uint8Array;
  readonly hardState: HardState;
  /** The log after the snapshot: entries[i].index === snapshot.index + 1 + i. */
  readonly entries: Entry[];
  /** Chained crc of the last verified record. */
  readonly crc: number;
  /** Last entry index written, raised by snapshot markers, as the writer tracks it. */
  readonly lastIndex: number;
  /** Largest snapshot marker index read (at least the one opened from). */
  readonly snapshotIndex: number;
  /** The last hard state record seen, if any (re-recorded at each segment cut). */
  readonly lastHardState: HardState | undefined;
  readonly tail: { readonly file: SegmentFile; readonly validEnd: number; readonly size: number; readonly tear: SegmentTear | undefined };
}

/** Segment files of `dir` ordered by seq; throws WalNotFoundError when there are none. */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new WalNotFoundError(dir);
    throw err;
  }
  const segs: SegmentFile[] = [];
  for (const name of names) {
    const parsed = parseSegmentName(name);
    if (parsed !== undefined) segs.push({ name, ...parsed });
  }
  if (segs.length === 0) throw new WalNotFoundError(dir);
  segs.sort((a, b) => a.seq - b.seq);
  return segs;
}

/**
 * Reads and verifies every segment that can hold records after `snap`, applying
 * raft's overwrite rule: an entry at index i replaces the entry at i and drops every
 * entry after it, also when i <= snap.index. Does not modify any file.
 */
export async function readWal(dir: string, snap: WalSnapshot): Promise<WalReadResult> {
  const segments = await listSegments(dir);

  // The last segment whose first index is <= snap.index holds the snapshot marker or
  // precedes the segment that does.
  let start = -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    if ((segments[i] as SegmentFile).index <= snap.index) {
      start = i;
      break;
    }
  }
  if (start < 0) throw new WalSnapshotNotFoundError(snap.index, snap.term);

  let metadata: Uint8Array | undefined;
  let hardState: HardState | undefined;
  const entries: Entry[] = [];
  let lastIndex = Math.max(0, (segments[start] as SegmentFile).index - 1);
  let crc = 0;
  let matched = false;
  let snapshotIndex = snap.index;
  let tail: WalReadResult['tail'] | undefined;

  for (let i = start; i < segments.length; i++) {
    const seg = segments[i] as SegmentFile;
    const file = path.join(dir, seg.name);
    if (i > start) {
      const prev = segments[i - 1] as SegmentFile;
      if (seg.seq !== prev.seq + 1) {
        throw new WalCorruptError(file, 0, `segment with seq ${prev.seq + 1} is missing before it`);
      }
    }
    const buf = await readFile(file);
    const isLast = i === segments.length - 1;
    const scan = scanSegment(buf, file, isLast);
    if (scan.head.seq !== seg.seq || scan.head.index !== seg.index) {
      throw new WalCorruptError(file, 0, `crc record names seq ${scan.head.seq} index ${scan.head.index}, not the file's`);
    }
    if (i > start && scan.head.prevCrc !== crc) {
      throw new WalCorruptError(file, 0, `crc chain broken: segment continues ${scan.head.prevCrc}, previous segment ends with ${crc}`);
    }
    for (const rec of scan.records) {
      switch (rec.type) {
        case RecordType.Crc:
          break;
        case RecordType.Metadata:
          if (metadata === undefined) {
            metadata = new Uint8Array(rec.payload);
          } else if (!rec.payload.equals(metadata)) {
            throw new WalCorruptError(file, rec.offset, 'metadata differs from earlier segments');
          }
          break;
        case RecordType.Entry: {
          const e = getEntry(rec.payload);
          if (typeof e === 'string') throw new WalCorruptError(file, rec.offset, e);
          if (e.index > snap.index) {
            const pos = e.index - snap.index - 1;
            if (pos > entries.length) {
              throw new WalCorruptError(
                file,
                rec.offset,
                `entry index ${e.index} leaves a hole after index ${snap.index + entries.length}`,
              );
            }
            entries.length = pos;
            entries.push(e);
          } else {
            // The log now ends at or before the snapshot: nothing after it survives.
            entries.length = 0;
          }
          lastIndex = e.index;
          break;
        }
        case RecordType.HardState: {
          const hs = getHardState(rec.payload);
          if (typeof hs === 'string') throw new WalCorruptError(file, rec.offset, hs);
          hardState = hs;
          break;
        }
        case RecordType.Snapshot: {
          const s = getSnapshot(rec.payload);
          if (typeof s === 'string') throw new WalCorruptError(file, rec.offset, s);
          if (s.index === snap.index) {
            if (s.term !== snap.term) throw new WalSnapshotMismatchError(snap.index, snap.term, s.term);
            matched = true;
          }
          if (s.index > lastIndex) lastIndex = s.index;
          if (s.index > snapshotIndex) snapshotIndex = s.index;
          break;
        }
      }
    }
    crc = scan.crc;
    if (isLast) tail = { file: seg, validEnd: scan.validEnd, size: buf.length, tear: scan.tear };
  }

  if (!matched) throw new WalSnapshotNotFoundError(snap.index, snap.term);
  if (metadata === undefined || tail === undefined) throw new WalNotFoundError(dir);
  return {
    segments,
    metadata,
    hardState: hardState ?? emptyHardState,
    entries,
    crc,
    lastIndex,
    snapshotIndex,
    lastHardState: hardState,
    tail,
  };
}
