import { EtcdErrors, type AppliedState, type EtcdErrorCode, type EtcdErrorDescriptor } from './etcd-errors.js';
import { GrpcCode } from './grpc-code.js';

/** An error from etcd's error table. `message` is exactly etcd's status message. */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  readonly code: EtcdErrorCode;
  readonly grpcCode: GrpcCode;
  /** See EtcdErrorDescriptor.transient. */
  readonly transient: boolean;
  /** See EtcdErrorDescriptor.applied. */
  readonly applied: AppliedState;
  /** See EtcdErrorDescriptor.retrySafe. */
  readonly retrySafe: boolean;
  /** See EtcdErrorDescriptor.reauth. */
  readonly reauth: boolean;

  constructor(code: EtcdErrorCode, options?: ErrorOptions) {
    const d: EtcdErrorDescriptor = EtcdErrors[code];
    super(d.message, options);
    this.code = code;
    this.grpcCode = d.grpcCode;
    this.transient = d.transient;
    this.applied = d.applied;
    this.retrySafe = d.retrySafe;
    this.reauth = d.reauth;
  }

  get descriptor(): EtcdErrorDescriptor {
    return EtcdErrors[this.code];
  }
}

/** A new EtcdError for code. */
export function etcdError(code: EtcdErrorCode, options?: ErrorOptions): EtcdError {
  return new EtcdError(code, options);
}

/** Whether err is an EtcdError, optionally with one of the given codes. */
export function isEtcdError(err: unknown, ...codes: EtcdErrorCode[]): err is EtcdError {
  return err instanceof EtcdError && (codes.length === 0 || codes.includes(err.code));
}

const byMessage: ReadonlyMap<string, EtcdErrorCode> = new Map(
  (Object.values(EtcdErrors) as EtcdErrorDescriptor[]).map((d) => [d.message, d.code]),
);

/**
 * The EtcdError a gRPC status stands for, or undefined if its details are not
 * one of etcd's messages. Like etcd's Go client, recognition is by message
 * alone (etcd 3.4 sends a few of them with code UNKNOWN); the returned error
 * carries the table's canonical grpcCode.
 */
export function fromGrpcStatus(grpcCode: number, details: string | undefined): EtcdError | undefined {
  if (grpcCode === GrpcCode.OK || details === undefined) return undefined;
  const code = byMessage.get(details);
  return code === undefined ? undefined : new EtcdError(code);
}

/** Code of the table row whose message is exactly `message`, if any. */
export function etcdErrorCodeOf(message: string): EtcdErrorCode | undefined {
  return byMessage.get(message);
}

export interface GrpcStatusLike {
  code: number;
  details: string;
}

/**
 * The gRPC status to send for err: the table's code and message for an
 * EtcdError, UNKNOWN with the error's message otherwise (as etcd does for
 * errors outside its table).
 */
export function toGrpcStatus(err: unknown): GrpcStatusLike {
  if (err instanceof EtcdError) return { code: err.grpcCode, details: err.message };
  if (err instanceof Error) return { code: GrpcCode.UNKNOWN, details: err.message };
  return { code: GrpcCode.UNKNOWN, details: String(err) };
}
