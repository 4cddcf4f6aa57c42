/**
 * The receiving side of the peer transport: the grpc-js implementation of
 * etcdtspeerpb.Peer that a member adds to its peer server. Every Stream and
 * SendSnapshot call is admitted only if its metadata names this cluster and
 * this member and the caller was not removed (etcd's
 * checkClusterCompatibilityFromHeader and IsIDRemoved); otherwise it ends at
 * once with a typed rejection the caller decodes with fromPeerStatus().
 *
 * Invariant: at most one inbound stream per sender delivers messages; a new
 * stream from the same sender supersedes the old one, whose later frames are
 * ignored, so a sender's messages reach onMessage in the order it sent them.
 */
import type { Metadata, ServerDuplexStream, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { PeerServer, etcdtspeerpb } from '@etcd-ts/api';
import { MessageType } from '../raft/types.js';
import type { Message } from '../raft/types.js';
import type { Logger } from '../util/logger.js';
import type { Member } from './member.js';
import {
  PeerClusterMismatchError,
  PeerMemberRemovedError,
  PeerRecipientMismatchError,
  toPeerStatus,
} from './peer-errors.js';
import { parseIdentity } from './peer-identity.js';
import type { PeerIdentity } from './peer-identity.js';
import { receiveSnapshotCall } from './snapshot-receiver.js';
import type { ReceiveSnapshot } from './snapshot-receiver.js';
import { fromWireMessage } from './wire-message.js';

export interface PeerServiceOptions {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /**
   * A raft message from a peer (typically RawNode.step, then kick the Ready
   * loop). Must not throw for raft's expected refusals; an exception is logged
   * and the stream goes on.
   */
  readonly onMessage: (m: Message) => void;
  /**
   * Stores the database streamed after a MsgSnap (etcd's SaveDBFrom); must read
   * `chunks` to the end, which verifies size and checksum. The MsgSnap reaches
   * onMessage only after it resolves. Absent: snapshots with database bytes are
   * refused.
   */
  readonly receiveSnapshot?: ReceiveSnapshot;
  /** True for members removed from the cluster; their calls are refused with PeerMemberRemovedError. */
  readonly isIdRemoved?: (id: bigint) => boolean;
  /** The membership Probe answers with. */
  readonly members?: () => readonly Member[];
  readonly logger?: Logger;
}

type StreamCall = ServerDuplexStream<etcdtspeerpb.StreamRequest, etcdtspeerpb.StreamResponseInit>;

interface Inbound {
  readonly call: StreamCall;
  superseded: boolean;
}

export function createPeerService(opts: PeerServiceOptions): PeerServer {
  const inbound = new Map<bigint, Inbound>();
  const logger = opts.logger;

  function admit(call: { readonly metadata: Metadata }): PeerIdentity {
    const who = parseIdentity(call.metadata);
    if (who.clusterId !== opts.clusterId) throw new PeerClusterMismatchError(opts.clusterId, who.clusterId);
    if (who.to !== opts.memberId) throw new PeerRecipientMismatchError(opts.memberId, who.to);
    if (opts.isIdRemoved?.(who.memberId) === true) throw new PeerMemberRemovedError();
    return who;
  }

  function rejected(err: unknown, call: { getPeer(): string }): void {
    logger?.warn({ 'remote-address': call.getPeer(), error: err instanceof Error ? err.message : String(err) }, 'rejected peer call');
  }

  function deliver(m: Message): void {
    try {
      opts.onMessage(m);
    } catch (err) {
      logger?.debug({ error: err instanceof Error ? err.message : String(err), type: m.type }, 'failed to process raft message');
    }
  }

  return {
    stream(call: StreamCall): void {
      let who: PeerIdentity;
      try {
        who = admit(call);
      } catch (err) {
        rejected(err, call);
        call.on('error', () => {});
        call.emit('error', toPeerStatus(err));
        return;
      }
      const from = who.memberId;
      const self: Inbound = { call, superseded: false };
      const prev = inbound.get(from);
      if (prev !== undefined) {
        prev.superseded = true;
        prev.call.end();
      }
      inbound.set(from, self);
      const cleanup = (): void => {
        if (inbound.get(from) === self) inbound.delete(from);
      };
      call.on('error', cleanup);
      call.on('cancelled', cleanup);
      call.on('close', cleanup);
      call.on('end', () => {
        cleanup();
        call.end();
      });
      call.on('data', (req: etcdtspeerpb.StreamRequest) => {
        if (self.superseded) return;
        if (opts.isIdRemoved?.(from) === true) {
          // Removed while streaming: nothing more from it reaches raft (etcd's Process refuses removed senders).
          self.superseded = true;
          cleanup();
          rejected(new PeerMemberRemovedError(), call);
          call.emit('error', toPeerStatus(new PeerMemberRemovedError()));
          return;
        }
        for (const w of req.messages) {
          let m: Message;
          try {
            m = fromWireMessage(w);
          } catch (err) {
            logger?.warn({ 'remote-peer-id': from.toString(16), error: (err as Error).message }, 'dropped undecodable raft message');
            continue;
          }
          if (m.from !== from || m.to !== opts.memberId || m.type === MessageType.MsgSnap) {
            logger?.warn(
              { 'remote-peer-id': from.toString(16), type: m.type, from: m.from.toString(16), to: m.to.toString(16) },
              'dropped raft message: wrong sender or recipient, or a MsgSnap outside SendSnapshot',
            );
            continue;
          }
          deliver(m);
        }
      });
      call.write({ memberId: opts.memberId, clusterId: opts.clusterId });
    },

    sendSnapshot(
      call: Parameters<PeerServer['sendSnapshot']>[0],
      callback: sendUnaryData<etcdtspeerpb.SnapshotResponseInit>,
    ): void {
      let who: PeerIdentity;
      try {
        who = admit(call);
      } catch (err) {
        rejected(err, call);
        callback(toPeerStatus(err));
        return;
      }
      void receiveSnapshotCall(call, callback, who, {
        memberId: opts.memberId,
        onMessage: opts.onMessage,
        receiveSnapshot: opts.receiveSnapshot,
        logger,
      });
    },

    probe(
      call: ServerUnaryCall<etcdtspeerpb.ProbeRequest, etcdtspeerpb.ProbeResponseInit>,
      callback: sendUnaryData<etcdtspeerpb.ProbeResponseInit>,
    ): void {
      const cid = call.request.clusterId;
      if (cid !== 0n && cid !== opts.clusterId) {
        callback(toPeerStatus(new PeerClusterMismatchError(opts.clusterId, cid)));
        return;
      }
      const members = opts.members?.() ?? [];
      callback(null, {
        memberId: opts.memberId,
        clusterId: opts.clusterId,
        members: members.map((m) => ({
          ID: m.id,
          name: m.name,
          peerURLs: [...m.peerURLs],
          clientURLs: [...m.clientURLs],
          isLearner: m.isLearner,
        })),
      });
    },
  };
}
