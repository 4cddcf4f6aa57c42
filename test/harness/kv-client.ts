import * as grpc from '@grpc/grpc-js';
import { KVService, LeaseService, MaintenanceService } from '@etcd-ts/api';
import type { etcdserverpb } from '@etcd-ts/api';

/** A failed call: the gRPC status code and the exact details string. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
    readonly method: string,
  ) {
    super(`${method}: ${grpc.status[code] ?? code} (${code}): ${details}`);
    this.name = 'GrpcCallError';
  }
}

/** A message as plain data (the differential tables build requests this way). */
export type Message = Record<string, unknown>;

export interface KvClientOptions {
  /** Per-call deadline. Default 10 s. */
  deadlineMs?: number;
  /** Max message size the client sends and accepts. Default 8 MiB. */
  maxMessageBytes?: number;
}

export interface KvClient {
  readonly endpoint: string;
  range(req: etcdserverpb.RangeRequestInit): Promise<etcdserverpb.RangeResponse>;
  put(req: etcdserverpb.PutRequestInit): Promise<etcdserverpb.PutResponse>;
  deleteRange(req: etcdserverpb.DeleteRangeRequestInit): Promise<etcdserverpb.DeleteRangeResponse>;
  txn(req: etcdserverpb.TxnRequestInit): Promise<etcdserverpb.TxnResponse>;
  compact(req: etcdserverpb.CompactionRequestInit): Promise<etcdserverpb.CompactionResponse>;
  /** Lease calls are here so KV scenarios can attach keys to leases. */
  leaseGrant(req: etcdserverpb.LeaseGrantRequestInit): Promise<etcdserverpb.LeaseGrantResponse>;
  leaseRevoke(req: etcdserverpb.LeaseRevokeRequestInit): Promise<etcdserverpb.LeaseRevokeResponse>;
  /** HashKV is here so KV scenarios can compare the store's hash and compact revision. */
  hashKV(req: etcdserverpb.HashKVRequestInit): Promise<etcdserverpb.HashKVResponse>;
  close(): void;
}

type UnaryFn<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * A raw gRPC client for etcd's KV (and Lease) services on `endpoint`
 * ("127.0.0.1:port"), using @etcd-ts/api's service definitions. Each method
 * resolves to the decoded response or rejects with a GrpcCallError carrying
 * the status code and details.
 */
/** Promise-returning unary calls on a grpc-js generic client, rejecting with GrpcCallError. */
export function unaryCaller(deadlineMs: number) {
  return <Req, Res>(client: grpc.Client, method: string, name: string) => {
    const fn = (client as unknown as Record<string, UnaryFn<Req, Res> | undefined>)[method];
    if (typeof fn !== 'function') throw new Error(`client has no method ${method}`);
    return (req: Req): Promise<Res> =>
      new Promise((resolve, reject) => {
        fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
          if (err) reject(new GrpcCallError(err.code, err.details, name));
          else if (res === undefined) reject(new Error(`${name}: no response`));
          else resolve(res);
        });
      });
  };
}

export function kvClient(endpoint: string, opts: KvClientOptions = {}): KvClient {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const maxBytes = opts.maxMessageBytes ?? 8 * 1024 * 1024;
  const channelOptions: grpc.ChannelOptions = {
    'grpc.max_send_message_length': maxBytes,
    'grpc.max_receive_message_length': maxBytes,
    // Each client gets its own connection: a new client must not inherit another one's reconnect backoff.
    'grpc.use_local_subchannel_pool': 1,
  };
  const KV = grpc.makeGenericClientConstructor(KVService as unknown as grpc.ServiceDefinition, 'KV');
  const Lease = grpc.makeGenericClientConstructor(LeaseService as unknown as grpc.ServiceDefinition, 'Lease');
  const kv = new KV(endpoint, grpc.credentials.createInsecure(), channelOptions);
  const lease = new Lease(endpoint, grpc.credentials.createInsecure(), channelOptions);
  const Maintenance = grpc.makeGenericClientConstructor(MaintenanceService as unknown as grpc.ServiceDefinition, 'Maintenance');
  const maintenance = new Maintenance(endpoint, grpc.credentials.createInsecure(), channelOptions);

  const call = unaryCaller(deadlineMs);

  return {
    endpoint,
    range: call(kv, 'range', 'Range'),
    put: call(kv, 'put', 'Put'),
    deleteRange: call(kv, 'deleteRange', 'DeleteRange'),
    txn: call(kv, 'txn', 'Txn'),
    compact: call(kv, 'compact', 'Compact'),
    leaseGrant: call(lease, 'leaseGrant', 'LeaseGrant'),
    leaseRevoke: call(lease, 'leaseRevoke', 'LeaseRevoke'),
    hashKV: call(maintenance, 'hashKV', 'HashKV'),
    close() {
      kv.close();
      lease.close();
      maintenance.close();
    },
  };
}
