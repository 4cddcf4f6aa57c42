/**
 * Network namespaces for partition tests (Linux, root). A lab is one hub
 * namespace holding a bridge and one namespace per member, each joined to the
 * bridge by a veth pair:
 *
 *   <prefix>-m1 eth0 10.231.0.1/24 ── veth-m1 ┐
 *   <prefix>-m2 eth0 10.231.0.2/24 ── veth-m2 ┼─ br0 10.231.0.254/24  (<prefix>-hub)
 *   <prefix>-m3 eth0 10.231.0.3/24 ── veth-m3 ┘
 *
 * The addresses exist only inside these namespaces: nothing is routed to or
 * from the host's namespaces (the hub does not forward). Setting a member's
 * hub-side veth down cuts every packet between that member and everyone else
 * in both directions, while a client inside the member's own namespace still
 * reaches it (its address stays local there).
 *
 * Clients run inside the namespaces too: `runEtcdctlIn` execs etcdctl there,
 * and a `NetnsAgent` is a small Node process in a namespace that makes gRPC
 * calls for this process over its stdin/stdout. `ip netns exec` execs its
 * command in place, so every PID recorded is the real process's.
 *
 * Every namespace is deleted by `dispose()`, and at process exit if a test
 * fails before it; deleting a namespace destroys the veth ends in it and the
 * bridge with the hub.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { registerPid, unregisterPid } from './process-registry.js';
import { spawnServer, type ServerHandle, type ServerKind, type ServerOptions } from './server.js';
import { withTimeout } from './wait-for.js';
import { runEtcdctl, type EtcdctlOptions, type EtcdctlResult } from './etcdctl.js';

const IP = process.env['IP_BIN'] ?? 'ip';
/** Private subnet of a lab; it exists only inside the lab's namespaces. */
const SUBNET = '10.231.0';
export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;

/** Lab namespaces still to delete at process exit. */
const liveNamespaces = new Set<string>();
let exitHookInstalled = false;

function deleteNamespacesSync(): void {
  for (const ns of liveNamespaces) {
    try {
      execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  liveNamespaces.clear();
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(IP, [...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Whether this process can build a lab: Linux, root, iproute2, and the kernel
 * lets it create a namespace holding a bridge and a veth pair. Resolves to the
 * reason when it cannot.
 */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux (platform ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces need root (uid ${process.getuid?.()})`;
  const probe = `etcdts-probe-${process.pid}`;
  try {
    await ip(['-V']);
  } catch (err) {
    return `iproute2 is missing (${(err as Error).message}); apt-get install -y iproute2`;
  }
  try {
    await ip(['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
  try {
    await ip(['-n', probe, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', probe, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    return undefined;
  } catch (err) {
    return `cannot create a bridge and a veth pair in a namespace: ${(err as Error).message}`;
  } finally {
    await ip(['netns', 'del', probe]).catch(() => {});
  }
}

export class NetLab {
  /** Namespace of the bridge; clients of the whole cluster run here. */
  readonly hub: string;
  private disposed = false;

  private constructor(
    readonly prefix: string,
    readonly size: number,
  ) {
    this.hub = `${prefix}-hub`;
  }

  /** Builds the hub and `size` member namespaces, all links up. */
  static async create(size: number): Promise<NetLab> {
    if (size < 1 || size > 200) throw new Error(`lab size ${size} out of range`);
    const lab = new NetLab(`etcdts-${process.pid}-${Date.now().toString(36)}`, size);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', deleteNamespacesSync);
    }
    try {
      await lab.addNamespace(lab.hub);
      await ip(['-n', lab.hub, 'link', 'set', 'lo', 'up']);
      await ip(['-n', lab.hub, 'link', 'add', 'br0', 'type', 'bridge']);
      await ip(['-n', lab.hub, 'addr', 'add', `${SUBNET}.254/24`, 'dev', 'br0']);
      await ip(['-n', lab.hub, 'link', 'set', 'br0', 'up']);
      for (let i = 1; i <= size; i++) {
        const ns = lab.memberNs(i);
        await lab.addNamespace(ns);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        await ip(['-n', lab.hub, 'link', 'add', lab.hubLink(i), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await ip(['-n', lab.hub, 'link', 'set', lab.hubLink(i), 'master', 'br0']);
        await ip(['-n', lab.hub, 'link', 'set', lab.hubLink(i), 'up']);
        await ip(['-n', ns, 'addr', 'add', `${lab.memberAddr(i)}/24`, 'dev', 'eth0']);
        await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      }
    } catch (err) {
      await lab.dispose();
      throw err;
    }
    return lab;
  }

  private async addNamespace(ns: string): Promise<void> {
    await ip(['netns', 'add', ns]);
    liveNamespaces.add(ns);
  }

  /** Namespace of member i (1-based). */
  memberNs(i: number): string {
    return `${this.prefix}-m${i}`;
  }

  /** Address of member i (1-based), reachable from the hub and the other members. */
  memberAddr(i: number): string {
    return `${SUBNET}.${i}`;
  }

  /** The hub side of member i's veth pair. */
  hubLink(i: number): string {
    return `veth-m${i}`;
  }

  /** Cuts member i off from the hub and every other member, in both directions. */
  async isolate(i: number): Promise<void> {
    await ip(['-n', this.hub, 'link', 'set', this.hubLink(i), 'down']);
  }

  /** Undoes isolate(i). */
  async heal(i: number): Promise<void> {
    await ip(['-n', this.hub, 'link', 'set', this.hubLink(i), 'up']);
  }

  /** `ip netns exec <ns>`: a command prefix that runs a program inside ns. */
  execPrefix(ns: string): string[] {
    return [IP, 'netns', 'exec', ns];
  }

  /**
   * Deletes every namespace of the lab (and with them the veth pairs and the
   * bridge). Processes still inside keep their namespace alive until they
   * exit, so stop the members first. Idempotent.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const names = [this.hub, ...Array.from({ length: this.size }, (_, k) => this.memberNs(k + 1))];
    for (const ns of names) {
      if (!liveNamespaces.has(ns)) continue;
      await ip(['netns', 'del', ns]).catch(() => {});
      liveNamespaces.delete(ns);
    }
  }

  /** Namespaces of this lab that `ip netns list` still shows (for the cleanup check). */
  async leftovers(): Promise<string[]> {
    const out = await ip(['netns', 'list']);
    return out
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.prefix}-`));
  }
}

/** Runs `etcdctl --endpoints=<endpoints> ...args` (API v3) inside namespace ns. */
export function runEtcdctlIn(ns: string, endpoints: string, args: readonly string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  return runEtcdctl(endpoints, args, { ...opts, commandPrefix: [IP, 'netns', 'exec', ns] });
}

// ---- agent: gRPC calls made from inside a namespace ----

export interface AgentRange {
  readonly revision: number;
  readonly kvs: readonly { key: string; value: string; modRevision: number }[];
}

export interface AgentStatus {
  /** Hex member ID of the answering member. */
  readonly memberId: string;
  /** Hex member ID of the leader it knows; "0" when none. */
  readonly leader: string;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  readonly revision: number;
}

export interface AgentHash {
  readonly hash: number;
  readonly revision: number;
  readonly compactRevision: number;
}

/** A failed call as seen by the agent: the gRPC status (when there was one) and the time it took. */
export class AgentCallError extends Error {
  constructor(
    readonly op: string,
    readonly grpcCode: number | undefined,
    readonly details: string,
    readonly elapsedMs: number,
  ) {
    super(`${op}: ${grpcCode === undefined ? '' : `code ${grpcCode}: `}${details} (after ${elapsedMs} ms)`);
    this.name = 'AgentCallError';
  }
}

interface AgentReply {
  id: number;
  ok: boolean;
  elapsedMs: number;
  result?: unknown;
  error?: { grpcCode?: number; details: string };
}

/**
 * The agent program: one JSON request per stdin line, one JSON reply per
 * stdout line. IDs cross as hex strings, bytes as UTF-8. It exits when its
 * stdin closes.
 */
const AGENT_SOURCE = String.raw`
import { createInterface } from 'node:readline';
const [kvUrl, adminUrl] = JSON.parse(process.argv[1]);
const { kvClient } = await import(kvUrl);
const { adminClient } = await import(adminUrl);
const clients = new Map();
const clientFor = (kind, endpoint, deadlineMs) => {
  const k = kind + ' ' + endpoint + ' ' + deadlineMs;
  let c = clients.get(k);
  if (c === undefined) {
    c = kind === 'kv' ? kvClient(endpoint, { deadlineMs }) : adminClient(endpoint, { deadlineMs });
    clients.set(k, c);
  }
  return c;
};
const ops = {
  async range(r) {
    const res = await clientFor('kv', r.endpoint, r.deadlineMs).range({ key: Buffer.from(r.key), serializable: r.serializable === true });
    return { revision: res.header?.revision ?? 0, kvs: res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: kv.modRevision })) };
  },
  async put(r) {
    const res = await clientFor('kv', r.endpoint, r.deadlineMs).put({ key: Buffer.from(r.key), value: Buffer.from(r.value) });
    return { revision: res.header?.revision ?? 0 };
  },
  async status(r) {
    const s = await clientFor('admin', r.endpoint, r.deadlineMs).status();
    return { memberId: (s.header?.memberId ?? 0n).toString(16), leader: s.leader.toString(16), raftTerm: s.raftTerm, raftIndex: s.raftIndex, raftAppliedIndex: s.raftAppliedIndex, revision: s.header?.revision ?? 0 };
  },
  async hashKV(r) {
    const h = await clientFor('admin', r.endpoint, r.deadlineMs).hashKV({ revision: r.revision ?? 0 });
    return { hash: h.hash, revision: h.header?.revision ?? 0, compactRevision: h.compactRevision };
  },
};
const reply = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const r = JSON.parse(line);
  const started = Date.now();
  const op = ops[r.op];
  if (op === undefined) { reply({ id: r.id, ok: false, elapsedMs: 0, error: { details: 'unknown op ' + r.op } }); return; }
  op(r).then(
    (result) => reply({ id: r.id, ok: true, elapsedMs: Date.now() - started, result }),
    (err) => reply({ id: r.id, ok: false, elapsedMs: Date.now() - started, error: { grpcCode: typeof err?.code === 'number' ? err.code : undefined, details: typeof err?.details === 'string' ? err.details : String(err?.message ?? err) } }),
  );
});
rl.on('close', () => { for (const c of clients.values()) c.close(); process.exit(0); });
reply({ id: 0, ok: true, elapsedMs: 0, result: 'ready' });
`;

/**
 * A Node process inside a namespace making KV and Maintenance calls on this
 * process's behalf. Each call carries its own gRPC deadline; the reply says
 * how long the call took inside the namespace.
 */
export class NetnsAgent {
  private nextId = 1;
  private readonly pending = new Map<number, (r: AgentReply) => void>();
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(
    readonly ns: string,
    private readonly child: ChildProcess,
  ) {
    const pid = child.pid as number;
    registerPid(pid);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        unregisterPid(pid);
        for (const done of this.pending.values()) done({ id: 0, ok: false, elapsedMs: 0, error: { details: `agent in ${ns} exited: ${this.stderr.slice(-2000)}` } });
        this.pending.clear();
        resolve();
      });
    });
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-8000);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let reply: AgentReply;
      try {
        reply = JSON.parse(line) as AgentReply;
      } catch {
        return;
      }
      const done = this.pending.get(reply.id);
      if (done === undefined) return;
      this.pending.delete(reply.id);
      done(reply);
    });
  }

  /** Starts an agent in ns and waits until it has loaded the clients. */
  static async start(ns: string): Promise<NetnsAgent> {
    const urls = [new URL('./kv-client.js', import.meta.url).href, new URL('./admin-client.js', import.meta.url).href];
    const child = spawn(IP, ['netns', 'exec', ns, process.execPath, ...process.execArgv, '--input-type=module', '-e', AGENT_SOURCE, JSON.stringify(urls)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`cannot start an agent in ${ns}`);
    const agent = new NetnsAgent(ns, child);
    const ready = new Promise<AgentReply>((resolve) => agent.pending.set(0, resolve));
    const r = await withTimeout(ready, 30_000, `agent in ${ns} to start`).catch(async (err: unknown) => {
      await agent.close();
      throw err;
    });
    if (!r.ok) throw new Error(r.error?.details ?? `agent in ${ns} failed to start`);
    return agent;
  }

  private call<T>(op: string, req: Record<string, unknown>, deadlineMs: number): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<AgentReply>((resolve) => this.pending.set(id, resolve));
    this.child.stdin?.write(`${JSON.stringify({ ...req, id, op, deadlineMs })}\n`);
    // The gRPC deadline bounds the call; the margin covers the agent's own scheduling.
    return withTimeout(reply, deadlineMs + 10_000, `agent ${op} in ${this.ns}`).then((r) => {
      if (!r.ok) throw new AgentCallError(op, r.error?.grpcCode, r.error?.details ?? 'unknown error', r.elapsedMs);
      return r.result as T;
    });
  }

  range(endpoint: string, key: string, opts: { serializable?: boolean; deadlineMs?: number } = {}): Promise<AgentRange> {
    return this.call('range', { endpoint, key, serializable: opts.serializable ?? false }, opts.deadlineMs ?? 5000);
  }

  put(endpoint: string, key: string, value: string, opts: { deadlineMs?: number } = {}): Promise<{ revision: number }> {
    return this.call('put', { endpoint, key, value }, opts.deadlineMs ?? 5000);
  }

  status(endpoint: string, opts: { deadlineMs?: number } = {}): Promise<AgentStatus> {
    return this.call('status', { endpoint }, opts.deadlineMs ?? 2000);
  }

  hashKV(endpoint: string, revision = 0, opts: { deadlineMs?: number } = {}): Promise<AgentHash> {
    return this.call('hashKV', { endpoint, revision }, opts.deadlineMs ?? 5000);
  }

  /** Closes stdin and waits for the agent to exit; SIGKILL by PID after a deadline. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    try {
      await withTimeout(this.exited, 5000, `agent in ${this.ns} to exit`);
    } catch {
      this.child.kill('SIGKILL');
      await withTimeout(this.exited, 5000, `agent in ${this.ns} to exit after SIGKILL`);
    }
  }
}

// ---- a cluster with one member per namespace ----

export interface NetnsCluster {
  readonly lab: NetLab;
  readonly members: ServerHandle[];
  /** `addr:2379` of each member, in member order. */
  readonly endpoints: string[];
  /** The agent in the hub, which reaches every member that is not isolated. */
  readonly hubAgent: NetnsAgent;
  /** Stops every member, every agent started through `agentIn`, then deletes the namespaces. */
  dispose(): Promise<void>;
  /** An agent in member i's namespace (1-based), started on first use. */
  agentIn(i: number): Promise<NetnsAgent>;
}

/**
 * A cluster of `lab.size` members of the given kind, member i running in
 * namespace lab.memberNs(i) on lab.memberAddr(i):2379 (client) and :2380 (peer).
 */
export async function spawnNetnsCluster(kind: ServerKind, lab: NetLab, opts: ServerOptions = {}): Promise<NetnsCluster> {
  const names = Array.from({ length: lab.size }, (_, k) => `m${k + 1}`);
  const initialCluster = names.map((n, k) => `${n}=http://${lab.memberAddr(k + 1)}:${PEER_PORT}`).join(',');
  const agents = new Map<string, NetnsAgent>();
  const hubAgent = await NetnsAgent.start(lab.hub);
  agents.set(lab.hub, hubAgent);
  const settled = await Promise.allSettled(
    names.map((name, k) => {
      const endpoint = `${lab.memberAddr(k + 1)}:${CLIENT_PORT}`;
      return spawnServer(kind, {
        ...opts,
        name,
        host: lab.memberAddr(k + 1),
        ports: { client: CLIENT_PORT, peer: PEER_PORT },
        initialCluster,
        initialClusterState: 'new',
        commandPrefix: lab.execPrefix(lab.memberNs(k + 1)),
        readyProbe: () => hubAgent.range(endpoint, 'health', { deadlineMs: 1000 }),
      });
    }),
  );
  const members = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const closeAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.dispose()));
    await Promise.all([...agents.values()].map((a) => a.close()));
    await lab.dispose();
  };
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await closeAll();
    throw failed.reason;
  }
  return {
    lab,
    members,
    endpoints: members.map((m) => m.endpoint),
    hubAgent,
    dispose: closeAll,
    async agentIn(i) {
      const ns = lab.memberNs(i);
      let a = agents.get(ns);
      if (a === undefined) {
        a = await NetnsAgent.start(ns);
        agents.set(ns, a);
      }
      return a;
    },
  };
}
