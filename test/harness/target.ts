/**
 * Which server the client and recipe suites run against. The same suites run
 * against etcd-ts (default) and real etcd, since the client must work with
 * both; scripts/test.mjs runs them once per kind.
 *
 * - ETCD_TARGET=etcd | etcd-ts: the kind of server spawned (default etcd-ts).
 * - ETCD_ENDPOINTS=host:port,...: use these already running members instead
 *   of spawning one (http:// URLs accepted). Their kind is ETCD_TARGET, or
 *   etcd when unset.
 */
import { spawnCluster, type Cluster } from './cluster.js';
import { spawnServer, type ServerHandle, type ServerKind, type ServerOptions } from './server.js';

export interface Target {
  readonly kind: ServerKind;
  /** "host:port" of every member. */
  readonly endpoints: string[];
  /** The members were given by ETCD_ENDPOINTS: not ours to stop, restart or reconfigure. */
  readonly external: boolean;
  /** The spawned member (absent when external). */
  readonly server?: ServerHandle;
  /** Stops what was spawned; a no-op when external. Idempotent. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A cluster spawned for the suite: every member can be stopped, killed and restarted. */
export interface TargetCluster extends Target, Cluster {
  readonly external: false;
}

/** ETCD_TARGET: 'etcd' or 'etcd-ts' (default). */
export function targetKind(): ServerKind {
  const v = process.env['ETCD_TARGET'];
  if (v === undefined || v === '') return 'etcd-ts';
  if (v === 'etcd' || v === 'etcd-ts') return v;
  throw new Error(`ETCD_TARGET must be "etcd" or "etcd-ts" (or unset for etcd-ts), got ${JSON.stringify(v)}`);
}

/** ETCD_ENDPOINTS as "host:port" strings, or undefined when unset or empty. */
export function externalEndpoints(): string[] | undefined {
  const v = process.env['ETCD_ENDPOINTS']?.trim();
  if (v === undefined || v === '') return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const hostPort = s.replace(/^http:\/\//i, '').replace(/\/+$/, '');
      if (!/^(\[[^\]]+\]|[^:/\s]+):\d{1,5}$/.test(hostPort)) {
        throw new Error(`ETCD_ENDPOINTS: expected host:port or http://host:port (no TLS), got ${JSON.stringify(s)}`);
      }
      return hostPort;
    });
}

const announced = new Set<string>();
/** One stderr line per distinct target and process, for the logs. */
function announce(text: string): void {
  if (announced.has(text)) return;
  announced.add(text);
  process.stderr.write(`client suites target: ${text}\n`);
}

/**
 * The server a suite talks to: ETCD_ENDPOINTS if set (`opts` then ignored),
 * else one fresh member of targetKind() that dispose() stops and removes.
 */
export async function useTarget(opts: ServerOptions = {}): Promise<Target> {
  const external = externalEndpoints();
  if (external !== undefined) {
    const kind = process.env['ETCD_TARGET'] ? targetKind() : 'etcd';
    announce(`${kind} (external ${external.join(',')})`);
    const noop = async (): Promise<void> => {};
    return { kind, endpoints: external, external: true, dispose: noop, [Symbol.asyncDispose]: noop };
  }
  const kind = targetKind();
  announce(`${kind} (spawned)`);
  const server = await spawnServer(kind, opts);
  const dispose = (): Promise<void> => server.dispose();
  return { kind, endpoints: [server.endpoint], external: false, server, dispose, [Symbol.asyncDispose]: dispose };
}

/**
 * A fresh cluster of `size` members of targetKind(), whatever ETCD_ENDPOINTS
 * says: suites that stop or partition members need members of their own.
 */
export async function useTargetCluster(size: number, opts: ServerOptions = {}): Promise<TargetCluster> {
  const kind = targetKind();
  announce(`${kind} (spawned cluster of ${size})`);
  const cluster = await spawnCluster(kind, size, opts);
  const dispose = (): Promise<void> => cluster.dispose();
  return {
    kind,
    external: false,
    members: cluster.members,
    endpoints: cluster.endpoints,
    initialCluster: cluster.initialCluster,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
