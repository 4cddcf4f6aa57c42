/**
 * The sending half of SendSnapshot (etcd's snapshotSender): the MsgSnap in the
 * first frame, the database re-sliced into chunks of `chunkBytes`, then a
 * trailer with the total size and SHA-256 of the chunks. Writes wait for
 * gRPC's 'drain', so at most a few chunks are buffered whatever the database
 * size. Resolves once the receiver answered, i.e. stored the database and
 * handed the MsgSnap to raft.
 */
import { createHash } from 'node:crypto';
import type { ClientWritableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import type { PeerClient, etcdtspeerpb } from '@etcd-ts/api';
import type { Message } from '../raft/types.js';
import { PeerError, PeerSnapshotError, PeerTransportStoppedError, fromPeerStatus } from './peer-errors.js';
import { rechunk } from './rechunk.js';
import type { ByteSource } from './rechunk.js';
import { toWireMessage } from './wire-message.js';

export interface SendSnapshotArgs {
  readonly client: PeerClient;
  readonly metadata: Metadata;
  /** A MsgSnap. */
  readonly message: Message;
  /** The database bytes; undefined sends none. */
  readonly data: ByteSource | undefined;
  readonly chunkBytes: number;
  readonly signal: AbortSignal;
}

export interface SentSnapshot {
  /** Database bytes streamed (the receiver confirmed the same count). */
  readonly bytes: number;
}

type SnapshotCall = ClientWritableStream<etcdtspeerpb.SnapshotRequestInit>;

/** Throws a PeerError: PeerTransportStoppedError when aborted, the receiver's error when it refused. */
export async function sendSnapshot(a: SendSnapshotArgs): Promise<SentSnapshot> {
  if (a.signal.aborted) throw new PeerTransportStoppedError();
  /**
   * Rejects as soon as the transfer cannot complete (aborted, or the call
   * failed), so that neither a stalled data source nor a full write buffer
   * can hold the sender.
   */
  let interrupt!: (err: PeerError) => void;
  const interrupted = new Promise<never>((_resolve, reject) => {
    interrupt = reject;
  });
  interrupted.catch(() => {});
  let call!: SnapshotCall;
  const response = new Promise<etcdtspeerpb.SnapshotResponse>((resolve, reject) => {
    call = a.client.sendSnapshot(a.metadata, (err: ServiceError | null, res?: etcdtspeerpb.SnapshotResponse) => {
      if (err !== null || res === undefined) {
        const e = a.signal.aborted ? new PeerTransportStoppedError() : fromPeerStatus(err ?? new Error('no response'));
        interrupt(e);
        reject(e);
      } else {
        interrupt(new PeerSnapshotError('the receiver answered before the trailer'));
        resolve(res);
      }
    });
  });
  response.catch(() => {});
  call.on('error', () => {});
  const onAbort = (): void => {
    interrupt(new PeerTransportStoppedError());
    call.cancel();
  };
  a.signal.addEventListener('abort', onAbort, { once: true });

  const write = async (frame: etcdtspeerpb.SnapshotRequestInit): Promise<void> => {
    if (call.write(frame)) return;
    let onDrain: () => void = () => {};
    try {
      await Promise.race([new Promise<void>((resolve) => call.once('drain', (onDrain = resolve))), interrupted]);
    } finally {
      call.off('drain', onDrain);
    }
  };

  let source: AsyncIterator<Buffer, void, undefined> | undefined;
  try {
    await write({ message: toWireMessage(a.message) });
    const hash = createHash('sha256');
    let total = 0;
    if (a.data !== undefined) {
      source = rechunk(a.data, a.chunkBytes);
      for (;;) {
        let r: IteratorResult<Buffer, void>;
        try {
          r = await Promise.race([source.next(), interrupted]);
        } catch (err) {
          if (err instanceof PeerError) throw err;
          throw new PeerSnapshotError(`reading the snapshot data failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        if (r.done === true) break;
        hash.update(r.value);
        total += r.value.length;
        await write({ chunk: r.value });
      }
      source = undefined;
    }
    await write({ trailer: { totalSize: total, sha256: hash.digest() } });
    call.end();
    const res = await response;
    if (res.receivedBytes !== total) {
      throw new PeerSnapshotError(`receiver stored ${res.receivedBytes} bytes, ${total} were sent`);
    }
    return { bytes: total };
  } catch (err) {
    call.cancel();
    if (a.signal.aborted) throw new PeerTransportStoppedError();
    if (err instanceof PeerError) throw err;
    throw new PeerSnapshotError(`sending the snapshot failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    a.signal.removeEventListener('abort', onAbort);
    // Releases the source (a Readable is destroyed) once any pending read settles.
    if (source !== undefined) void source.return?.().catch(() => {});
  }
}
