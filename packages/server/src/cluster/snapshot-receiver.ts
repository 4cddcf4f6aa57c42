/**
 * The receiving half of SendSnapshot (etcd's snapshotHandler). The first frame
 * must be a MsgSnap from the caller to this member; the chunks after it are
 * handed to receiveSnapshot as they arrive (pull-based, so a slow disk slows
 * the sender through gRPC flow control). The chunk iterable throws
 * PeerSnapshotError when the stream ends before the trailer or the trailer's
 * size or SHA-256 disagrees with the chunks, so a receiver that consumes it
 * to the end has stored exactly the sender's bytes. Only then is the MsgSnap
 * handed to raft and the call answered.
 */
import { createHash } from 'node:crypto';
import type { ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import type { etcdtspeerpb } from '@etcd-ts/api';
import { MessageType } from '../raft/types.js';
import type { Message } from '../raft/types.js';
import type { Logger } from '../util/logger.js';
import { PeerBadRequestError, PeerError, PeerSnapshotError, toPeerStatus } from './peer-errors.js';
import type { PeerIdentity } from './peer-identity.js';
import { fromWireMessage } from './wire-message.js';

export type ReceiveSnapshot = (m: Message, chunks: AsyncIterable<Uint8Array>) => Promise<void>;

export interface SnapshotReceiverOptions {
  readonly memberId: bigint;
  readonly onMessage: (m: Message) => void;
  /** Stores the database; absent: only snapshots without database bytes are accepted. */
  readonly receiveSnapshot: ReceiveSnapshot | undefined;
  readonly logger: Logger | undefined;
}

type SnapshotCall = ServerReadableStream<etcdtspeerpb.SnapshotRequest, etcdtspeerpb.SnapshotResponseInit>;

export async function receiveSnapshotCall(
  call: SnapshotCall,
  callback: sendUnaryData<etcdtspeerpb.SnapshotResponseInit>,
  who: PeerIdentity,
  opts: SnapshotReceiverOptions,
): Promise<void> {
  const it = (call as AsyncIterable<etcdtspeerpb.SnapshotRequest>)[Symbol.asyncIterator]();
  const from = who.memberId.toString(16);
  let received = 0;
  let verified = false;
  let index = 0;
  try {
    const first = await it.next();
    const wire = first.done === true ? undefined : first.value.message;
    if (wire === undefined) throw new PeerBadRequestError('a snapshot stream must start with its MsgSnap');
    const m = fromWireMessage(wire);
    if (m.type !== MessageType.MsgSnap || m.snapshot === undefined) throw new PeerBadRequestError(`expected MsgSnap, got message type ${m.type}`);
    if (m.from !== who.memberId || m.to !== opts.memberId) {
      throw new PeerBadRequestError(`MsgSnap from ${m.from.toString(16)} to ${m.to.toString(16)} on a call from ${from} to ${opts.memberId.toString(16)}`);
    }
    index = m.snapshot.metadata.index;
    opts.logger?.info({ 'remote-snapshot-sender-id': from, 'incoming-snapshot-index': index }, 'receiving database snapshot');
    const hash = createHash('sha256');
    async function* chunks(): AsyncGenerator<Uint8Array, void, undefined> {
      for (;;) {
        let r: IteratorResult<etcdtspeerpb.SnapshotRequest>;
        try {
          r = await it.next();
        } catch (err) {
          throw new PeerSnapshotError(`snapshot stream broke after ${received} bytes`, { cause: err });
        }
        if (r.done === true) throw new PeerSnapshotError(`snapshot stream ended after ${received} bytes, before its trailer`);
        const f = r.value;
        if (f.chunk !== undefined) {
          received += f.chunk.length;
          hash.update(f.chunk);
          yield f.chunk;
        } else if (f.trailer !== undefined) {
          if (f.trailer.totalSize !== received) {
            throw new PeerSnapshotError(`snapshot size mismatch: trailer says ${f.trailer.totalSize} bytes, received ${received}`);
          }
          if (!hash.digest().equals(f.trailer.sha256)) throw new PeerSnapshotError('snapshot SHA-256 mismatch');
          verified = true;
          return;
        } else {
          throw new PeerBadRequestError('unexpected frame in a snapshot stream');
        }
      }
    }
    if (opts.receiveSnapshot !== undefined) {
      try {
        await opts.receiveSnapshot(m, chunks());
      } catch (err) {
        if (err instanceof PeerError) throw err;
        throw new PeerSnapshotError(`failed to save the database snapshot: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    } else {
      for await (const _ of chunks()) throw new PeerSnapshotError('this member does not accept database snapshots');
    }
    if (!verified) throw new PeerSnapshotError('the snapshot was not read to its end');
    opts.onMessage(m);
    opts.logger?.info({ 'remote-snapshot-sender-id': from, 'incoming-snapshot-index': index, bytes: received }, 'received and saved database snapshot');
    callback(null, { receivedBytes: received });
  } catch (err) {
    opts.logger?.warn(
      { 'remote-snapshot-sender-id': from, 'incoming-snapshot-index': index, error: err instanceof Error ? err.message : String(err) },
      'failed to receive database snapshot',
    );
    callback(toPeerStatus(err));
  }
}
