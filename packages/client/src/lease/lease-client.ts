import type * as grpc from '@grpc/grpc-js';
import { EtcdError, GrpcCode, type etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from '../call-options.js';
import { ClientClosedError, isEtcdError, LeaseLostError } from '../errors.js';
import type { Rpc } from '../rpc.js';
import { KeepAliveStream } from './keep-alive-stream.js';
import { Lease, loseLease, type LeaseHost, type LeaseTimeToLive, type TimeToLiveOptions } from './lease.js';

export type { LeaseTimeToLive, TimeToLiveOptions } from './lease.js';

export interface GrantOptions extends CallOptions {
  /** Lease id to create. Default: the server chooses one. */
  readonly id?: bigint | undefined;
  /**
   * Keep the lease alive on the client's keep-alive stream from the start.
   * Default true; with false, call lease.keepAlive() later (or let it expire).
   */
  readonly keepAlive?: boolean | undefined;
}

export interface KeepAliveOnceResult {
  readonly id: bigint;
  /** TTL the lease was renewed to, seconds. */
  readonly ttl: number;
}

/**
 * The Lease service: grant, revoke, time-to-live, list, and keep-alives on a
 * single LeaseKeepAlive stream shared by every lease the client keeps alive.
 *
 * Unary calls are retried on unavailability like reads: a repeated Grant at
 * worst leaves an extra lease that expires on its own, a repeated Revoke at
 * worst answers "lease not found".
 */
export class LeaseClient {
  private readonly keeper: KeepAliveStream;
  /** Leases granted by this client and not lost yet, by id. */
  private readonly live = new Map<bigint, Lease>();
  private closed = false;
  private readonly host: LeaseHost;

  constructor(private readonly rpc: Rpc) {
    this.keeper = new KeepAliveStream(rpc);
    this.host = {
      keeper: this.keeper,
      revoke: (id, opts) => this.revoke(id, opts),
      timeToLive: (id, opts) => this.timeToLive(id, opts),
      forget: (lease) => {
        if (this.live.get(lease.id) === lease) this.live.delete(lease.id);
      },
    };
  }

  /** LeaseKeepAlive streams opened so far by this client (one at a time, shared by every lease). */
  get streamsOpened(): number {
    return this.keeper.streamsOpened;
  }

  /** Address of the member the keep-alive stream is open on, if it is open. */
  get keepAliveEndpoint(): string | undefined {
    return this.keeper.endpointAddress;
  }

  /** Leases currently kept alive by this client. */
  get keptAlive(): number {
    return this.keeper.size;
  }

  /**
   * Grants a lease of `ttlSeconds` (the server may raise it to its minimum
   * TTL: `lease.ttl` is the TTL granted). The lease is kept alive unless
   * `keepAlive: false`. Its deadline starts when the request is sent.
   */
  async grant(ttlSeconds: number, opts?: GrantOptions): Promise<Lease> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new RangeError(`lease TTL must be a positive integer number of seconds, got ${ttlSeconds}`);
    }
    this.assertOpen();
    // Taken before the first attempt: not later than the send time of the attempt that succeeded.
    const sentAt = performance.now();
    const req: etcdserverpb.LeaseGrantRequestInit = { TTL: ttlSeconds, ID: opts?.id ?? 0n };
    const res = await this.rpc.unary<etcdserverpb.LeaseGrantResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.lease.leaseGrant(req, md, o, cb),
    );
    return this.track(new Lease(this.host, res.ID, res.TTL, sentAt + res.TTL * 1000), opts?.keepAlive);
  }

  /**
   * A Lease handle for the existing lease `id` (e.g. granted by an earlier
   * process), renewed once right away: its deadline starts when that renewal
   * is sent. Kept alive unless `keepAlive: false`. Returns this client's
   * handle if it already has one. Throws LeaseLostError ('expired') when the
   * server does not know the lease.
   */
  async attach(id: bigint, opts?: CallOptions & { readonly keepAlive?: boolean | undefined }): Promise<Lease> {
    this.assertOpen();
    const known = this.live.get(id);
    if (known) {
      if (opts?.keepAlive !== false) known.keepAlive();
      return known;
    }
    // Taken before the renewal is sent: the lease lives at least TTL seconds from here.
    const sentAt = performance.now();
    let renewed: KeepAliveOnceResult;
    try {
      renewed = await this.keepAliveOnce(id, opts);
    } catch (err) {
      if (isEtcdError(err, 'LEASE_NOT_FOUND')) throw new LeaseLostError(id, 'expired');
      throw err;
    }
    return this.track(new Lease(this.host, id, renewed.ttl, sentAt + renewed.ttl * 1000), opts?.keepAlive);
  }

  /**
   * Revokes lease `id`: etcd deletes every key attached to it. A lease of
   * this client with that id is lost ('revoked') before the request is sent.
   * Throws EtcdError LEASE_NOT_FOUND when the server does not know it.
   */
  async revoke(id: bigint, opts?: CallOptions): Promise<void> {
    this.assertOpen();
    this.live.get(id)?.[loseLease]('revoked');
    await this.rpc.unary<etcdserverpb.LeaseRevokeResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.lease.leaseRevoke({ ID: id }, md, o, cb),
    );
  }

  /** The server's view of lease `id`; `ttl` is -1 when it does not exist. */
  async timeToLive(id: bigint, opts?: TimeToLiveOptions): Promise<LeaseTimeToLive> {
    this.assertOpen();
    const res = await this.rpc.unary<etcdserverpb.LeaseTimeToLiveResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.lease.leaseTimeToLive({ ID: id, keys: opts?.keys === true }, md, o, cb),
    );
    return { id: res.ID, ttl: res.TTL, grantedTtl: res.grantedTTL, keys: res.keys };
  }

  /** Ids of every lease of the cluster. */
  async leases(opts?: CallOptions): Promise<bigint[]> {
    this.assertOpen();
    const res = await this.rpc.unary<etcdserverpb.LeaseLeasesResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.lease.leaseLeases({}, md, o, cb),
    );
    return res.leases.map((l) => l.ID);
  }

  /**
   * Renews lease `id` once, on a stream of its own. Throws EtcdError
   * LEASE_NOT_FOUND when the server answers that the lease does not exist.
   */
  async keepAliveOnce(id: bigint, opts?: CallOptions): Promise<KeepAliveOnceResult> {
    this.assertOpen();
    const res = await this.rpc.unary<etcdserverpb.LeaseKeepAliveResponse>('idempotent', opts, (ep, md, o, cb) => {
      const call = ep.lease.leaseKeepAlive(md, o);
      let done = false;
      const finish = (err: grpc.ServiceError | null, value?: etcdserverpb.LeaseKeepAliveResponse): void => {
        if (done) return;
        done = true;
        cb(err, value);
      };
      call.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => finish(null, r));
      call.on('error', (err: grpc.ServiceError) => finish(err));
      call.on('end', () =>
        finish(
          Object.assign(new Error('lease keep-alive stream ended without an answer'), {
            code: GrpcCode.UNAVAILABLE,
            details: 'lease keep-alive stream ended without an answer',
            metadata: md,
          }) as grpc.ServiceError,
        ),
      );
      // The member answers, then sees the end of the requests and ends the stream.
      call.write({ ID: id });
      call.end();
      // Rpc only needs cancel() of the call it gets back.
      return call as unknown as grpc.ClientUnaryCall;
    });
    if (res.TTL <= 0) throw new EtcdError('LEASE_NOT_FOUND');
    return { id: res.ID, ttl: res.TTL };
  }

  /**
   * Stops the keep-alive stream. Leases are not revoked: they expire on the
   * server; every lease of this client is lost with reason 'closed'.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keeper.close();
    for (const lease of [...this.live.values()]) lease[loseLease]('closed');
    this.live.clear();
  }

  /** Registers a new handle (unless already lost) and starts its keep-alive unless `keepAlive` is false. */
  private track(lease: Lease, keepAlive: boolean | undefined): Lease {
    if (lease.isLost) return lease;
    if (this.closed) {
      lease[loseLease]('closed');
      return lease;
    }
    const known = this.live.get(lease.id);
    if (known) {
      // Attached twice concurrently: one handle per lease id and client; the spare one is dropped.
      lease[loseLease]('closed');
      if (keepAlive !== false) known.keepAlive();
      return known;
    }
    this.live.set(lease.id, lease);
    if (keepAlive !== false) lease.keepAlive();
    return lease;
  }

  private assertOpen(): void {
    if (this.closed || this.rpc.isClosed) throw new ClientClosedError();
  }
}
