import type { ServerDuplexStream } from '@grpc/grpc-js';

/**
 * Long-lived streams that never finish by themselves (lease keep-alives): on
 * shutdown they are ended so the graceful stop does not wait for its grace
 * period. Invariant: holds exactly the streams not yet closed.
 */
export class OpenStreams {
  readonly #streams = new Set<ServerDuplexStream<unknown, unknown>>();
  #closed = false;

  add(call: ServerDuplexStream<unknown, unknown>): void {
    if (this.#closed) {
      call.end();
      return;
    }
    this.#streams.add(call);
    call.on('close', () => this.#streams.delete(call));
  }

  /** Ends every open stream (and any added later). */
  endAll(): void {
    this.#closed = true;
    for (const call of this.#streams) call.end();
    this.#streams.clear();
  }
}
