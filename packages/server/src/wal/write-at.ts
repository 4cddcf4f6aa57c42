import { write, writeSync } from 'node:fs';

/**
 * Writes all of `buf` at `position` of file descriptor `fd` from the thread
 * pool: every WAL write that is not made inline. The callback form costs less
 * per call than FileHandle.write, which matters on the path of every
 * acknowledged write.
 */
export function writeAt(fd: number, buf: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err !== null) reject(err);
        else if (n <= 0) reject(new Error('write made no progress'));
        else if (done + n < buf.length) step(done + n);
        else resolve();
      });
    };
    step(0);
  });
}

/** writeAt on the calling thread: blocks it until the write (and, with O_DSYNC, the sync) completed. */
export function writeAtSync(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}
