/**
 * The bounded FIFO of encoded raft messages waiting for one peer's stream
 * (etcd's streamWriter msgc, 4096 messages). Invariants: length <=
 * maxMessages; bytes is the sum of the queued messages' sizes and a message is
 * refused when it would push bytes past maxBytes (unless the queue is empty, so
 * one oversized message can still be sent); order is the order of push().
 */
export class PeerQueue {
  private items: Buffer[] = [];
  /** Index of the first live item in `items`; items before it were taken. */
  private head = 0;
  private queuedBytes = 0;

  constructor(
    readonly maxMessages: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxMessages) || maxMessages < 1) throw new RangeError(`maxMessages must be a positive integer: ${maxMessages}`);
    if (!(maxBytes >= 1)) throw new RangeError(`maxBytes must be positive: ${maxBytes}`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Appends `msg`; false (and nothing queued) when a bound would be exceeded. */
  push(msg: Buffer): boolean {
    const n = this.length;
    if (n >= this.maxMessages) return false;
    if (n > 0 && this.queuedBytes + msg.length > this.maxBytes) return false;
    this.items.push(msg);
    this.queuedBytes += msg.length;
    return true;
  }

  /** Removes and returns the oldest messages: at least one (if any), then more while the total stays within maxBytes. */
  take(maxBytes: number): Buffer[] {
    const out: Buffer[] = [];
    let size = 0;
    while (this.head < this.items.length) {
      const m = this.items[this.head] as Buffer;
      if (out.length > 0 && size + m.length > maxBytes) break;
      out.push(m);
      size += m.length;
      this.head++;
    }
    this.queuedBytes -= size;
    this.compact();
    return out;
  }

  /** Drops everything; returns how many messages were dropped. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
