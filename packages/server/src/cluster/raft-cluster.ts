/**
 * The membership of the cluster as the log defines it (etcd's RaftCluster):
 * members with their raft attributes (peer URLs, learner flag) and published
 * attributes (name, client URLs), and the IDs that were removed, which may never
 * come back. Persisted in the backend's members and members_removed buckets in
 * the same transaction as the log entry that changed them.
 *
 * Configuration changes are validated when applied, not when proposed, as etcd
 * does: every member applies the same entries in the same order and so reaches
 * the same verdict; an invalid change is applied as a no-op and its error is
 * returned to the proposer.
 */
import type { Backend, WriteTx } from '../backend/backend.js';
import { ConfChangeType, type ConfChange } from '../raft/types.js';
import { decodeMember, encodeMember, memberKey, type Member } from './member.js';

/** etcd's maxLearners. */
export const MAX_LEARNERS = 1;

export type MembershipErrorCode =
  | 'ID_REMOVED'
  | 'ID_EXISTS'
  | 'ID_NOT_FOUND'
  | 'PEER_URL_EXISTS'
  | 'MEMBER_NOT_LEARNER'
  | 'TOO_MANY_LEARNERS';

const MESSAGES: Record<MembershipErrorCode, string> = {
  ID_REMOVED: 'membership: ID removed',
  ID_EXISTS: 'membership: ID exists',
  ID_NOT_FOUND: 'membership: ID not found',
  PEER_URL_EXISTS: 'membership: peerURL exists',
  MEMBER_NOT_LEARNER: 'membership: can only promote a learner member',
  TOO_MANY_LEARNERS: 'membership: too many learner members in cluster',
};

export class MembershipError extends Error {
  override readonly name = 'MembershipError';
  constructor(readonly code: MembershipErrorCode) {
    super(MESSAGES[code]);
  }
}

/** The context of an AddNode/AddLearnerNode change: the member, or a promotion of a learner. */
export interface ConfChangeContext {
  readonly member: Member;
  readonly isPromote: boolean;
}

interface StoredContext {
  readonly member: string;
  readonly isPromote: boolean;
}

export function encodeConfChangeContext(ctx: ConfChangeContext): Buffer {
  const stored: StoredContext = { member: encodeMember(ctx.member).toString('utf8'), isPromote: ctx.isPromote };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeConfChangeContext(b: Uint8Array): ConfChangeContext {
  const s = JSON.parse(Buffer.from(b).toString('utf8')) as StoredContext;
  return { member: decodeMember(Buffer.from(s.member, 'utf8')), isPromote: s.isPromote };
}

const REMOVED = Buffer.from('removed');

export class RaftCluster {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();

  /** Loads the membership persisted in the backend. */
  constructor(backend: Backend) {
    for (const [, v] of backend.range('members', Buffer.alloc(0))) {
      const m = decodeMember(v);
      this.members.set(m.id, m);
    }
    for (const [k] of backend.range('members_removed', Buffer.alloc(0))) {
      this.removed.add(BigInt(`0x${Buffer.from(k).toString('latin1')}`));
    }
  }

  member(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  /** Members ordered by ID, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  get size(): number {
    return this.members.size;
  }

  /** etcd's ValidateConfigurationChange, against the membership as applied so far. */
  validate(cc: ConfChange): MembershipError | undefined {
    if (this.removed.has(cc.nodeId)) return new MembershipError('ID_REMOVED');
    const existing = this.members.get(cc.nodeId);
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const ctx = decodeConfChangeContext(cc.context);
        if (ctx.isPromote) {
          if (existing === undefined) return new MembershipError('ID_NOT_FOUND');
          if (!existing.isLearner) return new MembershipError('MEMBER_NOT_LEARNER');
          return undefined;
        }
        if (existing !== undefined) return new MembershipError('ID_EXISTS');
        if (this.peerUrlTaken(ctx.member.peerURLs, undefined)) return new MembershipError('PEER_URL_EXISTS');
        if (ctx.member.isLearner && this.list().filter((m) => m.isLearner).length + 1 > MAX_LEARNERS) {
          return new MembershipError('TOO_MANY_LEARNERS');
        }
        return undefined;
      }
      case ConfChangeType.RemoveNode:
        return existing === undefined ? new MembershipError('ID_NOT_FOUND') : undefined;
      case ConfChangeType.UpdateNode: {
        if (existing === undefined) return new MembershipError('ID_NOT_FOUND');
        const m = decodeMember(cc.context);
        return this.peerUrlTaken(m.peerURLs, cc.nodeId) ? new MembershipError('PEER_URL_EXISTS') : undefined;
      }
      default:
        return undefined;
    }
  }

  /** Applies a validated change. */
  apply(tx: WriteTx, cc: ConfChange): void {
    switch (cc.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const ctx = decodeConfChangeContext(cc.context);
        const existing = this.members.get(cc.nodeId);
        if (ctx.isPromote && existing !== undefined) this.put(tx, { ...existing, isLearner: false });
        else if (!ctx.isPromote) this.put(tx, { ...ctx.member, id: cc.nodeId });
        break;
      }
      case ConfChangeType.RemoveNode:
        this.members.delete(cc.nodeId);
        this.removed.add(cc.nodeId);
        tx.delete('members', memberKey(cc.nodeId));
        tx.put('members_removed', memberKey(cc.nodeId), REMOVED);
        break;
      case ConfChangeType.UpdateNode: {
        const existing = this.members.get(cc.nodeId);
        if (existing !== undefined) this.put(tx, { ...existing, peerURLs: decodeMember(cc.context).peerURLs });
        break;
      }
    }
  }

  /** Records a member's published name and client URLs (etcd's attributes). */
  setAttributes(tx: WriteTx, id: bigint, name: string, clientURLs: readonly string[]): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    this.put(tx, { ...m, name, clientURLs });
  }

  private put(tx: WriteTx, m: Member): void {
    this.members.set(m.id, m);
    tx.put('members', memberKey(m.id), encodeMember(m));
  }

  private peerUrlTaken(urls: readonly string[], except: bigint | undefined): boolean {
    for (const m of this.members.values()) {
      if (m.id === except) continue;
      if (m.peerURLs.some((u) => urls.includes(u))) return true;
    }
    return false;
  }
}
