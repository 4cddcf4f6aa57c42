/**
 * The WAL's error taxonomy. Every error carries a stable `code`.
 *
 * - WalCorruptError and WalFatalError mean the log cannot be trusted or extended:
 *   the server must stop (fail-stop on storage errors).
 * - The others are caller errors or expected conditions.
 */

export type WalErrorCode =
  | 'WAL_CORRUPT'
  | 'WAL_FATAL'
  | 'WAL_NOT_FOUND'
  | 'WAL_EXISTS'
  | 'WAL_LOCKED'
  | 'WAL_CLOSED'
  | 'WAL_SNAPSHOT_NOT_FOUND'
  | 'WAL_SNAPSHOT_MISMATCH'
  | 'WAL_INVALID_ARGUMENT'
  | 'WAL_IO';

export class WalError extends Error {
  readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A record before the repairable tail failed verification; names the file and byte offset. */
export class WalCorruptError extends WalError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super('WAL_CORRUPT', `wal: corrupt record in ${file} at byte offset ${offset}: ${reason}`);
    this.file = file;
    this.offset = offset;
  }
}

/** A write or fsync failed: nothing after the last acknowledged save is known to be durable. */
export class WalFatalError extends WalError {
  constructor(message: string, cause?: unknown) {
    super('WAL_FATAL', `wal: ${message}`, cause === undefined ? undefined : { cause });
  }
}

export class WalNotFoundError extends WalError {
  constructor(dir: string) {
    super('WAL_NOT_FOUND', `wal: no wal segment files in ${dir}`);
  }
}

export class WalExistsError extends WalError {
  constructor(dir: string) {
    super('WAL_EXISTS', `wal: ${dir} already holds a wal`);
  }
}

export class WalLockedError extends WalError {
  constructor(dir: string, holder: string) {
    super('WAL_LOCKED', `wal: ${dir} is already open (${holder})`);
  }
}

export class WalClosedError extends WalError {
  constructor() {
    super('WAL_CLOSED', 'wal: closed');
  }
}

export class WalSnapshotNotFoundError extends WalError {
  constructor(index: number, term: number) {
    super('WAL_SNAPSHOT_NOT_FOUND', `wal: snapshot marker {index: ${index}, term: ${term}} not found`);
  }
}

export class WalSnapshotMismatchError extends WalError {
  constructor(index: number, term: number, foundTerm: number) {
    super(
      'WAL_SNAPSHOT_MISMATCH',
      `wal: snapshot marker at index ${index} has term ${foundTerm}, expected ${term}`,
    );
  }
}

export class WalInvalidArgumentError extends WalError {
  constructor(message: string) {
    super('WAL_INVALID_ARGUMENT', `wal: ${message}`);
  }
}

/** A filesystem operation that does not endanger acknowledged data failed (e.g. removing old segments). */
export class WalIoError extends WalError {
  constructor(message: string, cause: unknown) {
    super('WAL_IO', `wal: ${message}`, { cause });
  }
}
