/**
 * Helpers for the peer transport tests: loopback receivers that record what
 * they deliver, transports that record their callbacks, and waitFor (poll a
 * condition until a deadline; never a fixed sleep).
 */
import { newMessage } from '../src/raft/message.js';
import type { SnapshotStatus } from '../src/raft/raw-node.js';
import { MessageType } from '../src/raft/types.js';
import type { Message } from '../src/raft/types.js';
import type { PeerError } from '../src/cluster/peer-errors.js';
import { createPeerService } from '../src/cluster/peer-service.js';
import type { PeerServiceOptions } from '../src/cluster/peer-service.js';
import { PeerTransport } from '../src/cluster/peer-transport.js';
import type { PeerTransportOptions } from '../src/cluster/peer-transport.js';
import { startPeerServer } from '../src/cluster/start-peer-server.js';
import type { PeerServerHandle } from '../src/cluster/start-peer-server.js';

export const CLUSTER = 0x1c2d3e4f5a6b7c8dn;

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A MsgApp from `from` to `to` whose index carries a sequence number. */
export function seqMessage(from: bigint, to: bigint, seq: number, payload?: Uint8Array): Message {
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 1,
    index: seq,
    entries: payload === undefined ? [] : [{ term: 1, index: seq + 1, type: 0, data: payload }],
  });
}

export interface Receiver {
  readonly memberId: bigint;
  handle: PeerServerHandle;
  readonly received: Message[];
  readonly url: string;
  /** Closes the server and binds a new one on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export type ReceiverOptions = Partial<Omit<PeerServiceOptions, 'memberId'>> & { readonly port?: number };

export async function startReceiver(memberId: bigint, opts: ReceiverOptions = {}): Promise<Receiver> {
  const received: Message[] = [];
  const service = createPeerService({
    clusterId: CLUSTER,
    onMessage: (m) => received.push(m),
    ...opts,
    memberId,
  });
  const handle = await startPeerServer({ host: '127.0.0.1', port: opts.port ?? 0, service });
  const r: Receiver = {
    memberId,
    handle,
    received,
    url: handle.url,
    async restart() {
      await r.handle.close();
      r.handle = await startPeerServer({ host: '127.0.0.1', port: handle.port, service });
    },
    close: () => r.handle.close(),
  };
  return r;
}

export interface RecordingTransport {
  readonly transport: PeerTransport;
  readonly unreachable: bigint[];
  readonly snapshots: Array<[bigint, SnapshotStatus]>;
  readonly errors: Array<[bigint, PeerError]>;
}

export function recordingTransport(
  memberId: bigint,
  opts: Partial<Omit<PeerTransportOptions, 'memberId' | 'reportUnreachable' | 'reportSnapshot' | 'onPeerError'>> = {},
): RecordingTransport {
  const unreachable: bigint[] = [];
  const snapshots: Array<[bigint, SnapshotStatus]> = [];
  const errors: Array<[bigint, PeerError]> = [];
  const transport = new PeerTransport({
    clusterId: CLUSTER,
    backoffMinMs: 20,
    backoffMaxMs: 200,
    ...opts,
    memberId,
    reportUnreachable: (id) => unreachable.push(id),
    reportSnapshot: (id, s) => snapshots.push([id, s]),
    onPeerError: (id, e) => errors.push([id, e]),
  });
  return { transport, unreachable, snapshots, errors };
}

/** Sends seqMessage(from, to, seq) each time round until one arrives at `r`; returns the sequence numbers sent. */
export async function sendUntilDelivered(t: PeerTransport, from: bigint, r: Receiver, startSeq: number, what: string): Promise<number> {
  let seq = startSeq;
  const before = r.received.length;
  const deadline = Date.now() + 10_000;
  while (r.received.length === before) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    t.send([seqMessage(from, r.memberId, seq++)]);
    await new Promise((res) => setTimeout(res, 10));
  }
  return seq;
}
