/**
 * Writes the response messages of a gRPC server stream with flow control.
 *
 * grpc-js's server Duplex hands one message at a time to HTTP/2 and waits
 * until it completed before taking the next, which costs a turn of the event
 * loop per message: a watch stream answering a hundred watchers at once then
 * needs a hundred turns. When the call exposes grpc-js's underlying call
 * object (its sendMessage(message, callback)), messages go to it directly and
 * HTTP/2 coalesces them; at most maxInflight messages and maxInflightBytes
 * bytes may be written and not yet completed, so a client that does not read
 * stops the writer (completion waits for HTTP/2 flow control). Otherwise the
 * Duplex's write() and 'drain' are used.
 *
 * Invariant: onWritable is called once after each write() that returned
 * false, when writing may resume.
 */
/** What the writer needs of a server stream (grpc-js's ServerWritableStream / ServerDuplexStream). */
export interface WritableCall {
  write(chunk: Buffer): boolean;
  on(event: 'drain', listener: () => void): unknown;
}

type SendMessage = (message: unknown, callback: () => void) => void;

interface UnderlyingCall {
  sendMessage?: unknown;
}

export interface MessageWriterLimits {
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

const DEFAULT_LIMITS: MessageWriterLimits = { maxInflight: 256, maxInflightBytes: 4 * 1024 * 1024 };

export class MessageWriter {
  readonly #call: WritableCall;
  readonly #send: SendMessage | undefined;
  readonly #limits: MessageWriterLimits;
  readonly #onWritable: () => void;
  #inflight = 0;
  #inflightBytes = 0;
  #blocked = false;

  constructor(call: WritableCall, onWritable: () => void, limits: MessageWriterLimits = DEFAULT_LIMITS) {
    this.#call = call;
    this.#onWritable = onWritable;
    this.#limits = limits;
    const inner = (call as unknown as { call?: UnderlyingCall }).call;
    const send = inner?.sendMessage;
    this.#send = typeof send === 'function' ? (send as SendMessage).bind(inner) : undefined;
    if (this.#send === undefined) {
      call.on('drain', () => this.#unblock());
    }
  }

  /** Whether messages go to the underlying call directly. */
  get direct(): boolean {
    return this.#send !== undefined;
  }

  /** Writes one message; false: wait for onWritable before writing more. */
  write(bytes: Buffer): boolean {
    if (this.#send === undefined) {
      if (this.#call.write(bytes)) return true;
      this.#blocked = true;
      return false;
    }
    this.#inflight++;
    this.#inflightBytes += bytes.length;
    const len = bytes.length;
    this.#send(bytes, () => {
      this.#inflight--;
      this.#inflightBytes -= len;
      if (this.#blocked && this.#inflight < this.#limits.maxInflight && this.#inflightBytes < this.#limits.maxInflightBytes) {
        this.#unblock();
      }
    });
    if (this.#inflight < this.#limits.maxInflight && this.#inflightBytes < this.#limits.maxInflightBytes) return true;
    this.#blocked = true;
    return false;
  }

  #unblock(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    this.#onWritable();
  }
}
