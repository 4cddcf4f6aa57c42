import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PeerUnavailableError } from '../src/cluster/peer-errors.js';
import { recordingTransport, sendUntilDelivered, seqMessage, startReceiver, waitFor } from './peer-transport-harness.js';

test('the stream reconnects after the receiving server restarts on the same port', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [rb.url]);
    let seq = await sendUntilDelivered(a.transport, 1n, rb, 0, 'first delivery');
    const firstActive = a.transport.activeSince(2n);
    assert.ok(firstActive instanceof Date);

    await rb.handle.close();
    await waitFor(() => !a.transport.isActive(2n), 'the peer to become inactive');
    assert.is(a.transport.activeSince(2n), undefined);
    await waitFor(() => a.unreachable.includes(2n), 'an unreachable report');
    assert.ok(a.errors.some(([id, e]) => id === 2n && e instanceof PeerUnavailableError));

    await rb.restart();
    const before = rb.received.length;
    seq = await sendUntilDelivered(a.transport, 1n, rb, seq, 'delivery after restart');
    assert.ok(rb.received.length > before);
    assert.ok(a.transport.isActive(2n));
    const again = a.transport.activeSince(2n);
    assert.ok(again !== undefined && again.getTime() >= firstActive.getTime());

    // Once active again, nothing is dropped and order holds.
    const start = seq;
    const burst = Array.from({ length: 500 }, (_, i) => seqMessage(1n, 2n, start + i));
    const mark = rb.received.length;
    a.transport.send(burst);
    await waitFor(() => rb.received.length === mark + 500, 'the burst after reconnection');
    assert.equal(
      rb.received.slice(mark).map((m) => m.index),
      burst.map((m) => m.index),
    );
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a peer that is down at first is reached once it starts', async () => {
  const probe = await startReceiver(2n);
  const port = probe.handle.port;
  await probe.close();
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [`http://127.0.0.1:${port}`]);
    await waitFor(() => a.transport.peerStats(2n)!.state === 'inactive', 'the first dial to fail');
    const rb = await startReceiver(2n, { port });
    try {
      await sendUntilDelivered(a.transport, 1n, rb, 0, 'delivery once the peer is up');
      assert.ok(a.transport.isActive(2n));
    } finally {
      await rb.close();
    }
  } finally {
    await a.transport.stop();
  }
});

test('updatePeer moves the stream to the new URL', async () => {
  const r1 = await startReceiver(2n);
  const r2 = await startReceiver(2n);
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [r1.url]);
    await sendUntilDelivered(a.transport, 1n, r1, 0, 'delivery at the first URL');
    a.transport.updatePeer(2n, [r2.url]);
    assert.equal(a.transport.peerStats(2n)!.urls, [r2.url]);
    await sendUntilDelivered(a.transport, 1n, r2, 100, 'delivery at the new URL');
    const onOld = r1.received.length;
    a.transport.send([seqMessage(1n, 2n, 1000)]);
    await waitFor(() => r2.received.some((m) => m.index === 1000), 'the next message at the new URL');
    assert.is(r1.received.length, onOld);
  } finally {
    await Promise.all([a.transport.stop(), r1.close(), r2.close()]);
  }
});

test('with several URLs, a dead one is skipped', async () => {
  const dead = await startReceiver(2n);
  const deadUrl = dead.url;
  await dead.close();
  const live = await startReceiver(2n);
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [deadUrl, live.url]);
    await sendUntilDelivered(a.transport, 1n, live, 0, 'delivery through the live URL');
    assert.ok(a.transport.isActive(2n));
  } finally {
    await Promise.all([a.transport.stop(), live.close()]);
  }
});

test.run();
