import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { PeerService } from '@etcd-ts/api';
import type { PeerClientConstructor } from '@etcd-ts/api';
import { PeerSnapshotError, fromPeerStatus } from '../src/cluster/peer-errors.js';
import { identityMetadata } from '../src/cluster/peer-identity.js';
import { rechunk } from '../src/cluster/rechunk.js';
import { toWireMessage } from '../src/cluster/wire-message.js';
import { newMessage } from '../src/raft/message.js';
import { SnapshotStatus } from '../src/raft/raw-node.js';
import { MessageType } from '../src/raft/types.js';
import type { Message } from '../src/raft/types.js';
import { CLUSTER, recordingTransport, startReceiver, waitFor } from './peer-transport-harness.js';

const MiB = 1024 * 1024;

function snapMessage(index: number, from = 1n, to = 2n): Message {
  return newMessage({
    type: MessageType.MsgSnap,
    from,
    to,
    term: 4,
    snapshot: {
      data: new TextEncoder().encode(`raft-snapshot-${index}`),
      metadata: { index, term: 4, confState: { voters: [1n, 2n, 3n], learners: [4n] } },
    },
  });
}

/** Deterministic pseudo-random bytes. */
function database(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Yields `db` in irregular pieces, across event loop turns. */
async function* pieces(db: Buffer): AsyncGenerator<Uint8Array> {
  let off = 0;
  let k = 0;
  while (off < db.length) {
    const n = [1, 4096, 777_777, 65_536, 3 * MiB][k++ % 5]!;
    yield new Uint8Array(db.buffer, db.byteOffset + off, Math.min(n, db.length - off));
    off += n;
    await new Promise((r) => setImmediate(r));
  }
}

interface Stored {
  m: Message;
  data: Buffer;
  chunkSizes: number[];
}

test('rechunk: exact chunk sizes, no data lost, empty source yields nothing', async () => {
  const db = database(3 * MiB + 5, 1);
  const out: Buffer[] = [];
  for await (const c of rechunk(pieces(db), MiB)) out.push(c);
  assert.equal(
    out.map((c) => c.length),
    [MiB, MiB, MiB, 5],
  );
  assert.ok(Buffer.concat(out).equals(db));
  const none: Buffer[] = [];
  for await (const c of rechunk(Readable.from([]), 10)) none.push(c);
  assert.equal(none, []);
});

test('a few MiB stream through SendSnapshot in 1 MiB chunks; checksum and metadata verified; MsgSnap delivered after the store', async () => {
  const db = database(5 * MiB + 123, 7);
  const stored: Stored[] = [];
  const events: string[] = [];
  const rb = await startReceiver(2n, {
    receiveSnapshot: async (m, chunks) => {
      const parts: Buffer[] = [];
      const sizes: number[] = [];
      for await (const c of chunks) {
        parts.push(Buffer.from(c));
        sizes.push(c.length);
      }
      events.push('stored');
      stored.push({ m, data: Buffer.concat(parts), chunkSizes: sizes });
    },
    onMessage: (m) => events.push(`message ${m.type}`),
  });
  const a = recordingTransport(1n, { snapshotData: () => pieces(db) });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(42)]);
    await waitFor(() => a.snapshots.length === 1, 'the snapshot outcome', 30_000);
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Finish]]);
    assert.equal(events, ['stored', `message ${MessageType.MsgSnap}`]);
    const s = stored[0]!;
    assert.is(s.data.length, db.length);
    assert.is(createHash('sha256').update(s.data).digest('hex'), createHash('sha256').update(db).digest('hex'));
    assert.equal(s.chunkSizes, [MiB, MiB, MiB, MiB, MiB, 123]);
    assert.is(s.m.snapshot!.metadata.index, 42);
    assert.is(s.m.snapshot!.metadata.term, 4);
    assert.equal(s.m.snapshot!.metadata.confState, { voters: [1n, 2n, 3n], learners: [4n] });
    assert.is(new TextDecoder().decode(s.m.snapshot!.data), 'raft-snapshot-42');
    assert.equal(a.unreachable, []);
    assert.is(a.transport.peerStats(2n)!.snapshotsSent, 1);
    assert.is(a.transport.peerStats(2n)!.snapshotBytesSent, db.length);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a Readable source works too, and a snapshot without database bytes is delivered', async () => {
  const db = database(2 * MiB, 3);
  const sizes: number[] = [];
  const rb = await startReceiver(2n, {
    receiveSnapshot: async (_m, chunks) => {
      let n = 0;
      for await (const c of chunks) n += c.length;
      sizes.push(n);
    },
  });
  let calls = 0;
  const a = recordingTransport(1n, {
    snapshotData: () => (calls++ === 0 ? Readable.from([db.subarray(0, MiB / 2), db.subarray(MiB / 2)]) : Readable.from([])),
  });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(1)]);
    await waitFor(() => a.snapshots.length === 1, 'the first snapshot');
    a.transport.send([snapMessage(2)]);
    await waitFor(() => a.snapshots.length === 2, 'the second snapshot');
    assert.equal(a.snapshots, [
      [2n, SnapshotStatus.Finish],
      [2n, SnapshotStatus.Finish],
    ]);
    assert.equal(sizes, [2 * MiB, 0]);
    assert.equal(
      rb.received.map((m) => m.snapshot?.metadata.index),
      [1, 2],
    );
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a failing source reports Failure and unreachable; the receiver sees a truncated snapshot', async () => {
  const receiverErrors: unknown[] = [];
  let chunksSeen = 0;
  const rb = await startReceiver(2n, {
    receiveSnapshot: async (_m, chunks) => {
      try {
        for await (const _ of chunks) chunksSeen++;
      } catch (err) {
        receiverErrors.push(err);
        throw err;
      }
    },
  });
  const a = recordingTransport(1n, {
    snapshotData: () =>
      (async function* () {
        yield database(MiB, 5);
        yield database(10, 5);
        await waitFor(() => chunksSeen === 1, 'the receiver to get the first chunk');
        throw new Error('disk read failed');
      })(),
  });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(9)]);
    await waitFor(() => a.snapshots.length === 1, 'the snapshot outcome');
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Failure]]);
    assert.ok(a.unreachable.includes(2n));
    await waitFor(() => receiverErrors.length === 1, 'the receiver to notice');
    assert.instance(receiverErrors[0], PeerSnapshotError);
    assert.is(rb.received.length, 0, 'no MsgSnap for an incomplete snapshot');
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a receiver that cannot store the snapshot fails the transfer with PeerSnapshotError', async () => {
  const rb = await startReceiver(2n, {
    receiveSnapshot: async () => {
      throw new Error('no space left on device');
    },
  });
  const a = recordingTransport(1n, { snapshotData: () => Readable.from([database(100, 1)]) });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(9)]);
    await waitFor(() => a.snapshots.length === 1, 'the snapshot outcome');
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Failure]]);
    const err = a.errors.find(([, e]) => e instanceof PeerSnapshotError)?.[1];
    assert.ok(err !== undefined);
    assert.match(err.message, 'no space left on device');
    assert.is(rb.received.length, 0);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a member without receiveSnapshot refuses database bytes', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n, { snapshotData: () => Readable.from([Buffer.alloc(10)]) });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(9)]);
    await waitFor(() => a.snapshots.length === 1, 'the snapshot outcome');
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Failure]]);
    assert.is(rb.received.length, 0);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('corrupted chunks or a wrong size are caught by the trailer', async () => {
  let storedBytes = -1;
  const rb = await startReceiver(2n, {
    receiveSnapshot: async (_m, chunks) => {
      const parts: Uint8Array[] = [];
      for await (const c of chunks) parts.push(c);
      storedBytes = Buffer.concat(parts).length;
    },
  });
  const Client = makeGenericClientConstructor(PeerService, 'Peer') as unknown as PeerClientConstructor;
  const client = new Client(`127.0.0.1:${rb.handle.port}`, credentials.createInsecure());
  const md = (): Metadata => identityMetadata({ memberId: 1n, clusterId: CLUSTER, to: 2n, peerUrls: [] });
  const send = (chunks: Buffer[], trailer: { totalSize: number; sha256: Buffer }): Promise<ServiceError | null> =>
    new Promise((resolve) => {
      const call = client.sendSnapshot(md(), (err) => resolve(err));
      call.write({ message: toWireMessage(snapMessage(5)) });
      for (const chunk of chunks) call.write({ chunk });
      call.write({ trailer });
      call.end();
    });
  try {
    const good = database(1000, 2);
    const bad = Buffer.from(good);
    bad[500] = (bad[500] ?? 0) ^ 1;
    const sha = createHash('sha256').update(good).digest();
    const e1 = await send([bad], { totalSize: 1000, sha256: sha });
    assert.ok(e1 !== null);
    assert.instance(fromPeerStatus(e1), PeerSnapshotError);
    assert.match(e1.details, 'SHA-256 mismatch');
    const e2 = await send([good], { totalSize: 999, sha256: sha });
    assert.ok(e2 !== null);
    assert.match(e2.details, 'size mismatch');
    assert.is(rb.received.length, 0);
    const ok = await send([good.subarray(0, 10), good.subarray(10)], { totalSize: 1000, sha256: sha });
    assert.is(ok, null);
    assert.is(storedBytes, 1000);
    assert.is(rb.received.length, 1);
  } finally {
    client.close();
    await rb.close();
  }
});

test('one snapshot in flight per peer; stop() cancels a transfer without reporting', async () => {
  let release: () => void = () => {};
  const blocked = new Promise<void>((r) => (release = r));
  let receiverFailed = false;
  let chunksSeen = 0;
  const rb = await startReceiver(2n, {
    receiveSnapshot: async (_m, chunks) => {
      try {
        for await (const _ of chunks) chunksSeen++;
      } catch (err) {
        receiverFailed = true;
        throw err;
      }
    },
  });
  let opened = 0;
  const a = recordingTransport(1n, {
    snapshotData: () => {
      opened++;
      return (async function* () {
        yield Buffer.alloc(MiB);
        await blocked;
      })();
    },
  });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([snapMessage(1)]);
    await waitFor(() => a.transport.peerStats(2n)!.snapshotInFlight, 'the first transfer to start');
    a.transport.send([snapMessage(2)]);
    await waitFor(() => a.snapshots.length === 1, 'the second MsgSnap to be refused');
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Failure]]);
    assert.is(opened, 1);
    await waitFor(() => chunksSeen === 1, 'the receiver to get the first chunk');
    await a.transport.stop();
    release();
    await waitFor(() => receiverFailed, 'the receiver to see the cancelled transfer');
    assert.is(a.snapshots.length, 1, 'nothing reported after stop');
    assert.is(rb.received.length, 0);
  } finally {
    release();
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test.run();
