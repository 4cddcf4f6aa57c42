import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { raftpb } from '@etcd-ts/api';
import { Backoff } from '../src/cluster/backoff.js';
import {
  PeerBadRequestError,
  PeerClusterMismatchError,
  PeerInvalidUrlError,
  PeerMemberRemovedError,
  PeerRecipientMismatchError,
  PeerSnapshotError,
  PeerUnavailableError,
  fromPeerStatus,
  isPeerRejection,
  toPeerStatus,
} from '../src/cluster/peer-errors.js';
import { identityMetadata, parseIdentity } from '../src/cluster/peer-identity.js';
import { peerTarget } from '../src/cluster/peer-target.js';
import { encodeWireMessage, fromWireMessage } from '../src/cluster/wire-message.js';
import { newMessage } from '../src/raft/message.js';
import { MessageType } from '../src/raft/types.js';

test('wire message round trip keeps every field, 64-bit IDs included', () => {
  const m = newMessage({
    type: MessageType.MsgSnap,
    from: 0xfedcba9876543210n,
    to: 0x8000000000000001n,
    term: 2 ** 40,
    logTerm: 5,
    index: 2 ** 52,
    commit: 17,
    reject: true,
    rejectHint: 3,
    context: new Uint8Array([1]),
    entries: [{ term: 1, index: 2, type: 2, data: new Uint8Array([4, 5]) }],
    snapshot: { data: new Uint8Array([6]), metadata: { index: 9, term: 8, confState: { voters: [0xffffffffffffffffn], learners: [2n] } } },
  });
  const back = fromWireMessage(raftpb.Message.decode(encodeWireMessage(m)));
  assert.equal(
    { ...back, context: [...back.context], entries: back.entries.map((e) => ({ ...e, data: [...e.data] })), snapshot: { ...back.snapshot!, data: [...back.snapshot!.data] } },
    { ...m, context: [1], entries: [{ term: 1, index: 2, type: 2, data: [4, 5] }], snapshot: { ...m.snapshot!, data: [6] } },
  );
  const plain = fromWireMessage(raftpb.Message.decode(encodeWireMessage(newMessage({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n }))));
  assert.is(plain.snapshot, undefined);
  assert.throws(() => fromWireMessage(raftpb.Message.decode(raftpb.Message.encode({ type: 19 as never }))), (e: unknown) => e instanceof PeerBadRequestError);
  assert.throws(
    () => fromWireMessage(raftpb.Message.decode(raftpb.Message.encode({ type: 3, entries: [{ Type: 7 as never }] }))),
    (e: unknown) => e instanceof PeerBadRequestError,
  );
});

test('identity metadata round trip and validation', () => {
  const id = { memberId: 0xabcdef0123456789n, clusterId: 0n, to: 1n, peerUrls: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] };
  assert.equal(parseIdentity(identityMetadata(id)), id);
  const md = identityMetadata({ ...id, peerUrls: [] });
  assert.equal(parseIdentity(md).peerUrls, []);
  const bad = (mutate: (m: Metadata) => void): void => {
    const m = identityMetadata(id);
    mutate(m);
    assert.throws(() => parseIdentity(m), (e: unknown) => e instanceof PeerBadRequestError);
  };
  bad((m) => m.remove('etcdts-member-id'));
  bad((m) => m.set('etcdts-member-id', '0'));
  bad((m) => m.set('etcdts-to', 'xyz'));
  bad((m) => m.set('etcdts-cluster-id', '12345678901234567'));
});

test('errors: stable codes, status round trip, rejections', () => {
  const cases = [
    new PeerClusterMismatchError(1n, 2n),
    new PeerRecipientMismatchError(1n, 2n),
    new PeerMemberRemovedError(),
    new PeerBadRequestError('x'),
    new PeerSnapshotError('y'),
  ];
  for (const e of cases) {
    const s = toPeerStatus(e);
    assert.is(s.code, e.grpcCode);
    const back = fromPeerStatus({ code: s.code, details: s.details, metadata: new Metadata() });
    assert.is(back.constructor, e.constructor);
    assert.is(back.code, e.code);
    assert.is(back.message, e.message);
  }
  assert.is(new PeerClusterMismatchError(0x1fn, 0x2an).message, 'cluster ID mismatch: local 1f, remote 2a');
  assert.instance(fromPeerStatus({ code: GrpcStatus.UNAVAILABLE, details: 'connection refused', metadata: new Metadata() }), PeerUnavailableError);
  assert.instance(fromPeerStatus(new Error('write after end')), PeerUnavailableError);
  assert.is(toPeerStatus(new Error('boom')).code, GrpcStatus.UNKNOWN);
  assert.ok(isPeerRejection(new PeerMemberRemovedError()));
  assert.ok(isPeerRejection(new PeerClusterMismatchError(1n, 2n)));
  assert.not.ok(isPeerRejection(new PeerUnavailableError('x')));
});

test('peer URLs map to gRPC targets', () => {
  assert.is(peerTarget('http://127.0.0.1:2380').target, '127.0.0.1:2380');
  assert.is(peerTarget('http://[::1]:2380').target, '[::1]:2380');
  assert.is(peerTarget('http://example.com').target, 'example.com:80');
  for (const u of ['https://127.0.0.1:2380', 'unix:///tmp/x', 'http://127.0.0.1:2380/path', 'not a url']) {
    assert.throws(() => peerTarget(u), (e: unknown) => e instanceof PeerInvalidUrlError, u);
  }
});

test('backoff doubles from min to max, jittered down by at most 20%, and resets', () => {
  const b = new Backoff(100, 1000, () => 0);
  assert.equal([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
  b.reset();
  assert.is(b.next(), 100);
  const j = new Backoff(100, 1000, () => 0.999);
  j.next();
  const d = j.next();
  assert.ok(d >= 160 && d <= 200, String(d));
  assert.throws(() => new Backoff(0, 10));
  assert.throws(() => new Backoff(10, 5));
});

test.run();
