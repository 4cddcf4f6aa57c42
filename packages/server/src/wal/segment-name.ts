/**
 * Segment file names, as etcd: `<seq>-<index>.wal`, both 16 lower-case hex digits.
 * `seq` counts segments from 0 without gaps; `index` is the raft index the first
 * entry appended to the segment was expected to have (last index + 1 at the cut),
 * so every entry in earlier segments that is still part of the log has a smaller index.
 */

export interface SegmentName {
  readonly seq: number;
  readonly index: number;
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentName(seq: number, index: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.wal`;
}

/** Parses a segment file name; undefined for anything else (including values beyond 2^53). */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(name);
  if (m === null) return undefined;
  const seq = Number.parseInt(m[1] as string, 16);
  const index = Number.parseInt(m[2] as string, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(index)) return undefined;
  return { seq, index };
}
