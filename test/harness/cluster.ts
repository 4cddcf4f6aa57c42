/**
 * A multi-member cluster of real server processes on loopback: every member
 * knows the others through --initial-cluster, members start concurrently (a
 * member serves only once a quorum elected a leader), and each is a
 * ServerHandle that can be stopped, killed and restarted on its own.
 */
import { freePorts } from './free-port.js';
import { spawnServer, type ServerHandle, type ServerKind, type ServerOptions } from './server.js';

export interface ClusterMemberSpec {
  readonly name: string;
  readonly client: number;
  readonly peer: number;
}

export interface Cluster {
  readonly members: ServerHandle[];
  readonly endpoints: string[];
  /** `name=http://127.0.0.1:peer,...` for every member started so far. */
  readonly initialCluster: string;
  dispose(): Promise<void>;
}

export const initialClusterOf = (specs: readonly ClusterMemberSpec[]): string =>
  specs.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');

export async function memberSpecs(names: readonly string[]): Promise<ClusterMemberSpec[]> {
  const ports = await freePorts(2 * names.length);
  return names.map((name, i) => ({ name, client: ports[2 * i] as number, peer: ports[2 * i + 1] as number }));
}

export async function spawnCluster(kind: ServerKind, size: number, opts: ServerOptions = {}): Promise<Cluster> {
  const specs = await memberSpecs(Array.from({ length: size }, (_, i) => `m${i + 1}`));
  const initialCluster = initialClusterOf(specs);
  const settled = await Promise.allSettled(
    specs.map((m) =>
      spawnServer(kind, { ...opts, name: m.name, ports: { client: m.client, peer: m.peer }, initialCluster, initialClusterState: 'new' }),
    ),
  );
  const members = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(members.map((m) => m.dispose()));
    throw failed.reason;
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    initialCluster,
    dispose: async () => {
      await Promise.all(members.map((m) => m.dispose()));
    },
  };
}
