/**
 * Errors of the multi-version store. Messages are etcd's, so that the API
 * layer can map them to the wire errors etcd returns.
 */
export class MvccError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The requested revision is at or below the compacted revision. */
export class ErrCompacted extends MvccError {
  /** The store's compacted main revision when the request was refused. */
  readonly compactRev: number;
  constructor(compactRev: number) {
    super('ErrCompacted', 'mvcc: required revision has been compacted');
    this.compactRev = compactRev;
  }
}

/** The requested revision is above the store's current revision. */
export class ErrFutureRev extends MvccError {
  /** The store's current revision when the request was refused. */
  readonly currentRev: number;
  constructor(currentRev: number) {
    super('ErrFutureRev', 'mvcc: required revision is a future revision');
    this.currentRev = currentRev;
  }
}

/** A key has no revision at the requested point (etcd's ErrRevisionNotFound). */
export class ErrRevisionNotFound extends MvccError {
  constructor() {
    super('ErrRevisionNotFound', 'mvcc: revision not found');
  }
}

/** The store is closed. */
export class ErrClosed extends MvccError {
  constructor() {
    super('ErrClosed', 'mvcc: closed');
  }
}

/**
 * An internal invariant does not hold (etcd panics in these cases): the
 * in-memory index and the backend disagree, or revisions went backwards.
 * The process must stop; the store cannot be trusted afterwards.
 */
export class MvccInvariantError extends MvccError {
  constructor(message: string) {
    super('ErrInvariant', `mvcc: ${message}`);
  }
}

/** A write transaction was used wrongly (nested, used after end()). */
export class ErrTxnState extends MvccError {
  constructor(message: string) {
    super('ErrTxnState', `mvcc: ${message}`);
  }
}
