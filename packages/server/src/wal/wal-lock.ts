import { open, readFile, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { WalLockedError } from './wal-errors.js';

/** Name of the lock file inside a WAL directory; holds the owner's pid. */
export const LOCK_FILE_NAME = 'wal.lock';

/** Directories (absolute paths) held by a live Wal of this process. */
const heldDirs = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Exclusive ownership of a WAL directory: an in-process guard keyed by absolute
 * path plus a pid lock file against other processes. A lock file whose pid is dead,
 * or is this process's own pid while no Wal of this process holds the directory,
 * is stale and taken over.
 */
export class WalLock {
  private released = false;

  private constructor(
    readonly dir: string,
    private lockFile: string | undefined,
  ) {}

  /**
   * Takes the in-process guard for `dir` (absolute) and writes the lock file into
   * `fileDir` (defaults to `dir`; create writes into its temp directory first).
   */
  static async acquire(dir: string, fileDir: string = dir): Promise<WalLock> {
    if (heldDirs.has(dir)) throw new WalLockedError(dir, 'by this process');
    heldDirs.add(dir);
    const lock = new WalLock(dir, undefined);
    try {
      lock.lockFile = await writeLockFile(dir, path.join(fileDir, LOCK_FILE_NAME));
    } catch (err) {
      heldDirs.delete(dir);
      throw err;
    }
    return lock;
  }

  /** Records that the directory holding the lock file was renamed to `dir`. */
  relocated(): void {
    this.lockFile = path.join(this.dir, LOCK_FILE_NAME);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      if (this.lockFile !== undefined) await unlink(this.lockFile);
    } catch {
      // A missing lock file leaves nothing to release.
    } finally {
      heldDirs.delete(this.dir);
    }
  }
}

async function writeLockFile(dir: string, file: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = Number.NaN;
    try {
      pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    } catch {
      continue;
    }
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new WalLockedError(dir, `lock file ${file} names live process ${pid}`);
    }
    // Stale: move it aside atomically so that only one contender removes it.
    const aside = `${file}.stale.${process.pid}`;
    try {
      await rename(file, aside);
      await unlink(aside);
    } catch {
      // Another contender took it; retry.
    }
  }
  throw new WalLockedError(dir, `could not take lock file ${file}`);
}
