/**
 * Child processes for the recipe suites: worker scripts (run with tsx) and
 * long-running etcdctl commands (`etcdctl lock`, `etcdctl elect`), with
 * line-by-line stdout, deadlines on every wait, and PID-based cleanup
 * through the harness's process registry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerPid, unregisterPid } from '../../harness/process-registry.js';

/** The repository root (the directory holding pnpm-workspace.yaml). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

export interface Proc {
  readonly pid: number;
  readonly name: string;
  /** Every stdout line so far. */
  readonly lines: string[];
  /**
   * Resolves with the first stdout line from index `from` on (default 0: lines
   * already seen count) matching `match`; rejects after timeoutMs or on exit.
   */
  waitLine(match: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Writes a line to stdin. */
  send(line: string): void;
  /** Sends a signal to the process (by PID). */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly hasExited: boolean;
  stderr(): string;
  /** SIGKILL unless already exited, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs; waits for the exit. */
  stop(graceMs?: number): Promise<void>;
}

function wrap(child: ChildProcess, name: string): Proc {
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  const pid = child.pid;
  registerPid(pid);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let err = '';
  let done = false;
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
    for (const w of [...waiters]) w();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    err = (err + chunk).slice(-16_384);
  });
  child.stdin?.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      unregisterPid(pid);
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  const proc: Proc = {
    pid,
    name,
    lines,
    exited,
    get hasExited() {
      return done;
    },
    stderr: () => err,
    waitLine(match, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        let seen = from;
        const check = (): void => {
          for (; seen < lines.length; seen++) {
            const l = lines[seen]!;
            if (match.test(l)) {
              finish();
              resolve(l);
              return;
            }
          }
          if (done) {
            finish();
            reject(new Error(`${name} exited before printing ${match}; stdout: ${JSON.stringify(lines)}; stderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${name}: no line matching ${match} within ${timeoutMs} ms; stdout: ${JSON.stringify(lines)}; stderr: ${err}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
    signal(sig) {
      if (done) return;
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    },
    async kill() {
      proc.signal('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      if (done) return;
      proc.signal('SIGTERM');
      const t = setTimeout(() => proc.signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  return proc;
}

/** Runs test/recipes/workers/<name>.ts with `node --import tsx`. */
export function spawnWorker(name: string, args: readonly string[]): Proc {
  const root = repoRoot();
  const script = join(root, 'test', 'recipes', 'workers', `${name}.ts`);
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  return wrap(child, `worker ${name}`);
}

/** Starts a long-running `etcdctl --endpoints=<endpoint> ...args` (API v3). */
export function spawnEtcdctl(endpoint: string, args: readonly string[]): Proc {
  const file = process.env['ETCDCTL_BIN'] ?? '/usr/bin/etcdctl';
  const env: Record<string, string | undefined> = { ...process.env, ETCDCTL_API: '3' };
  for (const k of Object.keys(env)) if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API') delete env[k];
  const child = spawn(file, [`--endpoints=${endpoint}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  return wrap(child, `etcdctl ${args.join(' ')}`);
}
