import { findIntactRecord, frameBytes, HEADER_BYTES, isZero, readHeader, recordCrc } from './record-frame.js';
import { getCrc, type CrcPayload } from './record-payload.js';
import { RecordType } from './record-type.js';
import { WalCorruptError } from './wal-errors.js';

export interface ScannedRecord {
  readonly type: RecordType;
  /** Byte offset of the record's header in its file. */
  readonly offset: number;
  /** View into the segment buffer. */
  readonly payload: Buffer;
}

/** Why the last segment was cut short at `offset` (a torn write). */
export interface SegmentTear {
  readonly offset: number;
  readonly reason: string;
}

export interface SegmentScan {
  /** Verified records in file order; [0] is the crc record, [1] the metadata record. */
  readonly records: readonly ScannedRecord[];
  /** The segment's crc record: chain value carried in from the previous segment, seq and first index. */
  readonly head: CrcPayload;
  /** Chained crc of the last verified record. */
  readonly crc: number;
  /** Offset just past the last verified record; anything after it is zero fill or a torn write. */
  readonly validEnd: number;
  readonly tear: SegmentTear | undefined;
}

/**
 * Verifies one segment file held in `buf`.
 *
 * A defect (short header, header checksum mismatch, record running past the end of
 * the file, crc mismatch, non-zero padding, zero header followed by data) is a torn
 * write only when all of these hold: the segment is the last one, the crc and
 * metadata records before it are intact, and no complete record with an intact
 * header follows it. Otherwise the segment is corrupt and WalCorruptError names the
 * file and the offset of the defective record. Trailing zero bytes end the segment.
 */
export function scanSegment(buf: Buffer, file: string, isLast: boolean): SegmentScan {
  const n = buf.length;
  const records: ScannedRecord[] = [];
  let head: CrcPayload | undefined;
  let crc = 0;
  let p = 0;
  let tear: SegmentTear | undefined;

  const defect = (reason: string, searchFrom: number): SegmentTear => {
    if (!isLast) throw new WalCorruptError(file, p, reason);
    if (records.length < 2) throw new WalCorruptError(file, p, `${reason} (inside the segment's leading records)`);
    const q = findIntactRecord(buf, searchFrom);
    if (q !== undefined) throw new WalCorruptError(file, p, `${reason}; an intact record follows at offset ${q}`);
    return { offset: p, reason };
  };

  while (p < n) {
    if (n - p < HEADER_BYTES) {
      if (isZero(buf, p, n)) break;
      tear = defect('short header at end of file', n);
      break;
    }
    if (isZero(buf, p, p + HEADER_BYTES)) {
      if (isZero(buf, p, n)) break;
      tear = defect('zero header followed by non-zero bytes', p + HEADER_BYTES);
      break;
    }
    const h = readHeader(buf, p);
    if (h === undefined) {
      tear = defect('header checksum mismatch', p + 8);
      break;
    }
    const end = p + frameBytes(h.length);
    if (end > n) {
      tear = defect(`record of ${h.length} bytes runs past end of file (${n} bytes)`, n);
      break;
    }
    const payload = buf.subarray(p + HEADER_BYTES, p + HEADER_BYTES + h.length);
    let seed = crc;
    if (records.length === 0) {
      if (h.type !== RecordType.Crc) throw new WalCorruptError(file, p, 'segment does not start with a crc record');
      const c = getCrc(payload);
      if (typeof c === 'string') throw new WalCorruptError(file, p, c);
      head = c;
      seed = c.prevCrc;
    } else if (h.type === RecordType.Crc) {
      throw new WalCorruptError(file, p, 'crc record after the start of the segment');
    } else if (records.length === 1 && h.type !== RecordType.Metadata) {
      throw new WalCorruptError(file, p, 'second record of the segment is not metadata');
    }
    if (recordCrc(buf, p, h.length, seed) !== h.crc) {
      tear = defect('crc mismatch', end);
      break;
    }
    if (!isZero(buf, p + HEADER_BYTES + h.length, end)) {
      tear = defect('non-zero padding', end);
      break;
    }
    records.push({ type: h.type, offset: p, payload });
    crc = h.crc;
    p = end;
  }

  if (head === undefined || records.length < 2) {
    throw new WalCorruptError(file, p, 'segment ends before its crc and metadata records');
  }
  return { records, head, crc, validEnd: p, tear };
}
