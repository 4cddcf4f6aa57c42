import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from './free-port.js';
import { registerPid, registerTempDir, unregisterPid, unregisterTempDir } from './process-registry.js';
import { WaitAborted, waitFor, withTimeout } from './wait-for.js';

export type ServerKind = 'etcd' | 'etcd-ts';

export interface ServerOptions {
  /** Member name (--name). Default "default". */
  name?: string;
  /** --max-txn-ops */
  maxTxnOps?: number;
  /** --max-request-bytes */
  maxRequestBytes?: number;
  /** --log-level. Default "error". */
  logLevel?: string;
  /** More flags, appended after the common ones. */
  extraArgs?: readonly string[];
  /** Extra environment for the server process. */
  env?: Readonly<Record<string, string>>;
  /** Deadline for the server to answer a linearizable Range. Default 30 s. */
  readyTimeoutMs?: number;
  /** Fixed client and peer ports (a cluster's members must know each other's); default: free ports. */
  ports?: { client: number; peer: number };
  /** --initial-cluster; default: this member alone. */
  initialCluster?: string;
  /** --initial-cluster-state; default "new". */
  initialClusterState?: 'new' | 'existing';
  /** Copy the server's output to this process's stderr. Default: env HARNESS_VERBOSE=1. */
  verbose?: boolean;
  /** Address in the member's client and peer URLs. Default 127.0.0.1. */
  host?: string;
  /**
   * Runs the server under this command, e.g. `ip netns exec <ns>`. The wrapper
   * must exec the server in place, so that the PID is the member's.
   */
  commandPrefix?: readonly string[];
  /**
   * Readiness check for a member this process cannot reach (e.g. inside a
   * network namespace): resolves once the member serves a linearizable Range.
   * Default: a Range over gRPC to the client URL.
   */
  readyProbe?: () => Promise<unknown>;
}

export interface ServerHandle {
  readonly kind: ServerKind;
  /** "host:port" (host 127.0.0.1 unless opts.host), the form gRPC clients and etcdctl --endpoints take. */
  readonly endpoint: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  readonly dataDir: string;
  /** Command line of the server (without the executable). */
  readonly args: readonly string[];
  /** Whether the current process has exited. */
  readonly exited: boolean;
  /** Sends `signal` (default SIGTERM), waits for exit (escalating to SIGKILL after a deadline). Keeps the data dir. */
  stop(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGKILL and wait for exit. Keeps the data dir. */
  kill9(): Promise<ExitInfo>;
  /** Stops the process if running, then starts it again on the same ports and data dir and waits for readiness. */
  restart(): Promise<void>;
  /** Stops the process and removes the data dir. Idempotent. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The last ~64 KiB the process wrote to stdout/stderr. */
  output(): string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The repository root: the nearest ancestor holding pnpm-workspace.yaml (works from sources and from dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('cannot locate the repository root (pnpm-workspace.yaml)');
}

/** How to launch each kind; overridable with ETCD_BIN / ETCD_TS_BIN. */
function command(kind: ServerKind): { file: string; prefix: string[] } {
  if (kind === 'etcd') return { file: process.env['ETCD_BIN'] ?? '/usr/bin/etcd', prefix: [] };
  const script = process.env['ETCD_TS_BIN'] ?? resolve(repoRoot(), 'packages/server/bin/etcd-ts.js');
  return { file: process.execPath, prefix: [script] };
}

function serverArgs(name: string, dataDir: string, clientPort: number, peerPort: number, opts: ServerOptions): string[] {
  const host = opts.host ?? '127.0.0.1';
  const clientUrl = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:${peerPort}`;
  const args = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', opts.initialCluster ?? `${name}=${peerUrl}`,
    '--initial-cluster-state', opts.initialClusterState ?? 'new',
    '--log-level', opts.logLevel ?? 'error',
  ];
  if (opts.maxTxnOps !== undefined) args.push('--max-txn-ops', String(opts.maxTxnOps));
  if (opts.maxRequestBytes !== undefined) args.push('--max-request-bytes', String(opts.maxRequestBytes));
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

const OUTPUT_LIMIT = 64 * 1024;
const STOP_DEADLINE_MS = 10_000;

/**
 * A single-member server of the given kind on free loopback ports with a fresh
 * temp data dir. Resolves once a linearizable Range succeeds.
 */
export async function spawnServer(kind: ServerKind, opts: ServerOptions = {}): Promise<ServerHandle> {
  const name = opts.name ?? 'default';
  const verbose = opts.verbose ?? process.env['HARNESS_VERBOSE'] === '1';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const dataRoot = mkdtempSync(join(tmpdir(), `${kind}-test-`));
  registerTempDir(dataRoot);
  const dataDir = join(dataRoot, 'data');

  let output = '';
  let child: ChildProcess | undefined;
  let exitInfo: ExitInfo | undefined;
  let exitPromise: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  let disposed = false;
  let clientPort = 0;
  let peerPort = 0;
  let args: string[] = [];

  const append = (chunk: Buffer): void => {
    const s = chunk.toString('utf8');
    if (verbose) process.stderr.write(`[${kind}:${clientPort}] ${s}`);
    output += s;
    if (output.length > OUTPUT_LIMIT) output = output.slice(output.length - OUTPUT_LIMIT);
  };

  const launch = (): void => {
    const { file, prefix } = command(kind);
    const env = { ...process.env, ...(opts.env ?? {}) };
    // etcd reads ETCD_* variables as flags; keep the caller's environment from leaking in.
    for (const k of Object.keys(env)) if (k.startsWith('ETCD_') && !(opts.env && k in opts.env)) delete env[k];
    const [wrapper, ...wrapperArgs] = opts.commandPrefix ?? [];
    const c =
      wrapper === undefined
        ? spawn(file, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
        : spawn(wrapper, [...wrapperArgs, file, ...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (c.pid === undefined) throw new Error(`failed to spawn ${file}`);
    const pid = c.pid;
    registerPid(pid);
    child = c;
    exitInfo = undefined;
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    exitPromise = new Promise<ExitInfo>((res) => {
      c.once('exit', (code, signal) => {
        unregisterPid(pid);
        exitInfo = { code, signal };
        res(exitInfo);
      });
      c.once('error', (err) => {
        unregisterPid(pid);
        append(Buffer.from(`spawn error: ${err.message}\n`));
        exitInfo = { code: null, signal: null };
        res(exitInfo);
      });
    });
  };

  const host = opts.host ?? '127.0.0.1';
  const waitReady = async (): Promise<void> => {
    const probe = opts.readyProbe === undefined ? new grpc.Client(`${host}:${clientPort}`, grpc.credentials.createInsecure()) : undefined;
    try {
      await waitFor(
        async () => {
          if (exitInfo !== undefined) {
            throw new WaitAborted(`${kind} exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal})`);
          }
          if (probe === undefined) await opts.readyProbe?.();
          else await rawRange(probe, 1000);
          return true;
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 50, what: `${kind} on ${host}:${clientPort} to serve a Range` },
      );
    } finally {
      probe?.close();
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> => {
    const c = child;
    if (c === undefined || exitInfo !== undefined) return exitInfo ?? { code: null, signal: null };
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
    try {
      return await withTimeout(exitPromise, STOP_DEADLINE_MS, `${kind} pid ${c.pid} to exit after ${signal}`);
    } catch {
      c.kill('SIGKILL');
      return await withTimeout(exitPromise, STOP_DEADLINE_MS, `${kind} pid ${c.pid} to exit after SIGKILL`);
    }
  };

  // Start, retrying with new ports if the chosen ones were taken in between.
  for (let attempt = 1; ; attempt++) {
    [clientPort, peerPort] = opts.ports !== undefined ? [opts.ports.client, opts.ports.peer] : ((await freePorts(2)) as [number, number]);
    args = serverArgs(name, dataDir, clientPort, peerPort, opts);
    output = '';
    launch();
    try {
      await waitReady();
      break;
    } catch (err) {
      await stop('SIGKILL');
      const portClash = /address already in use/i.test(output);
      if (portClash && attempt < 4 && opts.ports === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
        continue;
      }
      rmSync(dataRoot, { recursive: true, force: true });
      unregisterTempDir(dataRoot);
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(`${msg}\n--- ${kind} ${args.join(' ')}\n--- output (tail):\n${output.slice(-4000)}`);
    }
  }

  const clientUrl = `http://${host}:${clientPort}`;
  const handle: ServerHandle = {
    kind,
    endpoint: `${host}:${clientPort}`,
    clientUrl,
    peerUrl: `http://${host}:${peerPort}`,
    get pid() {
      return child?.pid ?? -1;
    },
    dataDir,
    args,
    get exited() {
      return exitInfo !== undefined;
    },
    stop,
    kill9: () => stop('SIGKILL'),
    async restart() {
      if (disposed) throw new Error('restart after dispose');
      await stop();
      launch();
      try {
        await waitReady();
      } catch (err) {
        await stop('SIGKILL');
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`${msg}\n--- output (tail):\n${output.slice(-4000)}`);
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await stop();
      rmSync(dataRoot, { recursive: true, force: true });
      unregisterTempDir(dataRoot);
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
    output: () => output,
  };
  return handle;
}

export function spawnEtcd(opts: ServerOptions = {}): Promise<ServerHandle> {
  return spawnServer('etcd', opts);
}

export function spawnEtcdTs(opts: ServerOptions = {}): Promise<ServerHandle> {
  return spawnServer('etcd-ts', opts);
}

/**
 * A linearizable Range of one key, encoded by hand so that readiness does not
 * depend on any codec: RangeRequest{ key: "health" } is field 1, length 6.
 */
const HEALTH_RANGE = Buffer.from([0x0a, 0x06, ...Buffer.from('health')]);

function rawRange(client: grpc.Client, timeoutMs: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      '/etcdserverpb.KV/Range',
      (b) => b,
      (b) => b,
      HEALTH_RANGE,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, value) => (err ? rej(err) : res(value ?? Buffer.alloc(0))),
    );
  });
}
