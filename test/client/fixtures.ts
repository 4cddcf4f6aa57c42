/**
 * What the client suites build their connections from: an EndpointPool and an
 * Rpc with the suites' settings (10 s calls, 2 s dials, retries, leader
 * required), raw KV calls on an Rpc, token recording, and the lease
 * connection the lease suites share.
 */
import * as assert from 'uvu/assert';
import type { etcdserverpb } from '@etcd-ts/api';
import { EndpointPool, LeaseClient, Rpc, TokenSource } from '@etcd-ts/client';
import type { Credentials, EtcdClientError, RetryPolicy } from '@etcd-ts/client';

export interface RpcSettings {
  /** Longest wait for one endpoint's connection (default 2 s). */
  readonly dialTimeoutMs?: number;
  /** Default: the client's retry policy. */
  readonly retry?: RetryPolicy;
  /** Auth tokens to send (default: none). */
  readonly tokens?: TokenSource;
}

/** A pool of connections to `endpoints`. */
export function newPool(endpoints: readonly string[]): EndpointPool {
  return new EndpointPool(endpoints, { maxMessageBytes: 64 << 20 });
}

/** An Rpc over `pool` with the suites' settings. */
export function newRpc(pool: EndpointPool, settings: RpcSettings = {}): Rpc {
  const { dialTimeoutMs = 2_000, retry = {}, tokens } = settings;
  return new Rpc(pool, { callTimeoutMs: 10_000, dialTimeoutMs, retry, requireLeader: true }, tokens);
}

export interface RpcConnection {
  readonly pool: EndpointPool;
  readonly rpc: Rpc;
  /** Closes the Rpc, then the pool. */
  close(): void;
}

/** A pool to `endpoints` and an Rpc over it. */
export function connectRpc(endpoints: readonly string[], settings: RpcSettings = {}): RpcConnection {
  const pool = newPool(endpoints);
  const rpc = newRpc(pool, settings);
  return {
    pool,
    rpc,
    close: () => {
      rpc.close();
      pool.close();
    },
  };
}

/** A TokenSource for `credentials` that lists every distinct token it hands out, in order. */
export function recordTokens(credentials: Credentials): { source: TokenSource; tokens: string[] } {
  const source = new TokenSource(credentials);
  const tokens: string[] = [];
  const original = source.token.bind(source);
  source.token = async (authenticate, signal) => {
    const t = await original(authenticate, signal);
    if (t !== undefined && tokens[tokens.length - 1] !== t) tokens.push(t);
    return t;
  };
  return { source, tokens };
}

/** A raw Put (no lease unless given). */
export function putRaw(rpc: Rpc, key: string, value: string, lease?: bigint): Promise<etcdserverpb.PutResponse> {
  return rpc.unary('mutation', undefined, (ep, md, o, cb) => ep.kv.put({ key, value, lease }, md, o, cb));
}

/** A raw Range of one key: its value as text, or undefined when absent. */
export async function getRaw(rpc: Rpc, key: string): Promise<string | undefined> {
  const res = await rpc.unary<etcdserverpb.RangeResponse>('idempotent', undefined, (ep, md, o, cb) => ep.kv.range({ key }, md, o, cb));
  return res.kvs[0]?.value.toString();
}

/** The typed error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<EtcdClientError> {
  try {
    await p;
  } catch (err) {
    return err as EtcdClientError;
  }
  assert.unreachable('expected the call to fail');
  throw new Error('unreachable');
}

/** A lease client of its own (own connections), with raw KV helpers for keys attached to leases. */
export interface LeaseConnection {
  readonly leases: LeaseClient;
  put(key: string, value: string, lease: bigint): Promise<void>;
  get(key: string): Promise<string | undefined>;
  close(): void;
}

export function connectLeases(endpoints: readonly string[], settings: RpcSettings = {}): LeaseConnection {
  const { rpc, close } = connectRpc(endpoints, settings);
  const leases = new LeaseClient(rpc);
  return {
    leases,
    put: async (key, value, lease) => {
      await putRaw(rpc, key, value, lease);
    },
    get: (key) => getRaw(rpc, key),
    close: () => {
      leases.close();
      close();
    },
  };
}
