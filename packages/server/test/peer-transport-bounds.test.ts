import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PeerServer } from '@etcd-ts/api';
import { PeerQueue } from '../src/cluster/peer-queue.js';
import { createPeerService } from '../src/cluster/peer-service.js';
import { startPeerServer } from '../src/cluster/start-peer-server.js';
import { CLUSTER, recordingTransport, seqMessage, startReceiver, waitFor } from './peer-transport-harness.js';

test('PeerQueue: bounded by count and bytes, FIFO, take() respects the frame budget', () => {
  const q = new PeerQueue(3, 100);
  assert.ok(q.push(Buffer.alloc(10, 1)));
  assert.ok(q.push(Buffer.alloc(20, 2)));
  assert.ok(q.push(Buffer.alloc(30, 3)));
  assert.not.ok(q.push(Buffer.alloc(1)), 'count bound');
  assert.is(q.length, 3);
  assert.is(q.bytes, 60);
  assert.equal(
    q.take(25).map((b) => b[0]),
    [1],
  );
  assert.equal(
    q.take(1000).map((b) => b[0]),
    [2, 3],
  );
  assert.is(q.bytes, 0);
  assert.ok(q.push(Buffer.alloc(150)), 'one oversized message fits an empty queue');
  assert.not.ok(q.push(Buffer.alloc(1)), 'byte bound');
  assert.is(q.clear(), 1);
  assert.is(q.length, 0);
  assert.equal(q.take(10), []);
});

test('queue overflow drops messages and reports the peer unreachable', async () => {
  const probe = await startReceiver(2n);
  const port = probe.handle.port;
  await probe.close();
  const a = recordingTransport(1n, { maxQueuedMessages: 16 });
  try {
    a.transport.addPeer(2n, [`http://127.0.0.1:${port}`]);
    // One synchronous batch, before the first dial can complete: 16 queue, 34 drop.
    a.transport.send(Array.from({ length: 50 }, (_, i) => seqMessage(1n, 2n, i)));
    const s = a.transport.peerStats(2n)!;
    assert.is(s.queuedMessages, 16);
    assert.is(s.droppedMessages, 34);
    assert.equal(a.unreachable, [], 'reports are deferred, never made inside send()');
    await waitFor(() => a.unreachable.length > 0, 'the overflow report');
    assert.is(a.unreachable[0], 2n);

    // The dial fails: the queue is dropped, the peer goes inactive.
    await waitFor(() => a.transport.peerStats(2n)!.state === 'inactive', 'the failed dial');
    assert.is(a.transport.peerStats(2n)!.queuedMessages, 0);
    assert.is(a.transport.peerStats(2n)!.droppedMessages, 50);

    // While inactive every send is dropped and reported, once per send() call per peer.
    const reports = a.unreachable.length;
    a.transport.send([seqMessage(1n, 2n, 100), seqMessage(1n, 2n, 101)]);
    assert.is(a.transport.peerStats(2n)!.queuedMessages, 0);
    await waitFor(() => a.unreachable.length === reports + 1, 'one report for the inactive peer');
    for (let i = 0; i < 200; i++) assert.ok(a.transport.peerStats(2n)!.queuedMessages <= 16);
  } finally {
    await a.transport.stop();
  }
});

test('a receiver that stops reading: writes back up, the queue stays bounded, overflow is reported, the rest arrives in order', async () => {
  const inbound: Array<{ pause(): void; resume(): void }> = [];
  const received: number[] = [];
  const inner = createPeerService({ memberId: 2n, clusterId: CLUSTER, onMessage: (m) => received.push(m.index) });
  const service: PeerServer = {
    ...inner,
    stream(call) {
      inner.stream(call);
      inbound.push(call);
    },
  };
  const server = await startPeerServer({ host: '127.0.0.1', port: 0, service });
  const a = recordingTransport(1n, { maxQueuedMessages: 64 });
  try {
    a.transport.addPeer(2n, [server.url]);
    a.transport.send([seqMessage(1n, 2n, 0)]);
    await waitFor(() => received.length === 1, 'the stream to be up');
    for (const c of inbound) c.pause();
    const payload = new Uint8Array(64 * 1024);
    let seq = 1;
    const deadline = Date.now() + 20_000;
    while (a.transport.peerStats(2n)!.droppedMessages === 0) {
      if (Date.now() > deadline) throw new Error('the queue never overflowed');
      a.transport.send(Array.from({ length: 16 }, () => seqMessage(1n, 2n, seq++, payload)));
      assert.ok(a.transport.peerStats(2n)!.queuedMessages <= 64);
      await new Promise((r) => setImmediate(r));
    }
    assert.is(a.transport.peerStats(2n)!.queuedMessages, 64, 'the queue filled while gRPC could not write');
    await waitFor(() => a.unreachable.includes(2n), 'the overflow report');
    assert.ok(a.transport.isActive(2n), 'a full queue does not break the stream');
    for (const c of inbound) c.resume();
    await waitFor(() => a.transport.peerStats(2n)!.queuedMessages === 0, 'the queue to drain');
    await waitFor(() => received.length === a.transport.peerStats(2n)!.sentMessages, 'everything handed to gRPC');
    for (let i = 1; i < received.length; i++) assert.ok(received[i]! > received[i - 1]!, 'delivered messages keep their order');
    const s = a.transport.peerStats(2n)!;
    assert.is(s.sentMessages + s.droppedMessages, seq);
  } finally {
    await Promise.all([a.transport.stop(), server.close()]);
  }
});

test('no callback runs after stop()', async () => {
  const probe = await startReceiver(2n);
  const port = probe.handle.port;
  await probe.close();
  const a = recordingTransport(1n, { maxQueuedMessages: 1 });
  a.transport.addPeer(2n, [`http://127.0.0.1:${port}`]);
  a.transport.send([seqMessage(1n, 2n, 0), seqMessage(1n, 2n, 1)]);
  await a.transport.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(a.unreachable, []);
  assert.equal(a.errors, []);
});

test.run();
