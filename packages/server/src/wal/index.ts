export { Wal, DEFAULT_SEGMENT_BYTES } from './wal.js';
export type { WalOptions, WalStats, WalRepair, WalOpenResult, WalSnapshot } from './wal.js';
export {
  WalError,
  WalCorruptError,
  WalFatalError,
  WalNotFoundError,
  WalExistsError,
  WalLockedError,
  WalClosedError,
  WalSnapshotNotFoundError,
  WalSnapshotMismatchError,
  WalInvalidArgumentError,
  WalIoError,
} from './wal-errors.js';
export type { WalErrorCode } from './wal-errors.js';
export { segmentName, parseSegmentName } from './segment-name.js';
export { LOCK_FILE_NAME } from './wal-lock.js';
