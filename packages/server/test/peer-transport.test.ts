import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Transport } from '../src/raft-node/raft-node.js';
import { MessageType } from '../src/raft/types.js';
import { newMessage } from '../src/raft/message.js';
import { PeerInvalidUrlError } from '../src/cluster/peer-errors.js';
import { createPeerService } from '../src/cluster/peer-service.js';
import { startPeerServer } from '../src/cluster/start-peer-server.js';
import { CLUSTER, recordingTransport, seqMessage, startReceiver, waitFor } from './peer-transport-harness.js';
import type { Receiver, RecordingTransport } from './peer-transport-harness.js';

test('two members exchange messages both ways; every field survives the wire', async () => {
  const ra = await startReceiver(1n);
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n, { peerUrls: [ra.url] });
  const b = recordingTransport(2n, { peerUrls: [rb.url] });
  const asTransport: Transport = a.transport;
  try {
    a.transport.addPeer(2n, [rb.url]);
    b.transport.addPeer(1n, [ra.url]);
    const full = newMessage({
      type: MessageType.MsgApp,
      from: 1n,
      to: 2n,
      term: 7,
      logTerm: 6,
      index: 41,
      commit: 40,
      reject: true,
      rejectHint: 39,
      context: new Uint8Array([9, 8, 7]),
      entries: [
        { term: 6, index: 42, type: 0, data: new Uint8Array([1, 2, 3]) },
        { term: 7, index: 43, type: 1, data: new Uint8Array(0) },
      ],
    });
    asTransport.send([full]);
    b.transport.send([newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 7, index: 43 })]);
    await waitFor(() => rb.received.length === 1 && ra.received.length === 1, 'one message each way');
    const got = rb.received[0]!;
    assert.is(got.type, MessageType.MsgApp);
    assert.is(got.from, 1n);
    assert.is(got.to, 2n);
    assert.is(got.term, 7);
    assert.is(got.logTerm, 6);
    assert.is(got.index, 41);
    assert.is(got.commit, 40);
    assert.is(got.reject, true);
    assert.is(got.rejectHint, 39);
    assert.equal([...got.context], [9, 8, 7]);
    assert.equal(
      got.entries.map((e) => [e.term, e.index, e.type, [...e.data]]),
      [
        [6, 42, 0, [1, 2, 3]],
        [7, 43, 1, []],
      ],
    );
    assert.is(ra.received[0]!.type, MessageType.MsgAppResp);
    assert.ok(a.transport.isActive(2n));
    assert.ok(a.transport.activeSince(2n) instanceof Date);
    assert.equal(a.unreachable, []);
    assert.equal(b.unreachable, []);
  } finally {
    await Promise.all([a.transport.stop(), b.transport.stop(), ra.close(), rb.close()]);
  }
});

test('three members: every pair delivers, in order, batched into frames', async () => {
  const ids = [1n, 2n, 3n];
  const receivers: Receiver[] = [];
  const transports: RecordingTransport[] = [];
  try {
    for (const id of ids) receivers.push(await startReceiver(id));
    for (const id of ids) {
      const t = recordingTransport(id);
      for (const r of receivers) if (r.memberId !== id) t.transport.addPeer(r.memberId, [r.url]);
      transports.push(t);
    }
    const perPair = 3000;
    // Batches of varying size, interleaved across destinations, across event loop turns.
    let seq = 0;
    while (seq < perPair) {
      const n = 1 + (seq % 97);
      for (const [i, t] of transports.entries()) {
        const from = ids[i]!;
        const batch = [];
        for (let k = 0; k < n && seq + k < perPair; k++) {
          for (const to of ids) if (to !== from) batch.push(seqMessage(from, to, seq + k));
        }
        t.transport.send(batch);
      }
      seq += n;
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => receivers.every((r) => r.received.length === 2 * perPair), 'all messages', 20_000);
    for (const r of receivers) {
      for (const from of ids) {
        if (from === r.memberId) continue;
        const seqs = r.received.filter((m) => m.from === from).map((m) => m.index);
        assert.is(seqs.length, perPair);
        for (let i = 0; i < perPair; i++) if (seqs[i] !== i) assert.unreachable(`from ${from} to ${r.memberId}: position ${i} holds ${seqs[i]}`);
      }
    }
    for (const [i, t] of transports.entries()) {
      for (const to of ids) {
        if (to === ids[i]) continue;
        const s = t.transport.peerStats(to)!;
        assert.is(s.sentMessages, perPair);
        assert.ok(s.sentFrames < s.sentMessages / 10, `messages of one turn share a frame (${s.sentFrames} frames)`);
        assert.is(s.droppedMessages, 0);
      }
      assert.equal(t.unreachable, []);
    }
  } finally {
    await Promise.all([...transports.map((t) => t.transport.stop()), ...receivers.map((r) => r.close())]);
  }
});

test('large messages are split across frames of bounded size and arrive intact', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n, { maxFrameBytes: 256 * 1024 });
  try {
    a.transport.addPeer(2n, [rb.url]);
    const payload = new Uint8Array(200 * 1024).map((_, i) => (i * 31) & 0xff);
    a.transport.send(Array.from({ length: 20 }, (_, i) => seqMessage(1n, 2n, i, payload)));
    await waitFor(() => rb.received.length === 20, '20 large messages');
    assert.equal(
      rb.received.map((m) => m.index),
      Array.from({ length: 20 }, (_, i) => i),
    );
    for (const m of rb.received) assert.ok(Buffer.from(m.entries[0]!.data).equals(Buffer.from(payload)));
    assert.ok(a.transport.peerStats(2n)!.sentFrames >= 10, 'at most one 200 KiB message per 256 KiB frame');
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('messages to unknown peers and to 0 are ignored; removePeer stops delivery', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([seqMessage(1n, 9n, 0), seqMessage(1n, 0n, 0), seqMessage(1n, 2n, 1)]);
    await waitFor(() => rb.received.length === 1, 'the message to the known peer');
    assert.is(rb.received[0]!.index, 1);
    assert.equal(a.transport.peerIds(), [2n]);
    await a.transport.removePeer(2n);
    assert.not.ok(a.transport.hasPeer(2n));
    a.transport.send([seqMessage(1n, 2n, 2)]);
    assert.is(a.transport.peerStats(2n), undefined);
    assert.equal(a.unreachable, []);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('an exception in onMessage is contained: the stream keeps delivering', async () => {
  const got: number[] = [];
  const service = createPeerService({
    memberId: 2n,
    clusterId: CLUSTER,
    onMessage: (m) => {
      got.push(m.index);
      if (m.index === 1) throw new Error('raft refused it');
    },
  });
  const server = await startPeerServer({ host: '127.0.0.1', port: 0, service });
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [server.url]);
    a.transport.send([seqMessage(1n, 2n, 0), seqMessage(1n, 2n, 1), seqMessage(1n, 2n, 2)]);
    await waitFor(() => got.length === 3, 'three deliveries');
    a.transport.send([seqMessage(1n, 2n, 3)]);
    await waitFor(() => got.length === 4, 'a fourth delivery on the same stream');
    assert.equal(got, [0, 1, 2, 3]);
    assert.equal(a.unreachable, []);
  } finally {
    await Promise.all([a.transport.stop(), server.close()]);
  }
});

test('addPeer and updatePeer validate URLs and IDs', async () => {
  const a = recordingTransport(1n);
  try {
    assert.throws(() => a.transport.addPeer(2n, ['https://127.0.0.1:1']), (e: unknown) => e instanceof PeerInvalidUrlError);
    assert.throws(() => a.transport.addPeer(2n, []), RangeError);
    assert.throws(() => a.transport.addPeer(1n, ['http://127.0.0.1:1']), RangeError);
    assert.throws(() => a.transport.addPeer(0n, ['http://127.0.0.1:1']), RangeError);
    assert.not.ok(a.transport.hasPeer(2n));
    a.transport.addPeer(2n, ['http://127.0.0.1:1']);
    assert.throws(() => a.transport.updatePeer(2n, ['ftp://127.0.0.1:1']), (e: unknown) => e instanceof PeerInvalidUrlError);
    assert.equal(a.transport.peerStats(2n)!.urls, ['http://127.0.0.1:1']);
  } finally {
    await a.transport.stop();
  }
});

test('stop() is idempotent and send() after stop is a no-op', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n);
  a.transport.addPeer(2n, [rb.url]);
  await a.transport.stop();
  await a.transport.stop();
  a.transport.send([seqMessage(1n, 2n, 0)]);
  a.transport.addPeer(3n, [rb.url]);
  assert.not.ok(a.transport.hasPeer(3n));
  assert.equal(a.unreachable, []);
  await rb.close();
});

test.run();
