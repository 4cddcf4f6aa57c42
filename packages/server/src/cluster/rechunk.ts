/**
 * Re-slices a byte source into chunks of exactly `size` bytes (the last one
 * may be shorter; an empty source yields nothing). A piece at least `size`
 * long arriving on a chunk boundary is sliced without copying.
 */
import type { Readable } from 'node:stream';

export type ByteSource = AsyncIterable<Uint8Array> | Readable;

function asBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  throw new TypeError(`snapshot data must yield bytes, got ${typeof piece}`);
}

export async function* rechunk(source: ByteSource, size: number): AsyncGenerator<Buffer, void, undefined> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer: ${size}`);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const raw of source as AsyncIterable<unknown>) {
    let piece = asBuffer(raw);
    while (piece.length > 0) {
      if (pendingBytes === 0 && piece.length >= size) {
        yield piece.subarray(0, size);
        piece = piece.subarray(size);
        continue;
      }
      const take = Math.min(size - pendingBytes, piece.length);
      pending.push(piece.subarray(0, take));
      pendingBytes += take;
      piece = piece.subarray(take);
      if (pendingBytes === size) {
        yield Buffer.concat(pending, size);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
