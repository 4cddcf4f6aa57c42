import type { ServerDuplexStream } from '@grpc/grpc-js';
import { etcdError } from '@etcd-ts/api';
import { failStream } from './to-grpc-error.js';

/**
 * Long-lived streams that never finish by themselves (lease keep-alives): on
 * shutdown they end with etcd's "server stopped" (UNAVAILABLE), so clients
 * move to another member, and the graceful stop does not wait for its grace
 * period. Invariant: holds exactly the streams not yet closed.
 */
export class OpenStreams {
  readonly #streams = new Set<ServerDuplexStream<unknown, unknown>>();
  #closed = false;

  add(call: ServerDuplexStream<unknown, unknown>): void {
    if (this.#closed) {
      stop(call);
      return;
    }
    this.#streams.add(call);
    call.on('close', () => this.#streams.delete(call));
  }

  /** Ends every open stream (and any added later). */
  endAll(): void {
    this.#closed = true;
    for (const call of this.#streams) stop(call);
    this.#streams.clear();
  }
}

function stop(call: ServerDuplexStream<unknown, unknown>): void {
  failStream(call, etcdError('STOPPED'));
}
