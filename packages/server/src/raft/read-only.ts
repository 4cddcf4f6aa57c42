import type { Message, NodeId } from './types.js';

/**
 * How a leader answers ReadIndex: Safe confirms leadership with a heartbeat
 * round carrying the request context (Raft dissertation §6.4); LeaseBased
 * trusts the check-quorum lease and answers at once (requires checkQuorum and
 * bounded clock drift).
 */
export const ReadOnlyOption = { Safe: 0, LeaseBased: 1 } as const;
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

export interface ReadIndexStatus {
  /** The MsgReadIndex being answered; entries[0].data is the request context. */
  readonly req: Message;
  /** The leader's commit index when the request arrived. */
  readonly index: number;
  /** Members that acknowledged a heartbeat carrying this context. */
  readonly acks: Map<NodeId, boolean>;
}

/** Turns a request context into a map key (one UTF-16 code unit per byte). */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

/**
 * Pending ReadIndex requests of a leader, in arrival order. An acknowledgment
 * of a later request also confirms every earlier one (leadership held at the
 * later time held at the earlier time too).
 */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  private readonly pendingReadIndex = new Map<string, ReadIndexStatus>();
  private readIndexQueue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Registers a request at the current commit index; duplicate contexts are ignored. */
  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.entries[0]?.data ?? new Uint8Array(0));
    if (this.pendingReadIndex.has(key)) return;
    this.pendingReadIndex.set(key, { index, req: m, acks: new Map() });
    this.readIndexQueue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat carrying ctx; returns the acks so far. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlyMap<NodeId, boolean> | undefined {
    const rs = this.pendingReadIndex.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * Dequeues the request with context ctx and every request queued before it;
   * they are all confirmed.
   */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const pos = this.readIndexQueue.indexOf(key);
    if (pos < 0) return [];
    const done = this.readIndexQueue.slice(0, pos + 1);
    this.readIndexQueue = this.readIndexQueue.slice(pos + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pendingReadIndex.get(k);
      if (rs === undefined) continue;
      this.pendingReadIndex.delete(k);
      out.push(rs);
    }
    return out;
  }

  /** The context of the newest pending request, carried by the next heartbeat round. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const key = this.readIndexQueue[this.readIndexQueue.length - 1];
    if (key === undefined) return undefined;
    return this.pendingReadIndex.get(key)?.req.entries[0]?.data;
  }

  pendingCount(): number {
    return this.readIndexQueue.length;
  }
}
