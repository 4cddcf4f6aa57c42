import { crc32cRange } from '../util/crc32c.js';
import { isRecordType, type RecordType } from './record-type.js';

/**
 * One record on disk (all integers little-endian; see docs/wal-format.md):
 *
 *   0  u32  length   L, payload bytes
 *   4  u8   type     RecordType
 *   5  u8×3 zero
 *   8  u32  crc      CRC-32C of bytes [0, 8) then the payload, seeded with the crc of
 *                    the previous record (the chain)
 *  12  u32  hcrc     CRC-32C of bytes [0, 12), seed 0 (protects length and crc)
 *  16  payload[L]
 *  16+L zero[P]      P = (8 − L mod 8) mod 8
 *
 * Invariant: every record starts at a multiple of 8 within its file, so the 8-byte
 * length/type word never straddles a sector boundary.
 */

export const HEADER_BYTES = 16;
export const MAX_PAYLOAD_BYTES = 0xffff_fff0;

export function paddingFor(payloadBytes: number): number {
  return (8 - (payloadBytes % 8)) % 8;
}

export function frameBytes(payloadBytes: number): number {
  return HEADER_BYTES + payloadBytes + paddingFor(payloadBytes);
}

/**
 * Completes the record whose payload already sits at buf[off + 16, off + 16 + len):
 * writes the header, zeroes the padding, and returns the record's chained crc.
 */
export function sealRecord(buf: Buffer, off: number, type: RecordType, len: number, prevCrc: number): number {
  buf.writeUInt32LE(len, off);
  buf[off + 4] = type;
  buf[off + 5] = 0;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  const crc = recordCrc(buf, off, len, prevCrc);
  buf.writeUInt32LE(crc, off + 8);
  buf.writeUInt32LE(crc32cRange(buf, off, off + 12), off + 12);
  buf.fill(0, off + HEADER_BYTES + len, off + frameBytes(len));
  return crc;
}

/** The chained crc of the record at `off` with payload length `len`. */
export function recordCrc(buf: Uint8Array, off: number, len: number, prevCrc: number): number {
  const c = crc32cRange(buf, off, off + 8, prevCrc);
  return crc32cRange(buf, off + HEADER_BYTES, off + HEADER_BYTES + len, c);
}

export interface FrameHeader {
  readonly type: RecordType;
  readonly length: number;
  readonly crc: number;
}

/**
 * The header at `off` if it is intact: hcrc matches, type is known and the reserved
 * bytes are zero. Requires off + 16 <= buf.length.
 */
export function readHeader(buf: Buffer, off: number): FrameHeader | undefined {
  const type = buf[off + 4] as number;
  if (!isRecordType(type) || buf[off + 5] !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0) return undefined;
  if (buf.readUInt32LE(off + 12) !== crc32cRange(buf, off, off + 12)) return undefined;
  return { type, length: buf.readUInt32LE(off), crc: buf.readUInt32LE(off + 8) };
}

export function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * The offset of the first complete record with an intact header at an 8-aligned
 * offset >= from, or undefined. Used to tell a torn tail (nothing valid follows)
 * from corruption in the middle of the log.
 */
export function findIntactRecord(buf: Buffer, from: number): number | undefined {
  const n = buf.length;
  for (let q = Math.ceil(from / 8) * 8; q + HEADER_BYTES <= n; q += 8) {
    const t = buf[q + 4] as number;
    if (!isRecordType(t) || buf[q + 5] !== 0 || buf[q + 6] !== 0 || buf[q + 7] !== 0) continue;
    if (q + frameBytes(buf.readUInt32LE(q)) > n) continue;
    if (readHeader(buf, q) !== undefined) return q;
  }
  return undefined;
}
