/**
 * Conversion between raft's Message and its raftpb wire form. The wire form is
 * etcd's raftpb.Message, so a frame carries exactly what etcd's rafthttp would.
 * Decoded byte fields are views of the received frame (no copy).
 */
import { raftpb } from '@etcd-ts/api';
import { MessageType } from '../raft/types.js';
import type { Entry, EntryType, Message, Snapshot } from '../raft/types.js';
import { PeerBadRequestError } from './peer-errors.js';

const MAX_MESSAGE_TYPE = MessageType.MsgPreVoteResp;
const MAX_ENTRY_TYPE = 2;

export function toWireMessage(m: Message): raftpb.MessageInit {
  const w: raftpb.MessageInit = {
    type: m.type,
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ Type: e.type, Term: e.term, Index: e.index, Data: e.data })),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context,
  };
  if (m.snapshot !== undefined) w.snapshot = toWireSnapshot(m.snapshot);
  return w;
}

export function toWireSnapshot(s: Snapshot): raftpb.SnapshotInit {
  const md = s.metadata;
  return {
    data: s.data,
    metadata: {
      index: md.index,
      term: md.term,
      confState: { voters: [...md.confState.voters], learners: [...md.confState.learners] },
    },
  };
}

/** The encoded raftpb.Message bytes of `m`. */
export function encodeWireMessage(m: Message): Buffer {
  return raftpb.Message.encode(toWireMessage(m));
}

/** Throws PeerBadRequestError for a message or entry type raft does not know. */
export function fromWireMessage(w: raftpb.Message): Message {
  if (!Number.isInteger(w.type) || w.type < 0 || w.type > MAX_MESSAGE_TYPE) {
    throw new PeerBadRequestError(`unknown raft message type ${w.type}`);
  }
  const m: Message = {
    type: w.type as MessageType,
    to: w.to,
    from: w.from,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries: w.entries.map(fromWireEntry),
    commit: w.commit,
    reject: w.reject,
    rejectHint: w.rejectHint,
    context: w.context,
  };
  return w.snapshot === undefined ? m : { ...m, snapshot: fromWireSnapshot(w.snapshot) };
}

function fromWireEntry(e: raftpb.Entry): Entry {
  if (!Number.isInteger(e.Type) || e.Type < 0 || e.Type > MAX_ENTRY_TYPE) {
    throw new PeerBadRequestError(`unknown raft entry type ${e.Type}`);
  }
  return { type: e.Type as EntryType, term: e.Term, index: e.Index, data: e.Data };
}

export function fromWireSnapshot(s: raftpb.Snapshot): Snapshot {
  const md = s.metadata;
  const cs = md?.confState;
  return {
    data: s.data,
    metadata: {
      index: md?.index ?? 0,
      term: md?.term ?? 0,
      confState: { voters: cs?.voters ?? [], learners: cs?.learners ?? [] },
    },
  };
}
