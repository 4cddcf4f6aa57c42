/**
 * Where the examples find etcd: the members listed in ETCD_ENDPOINTS
 * (comma-separated host:port) when it is set, otherwise an etcd-ts server
 * started in this process with in-memory storage
 * (`import { startServer } from '@etcd-ts/server'`).
 */

export interface EtcdTarget {
  /** host:port (or http://host:port) of every member. */
  readonly endpoints: string[];
  /** What the example talks to, for the first line it prints. */
  readonly description: string;
  /** Stops the embedded server (a no-op for ETCD_ENDPOINTS). */
  close(): Promise<void>;
}

/** The members listed in ETCD_ENDPOINTS, or undefined when it is unset or empty. */
export function endpointsFromEnv(): string[] | undefined {
  const raw = process.env['ETCD_ENDPOINTS'];
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : undefined;
}

/** ETCD_ENDPOINTS when set; otherwise an embedded etcd-ts server, started now. */
export async function useEtcd(): Promise<EtcdTarget> {
  const fromEnv = endpointsFromEnv();
  if (fromEnv) {
    return { endpoints: fromEnv, description: `etcd at ${fromEnv.join(',')} (ETCD_ENDPOINTS)`, close: async () => {} };
  }
  // Loaded only here: forked workers, which get ETCD_ENDPOINTS from their parent, never need it.
  const { startServer } = await import('@etcd-ts/server');
  const server = await startServer({
    experimentalBackendStorage: 'memory',
    // Ephemeral ports only: the example must not clash with an etcd on 2379/2380.
    listenClientUrls: 'http://127.0.0.1:0',
    listenPeerUrls: 'http://127.0.0.1:0',
    logOutputs: [],
  });
  const endpoints = server.clientUrls.map((u) => u.replace(/^http:\/\//, ''));
  return {
    endpoints,
    description: `embedded etcd-ts server at ${endpoints.join(',')} (set ETCD_ENDPOINTS to use another etcd)`,
    close: () => server.close(),
  };
}
