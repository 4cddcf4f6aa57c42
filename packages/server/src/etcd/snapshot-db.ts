/**
 * The state-machine half of a raft snapshot sent between members: the backend
 * database itself, as etcd sends its bolt file. The leader streams a consistent
 * copy of its current database (a "merged" snapshot: it may cover entries past
 * the snapshot's raft index; the receiver skips those by the database's
 * consistent index). The receiver stores it as <snap dir>/<index, 16 hex>.snap.db
 * before raft sees the snapshot message, and installs it when the snapshot is
 * applied.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LmdbBackend } from '../backend/lmdb-backend.js';
import { fsyncDir, mkdirDurable } from '../util/fs-sync.js';

const SUFFIX = '.snap.db';

export function snapshotDbPath(snapDir: string, index: number): string {
  return join(snapDir, `${index.toString(16).padStart(16, '0')}${SUFFIX}`);
}

/** A consistent, compacted copy of the backend in a temporary file, until disposed. */
export interface BackendCopy {
  readonly bytes: number;
  /** The copy in chunks of chunkBytes (the last may be shorter). */
  chunks(chunkBytes: number): AsyncIterable<Buffer>;
  /** Deletes the copy. */
  dispose(): Promise<void>;
}

export async function openBackendCopy(backend: LmdbBackend): Promise<BackendCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-ts-snap-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'db');
    await backend.backup(file, true);
    const { size } = await stat(file);
    return { bytes: size, chunks: (chunkBytes) => createReadStream(file, { highWaterMark: chunkBytes }), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A consistent copy of the backend, streamed in 1 MiB chunks and then deleted. */
export async function* backendSnapshotChunks(backend: LmdbBackend): AsyncGenerator<Uint8Array> {
  const copy = await openBackendCopy(backend);
  try {
    yield* copy.chunks(1024 * 1024);
  } finally {
    await copy.dispose();
  }
}

/** Writes a received database durably under its snapshot index; a partial file never has the final name. */
export async function receiveSnapshotDb(snapDir: string, index: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  await mkdirDurable(snapDir);
  const final = snapshotDbPath(snapDir, index);
  const tmp = `${final}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    for await (const chunk of chunks) await fh.write(chunk);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, final);
  await fsyncDir(snapDir);
}

/**
 * Moves the received database for index into place as the backend file
 * (the caller has closed the old backend), and drops older received files.
 */
export async function installSnapshotDb(snapDir: string, index: number, backendFile: string): Promise<void> {
  await rename(snapshotDbPath(snapDir, index), backendFile);
  await unlink(`${backendFile}-lock`).catch(() => {});
  await fsyncDir(snapDir);
  for (const name of await readdir(snapDir)) {
    if (name.endsWith(SUFFIX) || name.endsWith(`${SUFFIX}.tmp`)) await unlink(join(snapDir, name)).catch(() => {});
  }
}
