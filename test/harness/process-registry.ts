import { rmSync } from 'node:fs';

/**
 * Every process and temp dir the harness creates is recorded here, so that a
 * test that fails, throws or is interrupted still leaves nothing behind: on
 * process exit each live child is killed by its PID and each dir removed.
 */
const livePids = new Set<number>();
const tempDirs = new Set<string>();
let installed = false;

function cleanupSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  tempDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export function registerPid(pid: number): void {
  install();
  livePids.add(pid);
}

export function unregisterPid(pid: number): void {
  livePids.delete(pid);
}

export function registerTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function unregisterTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/** PIDs still believed alive (for assertions in harness self-tests). */
export function livePidCount(): number {
  return livePids.size;
}
