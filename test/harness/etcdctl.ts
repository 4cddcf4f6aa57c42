import { spawn } from 'node:child_process';
import { registerPid, unregisterPid } from './process-registry.js';

export interface EtcdctlOptions {
  /** Written to etcdctl's stdin, which is then closed. */
  stdin?: string;
  /** Kill etcdctl (SIGKILL) after this long. Default 20 s. */
  timeoutMs?: number;
  /** Extra environment (ETCDCTL_API=3 is always set). */
  env?: Readonly<Record<string, string>>;
  /** Runs etcdctl through this command, e.g. `ip netns exec <ns>`; the PID stays etcdctl's. */
  commandPrefix?: readonly string[];
}

export interface EtcdctlResult {
  /** Exit code; null when killed by a signal (e.g. the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `etcdctl --endpoints=<endpoint> ...args` (API v3) and collects its output. */
export function runEtcdctl(endpoint: string, args: readonly string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const file = process.env['ETCDCTL_BIN'] ?? '/usr/bin/etcdctl';
  const env: Record<string, string | undefined> = { ...process.env, ...(opts.env ?? {}), ETCDCTL_API: '3' };
  // Flags given through the caller's environment would change the command under test.
  for (const k of Object.keys(env)) {
    if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API' && !(opts.env && k in opts.env)) delete env[k];
  }
  const timeoutMs = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const [cmd, ...cmdArgs] = [...(opts.commandPrefix ?? []), file, `--endpoints=${endpoint}`, ...args] as [string, ...string[]];
    const child = spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'pipe'], env });
    if (child.pid === undefined) {
      child.once('error', reject);
      return;
    }
    const pid = child.pid;
    registerPid(pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      // etcdctl may exit before reading all of stdin
    });
    child.stdin.end(opts.stdin ?? '');
    child.once('error', (e) => {
      clearTimeout(timer);
      unregisterPid(pid);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      unregisterPid(pid);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
}
