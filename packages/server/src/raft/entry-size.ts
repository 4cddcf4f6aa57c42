import type { Entry } from './types.js';

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Encoded size of an entry as raftpb.Entry on the wire; the unit of maxSizePerMsg. */
export function entrySize(e: Entry): number {
  const len = e.data.byteLength;
  return 1 + varintSize(e.type) + 1 + varintSize(e.term) + 1 + varintSize(e.index) + 1 + varintSize(len) + len;
}

/** Size of an entry's payload alone; the unit of the uncommitted-size limit. */
export function payloadSize(e: Entry): number {
  return e.data.byteLength;
}

/**
 * The longest prefix of ents whose total entrySize stays within maxSize, but
 * never fewer than one entry so that replication always makes progress.
 */
export function limitSize(ents: readonly Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return [];
  let size = entrySize(ents[0]!);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!);
    if (size > maxSize) break;
  }
  return ents.slice(0, limit);
}
