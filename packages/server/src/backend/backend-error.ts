/** Failures of the storage backend. Any of them is fatal to the server (fail-stop). */
export class BackendError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class BackendClosedError extends BackendError {
  constructor() {
    super('ErrBackendClosed', 'backend: closed');
  }
}

/** A WriteTx was used outside the transact() call that created it. */
export class TxClosedError extends BackendError {
  constructor() {
    super('ErrTxClosed', 'backend: write transaction used after its transact() returned');
  }
}

/** LMDB refuses empty keys; both backends refuse them so that they behave alike. */
export class EmptyKeyError extends BackendError {
  constructor() {
    super('ErrEmptyKey', 'backend: empty keys are not allowed');
  }
}

export class UnknownBucketError extends BackendError {
  constructor(bucket: string) {
    super('ErrUnknownBucket', `backend: unknown bucket ${JSON.stringify(bucket)}`);
  }
}
