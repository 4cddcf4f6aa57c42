import { mkdir, open } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Durability helpers: a created or renamed directory entry is only durable once the
 * directory that holds it has been fsynced (POSIX leaves this to the application).
 */

/** fsync a directory so that entries created, renamed or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p that makes every directory it creates durable: each new directory and
 * the parent it was created in are fsynced.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const first = await mkdir(abs, { recursive: true });
  if (first === undefined) return;
  // Every directory from `first` down to `abs` is new; sync each and its parent.
  const created: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    created.push(d);
    if (d === first || path.dirname(d) === d) break;
  }
  for (const d of created) await fsyncDir(d);
  await fsyncDir(path.dirname(first));
}
