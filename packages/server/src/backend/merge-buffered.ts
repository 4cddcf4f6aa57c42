import type { BufferedWrite } from './write-buffer.js';

/**
 * The entries of a database range seen through the writes buffered for the
 * same range: both inputs are in the same order (ascending, or descending when
 * reverse); a buffered write replaces the database entry of its key, and a
 * buffered delete hides it. At most limit entries (0: no limit).
 */
export function* mergeBuffered<K extends Uint8Array, V extends Uint8Array>(
  stored: Iterable<[key: K, value: V]>,
  buffered: Iterable<BufferedWrite>,
  reverse: boolean,
  limit: number,
): IterableIterator<[key: K | Buffer, value: V | Buffer]> {
  const a = stored[Symbol.iterator]();
  const b = buffered[Symbol.iterator]();
  const sign = reverse ? -1 : 1;
  let x = a.next();
  let y = b.next();
  let n = 0;
  while (!(x.done === true && y.done === true)) {
    if (limit > 0 && n >= limit) return;
    const order = x.done === true ? 1 : y.done === true ? -1 : sign * Buffer.compare(x.value[0], y.value.key);
    if (order < 0) {
      // stored entries may be views of a buffer the next read reuses: hand each out before reading on
      n++;
      yield x.value!;
      x = a.next();
      continue;
    }
    const w = y.value!;
    if (order === 0) x = a.next();
    y = b.next();
    if (w.value === null) continue;
    n++;
    yield [w.key, w.value];
  }
}
