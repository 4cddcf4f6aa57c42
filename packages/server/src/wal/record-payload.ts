import type { Entry, EntryType, HardState } from '../raft/types.js';

/**
 * Payload layouts (little-endian; u64 values that are terms or indexes must be
 * safe integers, i.e. < 2^53):
 *
 *   entry      u64 index · u64 term · u8 type · data (rest of the payload)
 *   hard state u64 term · u64 vote · u64 commit                    (24 bytes)
 *   snapshot   u64 index · u64 term                                (16 bytes)
 *   crc        u32 prevCrc · u32 zero · u64 seq · u64 firstIndex   (24 bytes)
 *   metadata   opaque bytes
 */

export const ENTRY_FIXED_BYTES = 17;
export const HARD_STATE_BYTES = 24;
export const SNAPSHOT_BYTES = 16;
export const CRC_PAYLOAD_BYTES = 24;

const TWO_32 = 2 ** 32;
const MAX_SAFE_HI = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);

export interface WalSnapshot {
  readonly index: number;
  readonly term: number;
}

export interface CrcPayload {
  readonly prevCrc: number;
  readonly seq: number;
  readonly index: number;
}

function putU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32LE(n >>> 0, off);
  buf.writeUInt32LE(Math.floor(n / TWO_32), off + 4);
}

/** A u64 as a safe integer, or -1 when it is 2^53 or larger. */
function getU64(buf: Buffer, off: number): number {
  const hi = buf.readUInt32LE(off + 4);
  if (hi > MAX_SAFE_HI) return -1;
  const n = hi * TWO_32 + buf.readUInt32LE(off);
  return n > Number.MAX_SAFE_INTEGER ? -1 : n;
}

export function putEntry(buf: Buffer, off: number, e: Entry): void {
  putU64(buf, off, e.index);
  putU64(buf, off + 8, e.term);
  buf[off + 16] = e.type;
  buf.set(e.data, off + ENTRY_FIXED_BYTES);
}

export function putHardState(buf: Buffer, off: number, hs: HardState): void {
  putU64(buf, off, hs.term);
  buf.writeBigUInt64LE(hs.vote, off + 8);
  putU64(buf, off + 16, hs.commit);
}

export function putSnapshot(buf: Buffer, off: number, s: WalSnapshot): void {
  putU64(buf, off, s.index);
  putU64(buf, off + 8, s.term);
}

export function putCrc(buf: Buffer, off: number, c: CrcPayload): void {
  buf.writeUInt32LE(c.prevCrc, off);
  buf.writeUInt32LE(0, off + 4);
  putU64(buf, off + 8, c.seq);
  putU64(buf, off + 16, c.index);
}

/* Decoders take the payload as its own Buffer view and return a reason string when it is malformed. */

export function getEntry(p: Buffer): Entry | string {
  if (p.length < ENTRY_FIXED_BYTES) return `entry payload of ${p.length} bytes is too short`;
  const index = getU64(p, 0);
  const term = getU64(p, 8);
  const type = p[16] as number;
  if (index < 0 || term < 0) return 'entry index or term beyond 2^53';
  if (type > 2) return `unknown entry type ${type}`;
  const data = new Uint8Array(p.length - ENTRY_FIXED_BYTES);
  data.set(p.subarray(ENTRY_FIXED_BYTES));
  return { term, index, type: type as EntryType, data };
}

export function getHardState(p: Buffer): HardState | string {
  if (p.length !== HARD_STATE_BYTES) return `hard state payload of ${p.length} bytes`;
  const term = getU64(p, 0);
  const commit = getU64(p, 16);
  if (term < 0 || commit < 0) return 'hard state term or commit beyond 2^53';
  return { term, vote: p.readBigUInt64LE(8), commit };
}

export function getSnapshot(p: Buffer): WalSnapshot | string {
  if (p.length !== SNAPSHOT_BYTES) return `snapshot payload of ${p.length} bytes`;
  const index = getU64(p, 0);
  const term = getU64(p, 8);
  if (index < 0 || term < 0) return 'snapshot index or term beyond 2^53';
  return { index, term };
}

export function getCrc(p: Buffer): CrcPayload | string {
  if (p.length !== CRC_PAYLOAD_BYTES) return `crc payload of ${p.length} bytes`;
  const seq = getU64(p, 8);
  const index = getU64(p, 16);
  if (p.readUInt32LE(4) !== 0 || seq < 0 || index < 0) return 'malformed crc payload';
  return { prevCrc: p.readUInt32LE(0), seq, index };
}
