/**
 * Raft snapshot files, in etcd's place and naming: <data-dir>/member/snap/
 * <term, 16 hex>-<index, 16 hex>.snap. A snapshot of this member carries the
 * raft metadata (index, term, configuration); the state machine itself is the
 * backend, made durable before the snapshot is written.
 *
 * File format: u32 BE CRC32C of the payload, then the payload, a
 * raftpb.Snapshot. Files are written to a temporary name, fsynced, renamed and
 * the directory fsynced, so a file with a .snap name is always complete; a file
 * that fails its CRC is renamed to .broken and the next older one is used.
 */
import { readdir, readFile, rename, unlink, open } from 'node:fs/promises';
import { join } from 'node:path';
import { raftpb } from '@etcd-ts/api';
import type { Snapshot } from '../raft/types.js';
import { crc32c } from '../util/crc32c.js';
import { fsyncDir, mkdirDurable } from '../util/fs-sync.js';

const SUFFIX = '.snap';

export class SnapshotCorruptError extends Error {
  override readonly name = 'SnapshotCorruptError';
}

function fileName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}${SUFFIX}`;
}

export class Snapshotter {
  constructor(
    readonly dir: string,
    private readonly maxSnapshots = 5,
  ) {}

  async save(snap: Snapshot): Promise<void> {
    await mkdirDurable(this.dir);
    const { index, term, confState } = snap.metadata;
    const payload = raftpb.Snapshot.encode({
      data: snap.data,
      metadata: { index, term, confState: { voters: [...confState.voters], learners: [...confState.learners] } },
    });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(crc32c(payload) >>> 0);
    const name = fileName(term, index);
    const tmp = join(this.dir, `${name}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writev([header, payload]);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    await fsyncDir(this.dir);
    await this.purge();
  }

  /** The newest snapshot that passes its CRC, or undefined when there is none. */
  async loadNewest(): Promise<Snapshot | undefined> {
    for (const name of await this.names()) {
      const path = join(this.dir, name);
      const buf = await readFile(path);
      if (buf.length >= 4 && (crc32c(buf.subarray(4)) >>> 0) === buf.readUInt32BE(0)) {
        const s = raftpb.Snapshot.decode(buf.subarray(4));
        const md = s.metadata;
        if (md === undefined) throw new SnapshotCorruptError(`${path}: snapshot without metadata`);
        return {
          data: s.data,
          metadata: {
            index: md.index,
            term: md.term,
            confState: { voters: md.confState?.voters ?? [], learners: md.confState?.learners ?? [] },
          },
        };
      }
      await rename(path, `${path}.broken`);
    }
    return undefined;
  }

  /** .snap files, newest first. */
  private async names(): Promise<string[]> {
    let all: string[];
    try {
      all = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return all.filter((n) => n.endsWith(SUFFIX)).sort().reverse();
  }

  private async purge(): Promise<void> {
    const names = await this.names();
    for (const name of names.slice(this.maxSnapshots)) await unlink(join(this.dir, name));
  }
}
