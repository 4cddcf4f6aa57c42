import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, makeGenericClientConstructor, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { PeerService } from '@etcd-ts/api';
import type { PeerClientConstructor, etcdtspeerpb } from '@etcd-ts/api';
import {
  PeerBadRequestError,
  PeerClusterMismatchError,
  PeerMemberRemovedError,
  PeerRecipientMismatchError,
  fromPeerStatus,
} from '../src/cluster/peer-errors.js';
import { SnapshotStatus } from '../src/raft/raw-node.js';
import { MessageType } from '../src/raft/types.js';
import { newMessage } from '../src/raft/message.js';
import { identityMetadata } from '../src/cluster/peer-identity.js';
import { probePeer } from '../src/cluster/probe-peer.js';
import { CLUSTER, recordingTransport, seqMessage, startReceiver, waitFor } from './peer-transport-harness.js';

const snapMessage = newMessage({
  type: MessageType.MsgSnap,
  from: 1n,
  to: 2n,
  term: 3,
  snapshot: { data: new Uint8Array(0), metadata: { index: 10, term: 3, confState: { voters: [1n, 2n], learners: [] } } },
});

test('a member of another cluster is rejected with PeerClusterMismatchError; nothing is delivered', async () => {
  const rb = await startReceiver(2n);
  const a = recordingTransport(1n, { clusterId: CLUSTER + 1n });
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([seqMessage(1n, 2n, 0)]);
    a.transport.send([snapMessage]);
    await waitFor(() => a.errors.filter(([, e]) => e instanceof PeerClusterMismatchError).length >= 2, 'stream and snapshot rejections');
    const e = a.errors.find(([, err]) => err instanceof PeerClusterMismatchError)![1];
    assert.is(e.code, 'PEER_CLUSTER_MISMATCH');
    assert.match(e.message, `local ${CLUSTER.toString(16)}`);
    assert.match(e.message, `remote ${(CLUSTER + 1n).toString(16)}`);
    await waitFor(() => a.snapshots.length === 1, 'the snapshot outcome');
    assert.equal(a.snapshots, [[2n, SnapshotStatus.Failure]]);
    assert.ok(a.unreachable.includes(2n));
    assert.not.ok(a.transport.isActive(2n));
    assert.is(rb.received.length, 0);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a removed member is rejected with PeerMemberRemovedError', async () => {
  const rb = await startReceiver(2n, { isIdRemoved: (id) => id === 1n });
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([seqMessage(1n, 2n, 0)]);
    await waitFor(() => a.errors.some(([, e]) => e instanceof PeerMemberRemovedError), 'the removal rejection');
    const e = a.errors.find(([, err]) => err instanceof PeerMemberRemovedError)![1];
    assert.is(e.message, 'the member has been permanently removed from the cluster');
    assert.is(rb.received.length, 0);
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a member removed while streaming is cut off at its next frame', async () => {
  let removed = false;
  const rb = await startReceiver(2n, { isIdRemoved: () => removed });
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [rb.url]);
    a.transport.send([seqMessage(1n, 2n, 0)]);
    await waitFor(() => rb.received.length === 1, 'delivery before the removal');
    removed = true;
    a.transport.send([seqMessage(1n, 2n, 1)]);
    await waitFor(() => a.errors.some(([, e]) => e instanceof PeerMemberRemovedError), 'the removal rejection');
    assert.is(rb.received.length, 1);
    assert.not.ok(a.transport.isActive(2n));
  } finally {
    await Promise.all([a.transport.stop(), rb.close()]);
  }
});

test('a URL that reaches another member is rejected with PeerRecipientMismatchError', async () => {
  const r3 = await startReceiver(3n);
  const a = recordingTransport(1n);
  try {
    a.transport.addPeer(2n, [r3.url]);
    a.transport.send([seqMessage(1n, 2n, 0)]);
    await waitFor(() => a.errors.some(([, e]) => e instanceof PeerRecipientMismatchError), 'the recipient rejection');
    assert.is(r3.received.length, 0);
  } finally {
    await Promise.all([a.transport.stop(), r3.close()]);
  }
});

test('calls without identity metadata are refused; misaddressed messages on a valid stream are dropped', async () => {
  const rb = await startReceiver(2n);
  const Client = makeGenericClientConstructor(PeerService, 'Peer') as unknown as PeerClientConstructor;
  const client = new Client(`127.0.0.1:${rb.handle.port}`, credentials.createInsecure());
  try {
    const bare = client.stream(new Metadata());
    const err = await new Promise<ServiceError>((resolve) => bare.on('error', resolve));
    assert.is(err.code, GrpcStatus.INVALID_ARGUMENT);
    assert.instance(fromPeerStatus(err), PeerBadRequestError);

    const md = new Metadata();
    md.set('etcdts-member-id', '0000000000000001');
    md.set('etcdts-cluster-id', CLUSTER.toString(16).padStart(16, '0'));
    md.set('etcdts-to', '0000000000000002');
    const call = client.stream(md);
    const accepted = await new Promise<etcdtspeerpb.StreamResponse>((resolve) => call.on('data', resolve));
    assert.is(accepted.memberId, 2n);
    assert.is(accepted.clusterId, CLUSTER);
    call.on('error', () => {});
    call.write({
      messages: [
        { type: MessageType.MsgApp, from: 7n, to: 2n, index: 1 },
        { type: MessageType.MsgApp, from: 1n, to: 9n, index: 2 },
        { type: MessageType.MsgSnap, from: 1n, to: 2n, index: 3 },
        { type: 99 as MessageType, from: 1n, to: 2n, index: 4 },
        { type: MessageType.MsgApp, from: 1n, to: 2n, index: 5 },
      ],
    });
    await waitFor(() => rb.received.length === 1, 'the one well-addressed message');
    assert.is(rb.received[0]!.index, 5);
    call.end();
  } finally {
    client.close();
    await rb.close();
  }
});

test('a second stream from the same sender supersedes the first, whose later frames are ignored', async () => {
  const rb = await startReceiver(2n);
  const Client = makeGenericClientConstructor(PeerService, 'Peer') as unknown as PeerClientConstructor;
  const client = new Client(`127.0.0.1:${rb.handle.port}`, credentials.createInsecure());
  const md = (): Metadata => identityMetadata({ memberId: 1n, clusterId: CLUSTER, to: 2n, peerUrls: [] });
  try {
    const first = client.stream(md());
    first.on('error', () => {});
    let firstEnded = false;
    first.on('status', () => (firstEnded = true));
    await new Promise((resolve) => first.once('data', resolve));
    first.write({ messages: [{ type: MessageType.MsgApp, from: 1n, to: 2n, index: 1 }] });
    await waitFor(() => rb.received.length === 1, 'the first stream to deliver');
    const second = client.stream(md());
    second.on('error', () => {});
    await new Promise((resolve) => second.once('data', resolve));
    await waitFor(() => firstEnded, 'the first stream to be ended by the receiver');
    first.write({ messages: [{ type: MessageType.MsgApp, from: 1n, to: 2n, index: 2 }] });
    second.write({ messages: [{ type: MessageType.MsgApp, from: 1n, to: 2n, index: 3 }] });
    await waitFor(() => rb.received.length === 2, 'the second stream to deliver');
    assert.equal(
      rb.received.map((m) => m.index),
      [1, 3],
    );
    second.end();
  } finally {
    client.close();
    await rb.close();
  }
});

test('probe answers identity and membership, and refuses a caller of another cluster', async () => {
  const rb = await startReceiver(2n, {
    members: () => [
      { id: 1n, name: 'a', peerURLs: ['http://127.0.0.1:1'], clientURLs: [], isLearner: false },
      { id: 2n, name: 'b', peerURLs: ['http://127.0.0.1:2'], clientURLs: ['http://127.0.0.1:3'], isLearner: true },
    ],
  });
  try {
    const res = await probePeer(rb.url);
    assert.is(res.memberId, 2n);
    assert.is(res.clusterId, CLUSTER);
    assert.equal(
      res.members.map((m) => [m.id, m.name, m.isLearner, m.clientURLs.length]),
      [
        [1n, 'a', false, 0],
        [2n, 'b', true, 1],
      ],
    );
    assert.is((await probePeer(rb.url, { clusterId: CLUSTER })).memberId, 2n);
    try {
      await probePeer(rb.url, { clusterId: 5n });
      assert.unreachable('probe of another cluster');
    } catch (err) {
      assert.instance(err, PeerClusterMismatchError);
    }
  } finally {
    await rb.close();
  }
});

test.run();
