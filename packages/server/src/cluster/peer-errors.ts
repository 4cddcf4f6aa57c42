/**
 * The peer transport's error taxonomy. Every error carries a stable `code`.
 *
 * Rejections (cluster mismatch, recipient mismatch, removed member) travel from
 * the receiving member to the sender as a gRPC status whose details start with
 * the code (`PEER_CLUSTER_MISMATCH: ...`), so the sender rebuilds the same
 * class with fromPeerStatus().
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError, StatusObject } from '@grpc/grpc-js';

export type PeerErrorCode =
  | 'PEER_CLUSTER_MISMATCH'
  | 'PEER_RECIPIENT_MISMATCH'
  | 'PEER_MEMBER_REMOVED'
  | 'PEER_BAD_REQUEST'
  | 'PEER_SNAPSHOT_FAILED'
  | 'PEER_UNAVAILABLE'
  | 'PEER_TRANSPORT_STOPPED'
  | 'PEER_INVALID_URL';

export class PeerError extends Error {
  readonly code: PeerErrorCode;
  /** The gRPC status code used when this error is sent to a peer. */
  readonly grpcCode: GrpcStatus;
  constructor(code: PeerErrorCode, grpcCode: GrpcStatus, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

const hex = (id: bigint): string => id.toString(16);

/** The caller belongs to another cluster (etcd: "cluster ID mismatch", 412). */
export class PeerClusterMismatchError extends PeerError {
  constructor(message: string);
  constructor(localClusterId: bigint, remoteClusterId: bigint);
  constructor(a: bigint | string, b?: bigint) {
    super(
      'PEER_CLUSTER_MISMATCH',
      GrpcStatus.FAILED_PRECONDITION,
      typeof a === 'string' ? a : `cluster ID mismatch: local ${hex(a)}, remote ${hex(b ?? 0n)}`,
    );
  }
}

/** The call was addressed to another member than the one that received it (etcd: "to field mismatch"). */
export class PeerRecipientMismatchError extends PeerError {
  constructor(message: string);
  constructor(localId: bigint, addressedTo: bigint);
  constructor(a: bigint | string, b?: bigint) {
    super(
      'PEER_RECIPIENT_MISMATCH',
      GrpcStatus.FAILED_PRECONDITION,
      typeof a === 'string' ? a : `recipient mismatch: this member is ${hex(a)}, the call is addressed to ${hex(b ?? 0n)}`,
    );
  }
}

/** The caller was removed from the cluster and must stop (etcd's errMemberRemoved). */
export class PeerMemberRemovedError extends PeerError {
  constructor(message?: string) {
    super('PEER_MEMBER_REMOVED', GrpcStatus.PERMISSION_DENIED, message ?? 'the member has been permanently removed from the cluster');
  }
}

/** Missing or malformed identity metadata, or a frame that breaks the protocol. */
export class PeerBadRequestError extends PeerError {
  constructor(message: string) {
    super('PEER_BAD_REQUEST', GrpcStatus.INVALID_ARGUMENT, message);
  }
}

/** A snapshot transfer failed: truncated, checksum mismatch, or the receiver could not store it. */
export class PeerSnapshotError extends PeerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PEER_SNAPSHOT_FAILED', GrpcStatus.ABORTED, message, options);
  }
}

/** The peer could not be reached, or the connection broke. */
export class PeerUnavailableError extends PeerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PEER_UNAVAILABLE', GrpcStatus.UNAVAILABLE, message, options);
  }
}

export class PeerTransportStoppedError extends PeerError {
  constructor() {
    super('PEER_TRANSPORT_STOPPED', GrpcStatus.CANCELLED, 'peer transport stopped');
  }
}

/** A peer URL that is not http://host:port (or https:// without credentials). */
export class PeerInvalidUrlError extends PeerError {
  constructor(url: string, reason: string) {
    super('PEER_INVALID_URL', GrpcStatus.INVALID_ARGUMENT, `invalid peer URL ${JSON.stringify(url)}: ${reason}`);
  }
}

/** The status object a grpc-js server handler emits for `err`. */
export function toPeerStatus(err: unknown): Partial<StatusObject> & { code: GrpcStatus; details: string } {
  if (err instanceof PeerError) return { code: err.grpcCode, details: `${err.code}: ${err.message}` };
  const message = err instanceof Error ? err.message : String(err);
  return { code: GrpcStatus.UNKNOWN, details: message };
}

const CODE_PREFIX = /^(PEER_[A-Z_]+): ([\s\S]*)$/;

/** The typed error a failed peer call stands for, recognised by the code prefix of its details. */
export function fromPeerStatus(err: Partial<ServiceError> | StatusObject | Error): PeerError {
  const details = ('details' in err && typeof err.details === 'string' ? err.details : undefined) ?? ('message' in err ? err.message : '');
  const m = CODE_PREFIX.exec(details);
  if (m !== null) {
    const message = m[2] ?? '';
    switch (m[1] as PeerErrorCode) {
      case 'PEER_CLUSTER_MISMATCH':
        return new PeerClusterMismatchError(message);
      case 'PEER_RECIPIENT_MISMATCH':
        return new PeerRecipientMismatchError(message);
      case 'PEER_MEMBER_REMOVED':
        return new PeerMemberRemovedError(message);
      case 'PEER_BAD_REQUEST':
        return new PeerBadRequestError(message);
      case 'PEER_SNAPSHOT_FAILED':
        return new PeerSnapshotError(message);
      default:
        break;
    }
  }
  const code = 'code' in err ? String(err.code) : 'unknown';
  return new PeerUnavailableError(details === '' ? `gRPC status ${code}` : details, { cause: err });
}

/** Rejections that retrying cannot cure: the sender is in the wrong cluster or was removed. */
export function isPeerRejection(err: PeerError): boolean {
  return (
    err instanceof PeerClusterMismatchError || err instanceof PeerMemberRemovedError || err instanceof PeerRecipientMismatchError
  );
}
