/**
 * Errors of watch streams. Messages are etcd's mvcc errors verbatim: the
 * Watch service sends them as a created-and-canceled response's cancel_reason.
 */
export type WatchErrorCode = 'ErrWatcherNotExist' | 'ErrEmptyWatcherRange' | 'ErrWatcherDuplicateID';

const MESSAGES: Readonly<Record<WatchErrorCode, string>> = {
  ErrWatcherNotExist: 'mvcc: watcher does not exist',
  ErrEmptyWatcherRange: 'mvcc: watcher range is empty',
  ErrWatcherDuplicateID: 'mvcc: duplicate watch ID provided on the WatchStream',
};

export class WatchError extends Error {
  override readonly name = 'WatchError';
  readonly code: WatchErrorCode;
  constructor(code: WatchErrorCode) {
    super(MESSAGES[code]);
    this.code = code;
  }
}
