import { crc32c } from '@node-rs/crc32';
import type { Backend } from '../backend/backend.js';
import { Buckets } from '../backend/backend.js';
import { CONSISTENT_INDEX_KEY } from './meta-keys.js';
import { ErrCompacted, ErrFutureRev } from './mvcc-error.js';
import { bytesToMain, bytesToSub, uint64ToBytes } from './revision.js';
import type { TreeIndex } from './tree-index.js';

export interface HashKVResult {
  /** CRC-32C (Castagnoli) as etcd's HashKV computes it. */
  readonly hash: number;
  readonly currentRev: number;
  /** The store's compacted revision (-1 when it was never compacted). */
  readonly compactRev: number;
}

const KEY_BUCKET_NAME = Buffer.from('key');
const CHUNK = 64 * 1024;

/** Feeds byte strings to CRC-32C in large chunks (one native call per chunk). */
class Crc32cWriter {
  #crc = 0;
  #buf = Buffer.allocUnsafe(CHUNK);
  #n = 0;

  write(b: Uint8Array): void {
    if (b.length > CHUNK) {
      this.#flush();
      this.#crc = crc32c(b, this.#crc);
      return;
    }
    if (this.#n + b.length > CHUNK) this.#flush();
    this.#buf.set(b, this.#n);
    this.#n += b.length;
  }

  #flush(): void {
    if (this.#n > 0) this.#crc = crc32c(this.#buf.subarray(0, this.#n), this.#crc);
    this.#n = 0;
  }

  sum(): number {
    this.#flush();
    return this.#crc >>> 0;
  }
}

/**
 * etcd 3.4's HashKV (store.HashByRev): CRC-32C over the bucket name "key"
 * followed by the key and value bytes of every key-bucket record with main
 * revision <= rev, in key order; records with main revision <=
 * compactRev are skipped unless the index would keep them in a compaction at
 * rev (when that keep set is empty nothing is skipped). rev 0 means
 * currentRev.
 */
export function hashByRev(
  backend: Backend,
  index: TreeIndex,
  currentRev: number,
  compactRev: number,
  rev: number,
): HashKVResult {
  if (rev > 0 && rev <= compactRev) throw new ErrCompacted(compactRev);
  if (rev > 0 && rev > currentRev) throw new ErrFutureRev(currentRev);
  if (rev <= 0) rev = currentRev;
  const keep = index.keep(rev);
  const h = new Crc32cWriter();
  h.write(KEY_BUCKET_NAME);
  backend.scan('key', Buffer.alloc(0), uint64ToBytes(rev + 1), (k, v) => {
    const main = bytesToMain(k);
    if (main <= compactRev && keep.size > 0 && !keep.hasMainSub(main, bytesToSub(k))) return;
    h.write(k);
    h.write(v);
  });
  return { hash: h.sum(), currentRev, compactRev };
}

/**
 * etcd's whole-database hash (Maintenance.Hash): for every bucket in name
 * order, the bucket name then the key and value bytes of each record, except
 * meta/consistent_index.
 */
export function hashBackend(backend: Backend): number {
  const names = [...Buckets].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = new Crc32cWriter();
  for (const name of names) {
    h.write(Buffer.from(name));
    backend.scan(name, Buffer.alloc(0), undefined, (k, v) => {
      if (name === 'meta' && Buffer.compare(k, CONSISTENT_INDEX_KEY) === 0) return;
      h.write(k);
      h.write(v);
    });
  }
  return h.sum();
}
