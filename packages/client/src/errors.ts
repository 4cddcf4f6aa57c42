import { EtcdError, fromGrpcStatus, GrpcCode, type AppliedState } from '@etcd-ts/api';

export { EtcdError, isEtcdError, type AppliedState, type EtcdErrorCode } from '@etcd-ts/api';

/**
 * What every error the client raises tells its caller: whether the same
 * request may simply be sent again, and whether a write that failed this way
 * may nevertheless have been applied.
 *
 * Invariant: retrySafe implies applied === 'never'.
 */
export interface RetryFacts {
  readonly applied: AppliedState;
  readonly retrySafe: boolean;
  /** The condition may clear by itself (another attempt, another member). */
  readonly transient: boolean;
}

/** Base class of the errors the client itself raises (server errors are EtcdError). */
export abstract class ClientError extends Error implements RetryFacts {
  abstract readonly code: string;
  abstract readonly applied: AppliedState;
  abstract readonly retrySafe: boolean;
  abstract readonly transient: boolean;
}

/**
 * The connection failed. `sent` tells whether the request had been handed to
 * a connection: if not, it never reached a server and any retry is safe; if
 * so, a write may have been applied and only idempotent requests are retried.
 */
export class TransportError extends ClientError {
  override readonly name = 'TransportError';
  /** 'UNAVAILABLE' for a connection failure, otherwise `GRPC_<code>` (e.g. a message over the size limit). */
  readonly code: string;
  readonly transient: boolean;
  readonly applied: AppliedState;
  readonly retrySafe: boolean;
  constructor(
    readonly grpcCode: number,
    readonly details: string,
    readonly endpoint: string,
    readonly sent: boolean,
    options?: ErrorOptions,
  ) {
    super(`${endpoint}: ${details || `gRPC status ${grpcCode}`}`, options);
    this.transient = grpcCode === GrpcCode.UNAVAILABLE;
    this.code = this.transient ? 'UNAVAILABLE' : `GRPC_${grpcCode}`;
    this.applied = sent ? 'unknown' : 'never';
    this.retrySafe = this.transient && !sent;
  }
}

/** No endpoint could be reached before the call's deadline. */
export class NoEndpointError extends ClientError {
  override readonly name = 'NoEndpointError';
  readonly code = 'NO_ENDPOINT';
  readonly transient = true;
  readonly applied = 'never';
  readonly retrySafe = true;
}

/** The call's deadline passed. A write may have been applied if it had been sent. */
export class DeadlineExceededError extends ClientError {
  override readonly name = 'DeadlineExceededError';
  readonly code = 'DEADLINE_EXCEEDED';
  readonly transient = true;
  readonly applied: AppliedState;
  readonly retrySafe: boolean;
  constructor(message: string, sent: boolean, options?: ErrorOptions) {
    super(message, options);
    this.applied = sent ? 'unknown' : 'never';
    this.retrySafe = !sent;
  }
}

/** The caller's AbortSignal fired. `cause` is the signal's reason. */
export class AbortedError extends ClientError {
  override readonly name = 'AbortError';
  readonly code = 'ABORTED';
  readonly transient = false;
  readonly applied: AppliedState;
  readonly retrySafe = false;
  constructor(message: string, sent: boolean, options?: ErrorOptions) {
    super(message, options);
    this.applied = sent ? 'unknown' : 'never';
  }
}

/** The AbortedError of a call whose signal fired; `sent`: whether the request had left the client. */
export function callAborted(signal: AbortSignal | undefined, sent: boolean): AbortedError {
  return new AbortedError('etcd call aborted', sent, { cause: signal?.reason });
}

/** The client was closed. */
export class ClientClosedError extends ClientError {
  override readonly name = 'ClientClosedError';
  readonly code = 'CLIENT_CLOSED';
  readonly transient = false;
  readonly applied = 'never';
  readonly retrySafe = false;
  constructor() {
    super('etcd client is closed');
  }
}

/**
 * A watch could not continue because the revision it must resume from has
 * been compacted. Events between the last one delivered and
 * `compactRevision` are gone: read the current state and watch again from
 * its revision + 1.
 */
export class WatchCompactedError extends ClientError {
  override readonly name = 'WatchCompactedError';
  readonly code = 'COMPACTED';
  readonly transient = false;
  readonly applied = 'never';
  readonly retrySafe = false;
  constructor(readonly compactRevision: number, readonly requestedRevision: number) {
    super(`etcdserver: mvcc: required revision has been compacted (compact revision ${compactRevision}, watch from ${requestedRevision})`);
  }
}

/** The server canceled a watch for a reason other than compaction (e.g. permission denied). */
export class WatchCanceledError extends ClientError {
  override readonly name = 'WatchCanceledError';
  readonly code = 'WATCH_CANCELED';
  readonly transient = false;
  readonly applied = 'never';
  readonly retrySafe = false;
  constructor(readonly reason: string) {
    super(reason || 'etcdserver: watch canceled');
  }
}

/**
 * The client can no longer be sure the lease is alive: its last acknowledged
 * keep-alive's TTL ran out, or the server reported it expired or revoked.
 */
export class LeaseLostError extends ClientError {
  override readonly name = 'LeaseLostError';
  readonly code = 'LEASE_LOST';
  readonly transient = false;
  readonly applied = 'never';
  readonly retrySafe = false;
  constructor(readonly leaseId: bigint, readonly reason: 'expired' | 'revoked' | 'deadline' | 'closed') {
    super(`lease ${leaseId.toString(16)} lost (${reason})`);
  }
}

/** Any error the client may raise: a server error from etcd's table, or one of the above. */
export type EtcdClientError = EtcdError | ClientError;

/** Whether err carries retry facts (every error the client raises does). */
export function hasRetryFacts(err: unknown): err is EtcdClientError {
  return err instanceof EtcdError || err instanceof ClientError;
}

/** gRPC status details grpc-js uses when a call was never written to a connection. */
const NOT_SENT_DETAILS = [/^No connection established/, /^Connection refused/, /^Name resolution failed/];

/**
 * The typed error for a gRPC status. Server errors come from etcd's table;
 * anything else is a TransportError (or a deadline / abort), with `sent`
 * telling whether the request may have reached a server.
 */
export function fromStatus(
  grpcCode: number,
  details: string,
  endpoint: string,
  sent: boolean,
): EtcdClientError {
  const known = fromGrpcStatus(grpcCode, details);
  if (known) return known;
  const reallySent = sent && !(grpcCode === GrpcCode.UNAVAILABLE && NOT_SENT_DETAILS.some((re) => re.test(details)));
  if (grpcCode === GrpcCode.DEADLINE_EXCEEDED) return new DeadlineExceededError(`${endpoint}: ${details}`, reallySent);
  return new TransportError(grpcCode, details, endpoint, reallySent);
}
