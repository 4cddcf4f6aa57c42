import { GrpcCode } from './grpc-code.js';

/** Whether a request that failed with an error may still have taken effect. */
export type AppliedState =
  /** The request was rejected before it could change anything. */
  | 'never'
  /** The request may or may not have been applied; only an idempotent retry is safe. */
  | 'unknown';

/** One row of the error table. */
export interface EtcdErrorDescriptor {
  /** Stable identifier, used by both server and client. */
  readonly code: EtcdErrorCode;
  /** gRPC status code etcd attaches to the error. */
  readonly grpcCode: GrpcCode;
  /** The status message, byte for byte as etcd sends it. */
  readonly message: string;
  /** Name of the etcd 3.4 Go error this row mirrors. */
  readonly etcdName: string;
  /**
   * The condition may clear without anyone changing the request or the
   * cluster configuration: the same request may succeed later or on another
   * member.
   */
  readonly transient: boolean;
  /** Whether a write that failed this way may nevertheless have been applied. */
  readonly applied: AppliedState;
  /**
   * Retrying the identical request is safe for any RPC, including
   * non-idempotent writes. Invariant: retrySafe === (transient && applied === 'never').
   * Reads and other idempotent requests may be retried whenever `transient`.
   */
  readonly retrySafe: boolean;
  /** The request was refused for its auth token; retrying after re-authenticating is safe. */
  readonly reauth: boolean;
  /** Deviations of etcd 3.4's server from this row, if any. */
  readonly note?: string;
}

interface Row {
  grpcCode: GrpcCode;
  message: string;
  etcdName: string;
  transient: boolean;
  applied: AppliedState;
  reauth?: boolean;
  note?: string;
}

const C = GrpcCode;

/** Rejected before any effect, not expected to clear by itself. */
function fatal(grpcCode: GrpcCode, message: string, etcdName: string, note?: string): Row {
  return note === undefined
    ? { grpcCode, message, etcdName, transient: false, applied: 'never' }
    : { grpcCode, message, etcdName, transient: false, applied: 'never', note };
}

/** Rejected before any effect, may clear by itself: safe to retry. */
function busy(grpcCode: GrpcCode, message: string, etcdName: string, note?: string): Row {
  return note === undefined
    ? { grpcCode, message, etcdName, transient: true, applied: 'never' }
    : { grpcCode, message, etcdName, transient: true, applied: 'never', note };
}

/** Outcome unknown, may clear by itself: retry only idempotent requests. */
function unsure(grpcCode: GrpcCode, message: string, etcdName: string): Row {
  return { grpcCode, message, etcdName, transient: true, applied: 'unknown' };
}

/** Refused for the auth token: safe to retry after re-authenticating. */
function reauth(grpcCode: GrpcCode, message: string, etcdName: string): Row {
  return { grpcCode, message, etcdName, transient: false, applied: 'never', reauth: true };
}

/**
 * etcd's errors: etcd 3.4 etcdserver/api/v3rpc/rpctypes/error.go, plus the
 * errors the v3election service returns with code UNKNOWN.
 */
const ROWS = {
  EMPTY_KEY: fatal(C.INVALID_ARGUMENT, 'etcdserver: key is not provided', 'ErrGRPCEmptyKey'),
  KEY_NOT_FOUND: fatal(C.INVALID_ARGUMENT, 'etcdserver: key not found', 'ErrGRPCKeyNotFound'),
  VALUE_PROVIDED: fatal(C.INVALID_ARGUMENT, 'etcdserver: value is provided', 'ErrGRPCValueProvided'),
  LEASE_PROVIDED: fatal(C.INVALID_ARGUMENT, 'etcdserver: lease is provided', 'ErrGRPCLeaseProvided'),
  TOO_MANY_TXN_OPS: fatal(C.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request', 'ErrGRPCTooManyOps'),
  DUPLICATE_KEY: fatal(C.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request', 'ErrGRPCDuplicateKey'),
  COMPACTED: fatal(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted', 'ErrGRPCCompacted'),
  FUTURE_REV: fatal(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision', 'ErrGRPCFutureRev'),
  NO_SPACE: fatal(C.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded', 'ErrGRPCNoSpace'),

  LEASE_NOT_FOUND: fatal(C.NOT_FOUND, 'etcdserver: requested lease not found', 'ErrGRPCLeaseNotFound'),
  LEASE_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: lease already exists', 'ErrGRPCLeaseExist'),
  LEASE_TTL_TOO_LARGE: fatal(C.OUT_OF_RANGE, 'etcdserver: too large lease TTL', 'ErrGRPCLeaseTTLTooLarge'),

  WATCH_CANCELED: busy(
    C.CANCELLED,
    'etcdserver: watch canceled',
    'ErrGRPCWatchCanceled',
    'Ends a Watch stream; etcd 3.4 clients do not map this message to a typed error.',
  ),

  MEMBER_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: member ID already exist', 'ErrGRPCMemberExist'),
  PEER_URL_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists', 'ErrGRPCPeerURLExist'),
  MEMBER_NOT_ENOUGH_STARTED: busy(
    C.FAILED_PRECONDITION,
    'etcdserver: re-configuration failed due to not enough started members',
    'ErrGRPCMemberNotEnoughStarted',
    'etcd 3.4 sends this with code UNKNOWN (it maps the server error to the client-side error value).',
  ),
  MEMBER_BAD_URLS: fatal(C.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid', 'ErrGRPCMemberBadURLs'),
  MEMBER_NOT_FOUND: fatal(C.NOT_FOUND, 'etcdserver: member not found', 'ErrGRPCMemberNotFound'),
  MEMBER_NOT_LEARNER: fatal(C.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member', 'ErrGRPCMemberNotLearner'),
  LEARNER_NOT_READY: busy(
    C.FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member which is in sync with leader',
    'ErrGRPCLearnerNotReady',
  ),
  TOO_MANY_LEARNERS: fatal(C.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster', 'ErrGRPCTooManyLearners'),

  REQUEST_TOO_LARGE: fatal(C.INVALID_ARGUMENT, 'etcdserver: request is too large', 'ErrGRPCRequestTooLarge'),
  TOO_MANY_REQUESTS: busy(
    C.RESOURCE_EXHAUSTED,
    'etcdserver: too many requests',
    'ErrGRPCRequestTooManyRequests',
    'etcd 3.4 sends this with code UNKNOWN (it maps the server error to the client-side error value).',
  ),

  ROOT_USER_NOT_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: root user does not exist', 'ErrGRPCRootUserNotExist'),
  ROOT_ROLE_NOT_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: root user does not have root role', 'ErrGRPCRootRoleNotExist'),
  USER_ALREADY_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: user name already exists', 'ErrGRPCUserAlreadyExist'),
  USER_EMPTY: fatal(C.INVALID_ARGUMENT, 'etcdserver: user name is empty', 'ErrGRPCUserEmpty'),
  USER_NOT_FOUND: fatal(C.FAILED_PRECONDITION, 'etcdserver: user name not found', 'ErrGRPCUserNotFound'),
  ROLE_ALREADY_EXISTS: fatal(C.FAILED_PRECONDITION, 'etcdserver: role name already exists', 'ErrGRPCRoleAlreadyExist'),
  ROLE_NOT_FOUND: fatal(C.FAILED_PRECONDITION, 'etcdserver: role name not found', 'ErrGRPCRoleNotFound'),
  ROLE_EMPTY: fatal(C.INVALID_ARGUMENT, 'etcdserver: role name is empty', 'ErrGRPCRoleEmpty'),
  AUTH_FAILED: fatal(
    C.INVALID_ARGUMENT,
    'etcdserver: authentication failed, invalid user ID or password',
    'ErrGRPCAuthFailed',
  ),
  PERMISSION_DENIED: fatal(C.PERMISSION_DENIED, 'etcdserver: permission denied', 'ErrGRPCPermissionDenied'),
  ROLE_NOT_GRANTED: fatal(C.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user', 'ErrGRPCRoleNotGranted'),
  PERMISSION_NOT_GRANTED: fatal(
    C.FAILED_PRECONDITION,
    'etcdserver: permission is not granted to the role',
    'ErrGRPCPermissionNotGranted',
  ),
  AUTH_NOT_ENABLED: fatal(C.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled', 'ErrGRPCAuthNotEnabled'),
  INVALID_AUTH_TOKEN: reauth(C.UNAUTHENTICATED, 'etcdserver: invalid auth token', 'ErrGRPCInvalidAuthToken'),
  INVALID_AUTH_MGMT: fatal(C.INVALID_ARGUMENT, 'etcdserver: invalid auth management', 'ErrGRPCInvalidAuthMgmt'),
  AUTH_OLD_REVISION: reauth(C.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old', 'ErrGRPCAuthOldRevision'),

  NO_LEADER: unsure(C.UNAVAILABLE, 'etcdserver: no leader', 'ErrGRPCNoLeader'),
  NOT_LEADER: busy(C.FAILED_PRECONDITION, 'etcdserver: not leader', 'ErrGRPCNotLeader'),
  LEADER_CHANGED: unsure(C.UNAVAILABLE, 'etcdserver: leader changed', 'ErrGRPCLeaderChanged'),
  NOT_CAPABLE: fatal(C.UNAVAILABLE, 'etcdserver: not capable', 'ErrGRPCNotCapable'),
  STOPPED: unsure(C.UNAVAILABLE, 'etcdserver: server stopped', 'ErrGRPCStopped'),
  TIMEOUT: unsure(C.UNAVAILABLE, 'etcdserver: request timed out', 'ErrGRPCTimeout'),
  TIMEOUT_DUE_TO_LEADER_FAIL: unsure(
    C.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to previous leader failure',
    'ErrGRPCTimeoutDueToLeaderFail',
  ),
  TIMEOUT_DUE_TO_CONNECTION_LOST: unsure(
    C.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to connection lost',
    'ErrGRPCTimeoutDueToConnectionLost',
  ),
  TIMEOUT_WAIT_APPLIED_INDEX: unsure(
    C.UNAVAILABLE,
    'etcdserver: request timed out, waiting for the applied index took too long',
    'ErrGRPCTimeoutWaitAppliedIndex',
  ),
  UNHEALTHY: busy(C.UNAVAILABLE, 'etcdserver: unhealthy cluster', 'ErrGRPCUnhealthy'),
  CORRUPT: fatal(C.DATA_LOSS, 'etcdserver: corrupt cluster', 'ErrGRPCCorrupt'),
  NOT_SUPPORTED_FOR_LEARNER: busy(
    C.UNAVAILABLE,
    'etcdserver: rpc not supported for learner',
    'ErrGPRCNotSupportedForLearner',
    'Retry against a voting member.',
  ),
  BAD_LEADER_TRANSFEREE: fatal(C.FAILED_PRECONDITION, 'etcdserver: bad leader transferee', 'ErrGRPCBadLeaderTransferee'),

  ELECTION_NOT_LEADER: fatal(C.UNKNOWN, 'election: not leader', 'concurrency.ErrElectionNotLeader'),
  ELECTION_NO_LEADER: busy(C.UNKNOWN, 'election: no leader', 'concurrency.ErrElectionNoLeader'),
  ELECTION_MISSING_LEADER_KEY: fatal(C.UNKNOWN, '"leader" field must be provided', 'v3election.ErrMissingLeaderKey'),
} satisfies Record<string, Row>;

/** Stable error identifiers. */
export type EtcdErrorCode = keyof typeof ROWS;

function describe(code: EtcdErrorCode, r: Row): EtcdErrorDescriptor {
  const d: EtcdErrorDescriptor = {
    code,
    grpcCode: r.grpcCode,
    message: r.message,
    etcdName: r.etcdName,
    transient: r.transient,
    applied: r.applied,
    retrySafe: r.transient && r.applied === 'never',
    reauth: r.reauth ?? false,
    ...(r.note === undefined ? {} : { note: r.note }),
  };
  return Object.freeze(d);
}

/** The error table, by code. */
export const EtcdErrors: { readonly [K in EtcdErrorCode]: EtcdErrorDescriptor } = Object.freeze(
  Object.fromEntries(
    (Object.entries(ROWS) as [EtcdErrorCode, Row][]).map(([code, r]) => [code, describe(code, r)]),
  ) as { [K in EtcdErrorCode]: EtcdErrorDescriptor },
);

/** Every error code, in table order. */
export const ETCD_ERROR_CODES: readonly EtcdErrorCode[] = Object.freeze(Object.keys(ROWS) as EtcdErrorCode[]);
