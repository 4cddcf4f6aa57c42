import type { Entry, HardState } from '../raft/types.js';
import { frameBytes, HEADER_BYTES, sealRecord } from './record-frame.js';
import {
  CRC_PAYLOAD_BYTES,
  ENTRY_FIXED_BYTES,
  HARD_STATE_BYTES,
  putCrc,
  putEntry,
  putHardState,
  putSnapshot,
  SNAPSHOT_BYTES,
  type CrcPayload,
  type WalSnapshot,
} from './record-payload.js';
import { RecordType } from './record-type.js';

/**
 * Frames records back to back into one buffer, continuing the crc chain from
 * `prevCrc`. Invariant: `crc` is the chained crc of the last record added (or
 * `prevCrc` when none was), and `length` is a multiple of 8.
 */
export class RecordEncoder {
  private buf: Buffer;
  private off = 0;
  private chain: number;

  constructor(prevCrc: number, capacity = 4096) {
    this.chain = prevCrc;
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  get crc(): number {
    return this.chain;
  }

  get length(): number {
    return this.off;
  }

  /** The encoded records; a view into the encoder's buffer. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  addEntry(e: Entry): void {
    const len = ENTRY_FIXED_BYTES + e.data.length;
    const at = this.reserve(len);
    putEntry(this.buf, at + HEADER_BYTES, e);
    this.seal(at, RecordType.Entry, len);
  }

  addHardState(hs: HardState): void {
    const at = this.reserve(HARD_STATE_BYTES);
    putHardState(this.buf, at + HEADER_BYTES, hs);
    this.seal(at, RecordType.HardState, HARD_STATE_BYTES);
  }

  addSnapshot(s: WalSnapshot): void {
    const at = this.reserve(SNAPSHOT_BYTES);
    putSnapshot(this.buf, at + HEADER_BYTES, s);
    this.seal(at, RecordType.Snapshot, SNAPSHOT_BYTES);
  }

  addMetadata(metadata: Uint8Array): void {
    const at = this.reserve(metadata.length);
    this.buf.set(metadata, at + HEADER_BYTES);
    this.seal(at, RecordType.Metadata, metadata.length);
  }

  /** The first record of every segment; `c.prevCrc` must equal the current chain value. */
  addCrc(c: CrcPayload): void {
    const at = this.reserve(CRC_PAYLOAD_BYTES);
    putCrc(this.buf, at + HEADER_BYTES, c);
    this.seal(at, RecordType.Crc, CRC_PAYLOAD_BYTES);
  }

  private reserve(payloadBytes: number): number {
    const need = this.off + frameBytes(payloadBytes);
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.off);
      this.buf = grown;
    }
    const at = this.off;
    this.off = need;
    return at;
  }

  private seal(at: number, type: RecordType, len: number): void {
    this.chain = sealRecord(this.buf, at, type, len, this.chain);
  }
}
