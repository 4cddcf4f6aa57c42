import type { etcdserverpb } from '@etcd-ts/api';
import type { CallOptions } from './call-options.js';
import type { Rpc } from './rpc.js';

/** A cluster member (etcdserverpb.Member). */
export interface Member {
  readonly id: bigint;
  /** Empty until the member has started (joined and published its attributes). */
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** Empty until the member has started. */
  readonly clientUrls: readonly string[];
  /** A learner replicates the log but does not vote, and serves no client requests but Status/MemberList. */
  readonly isLearner: boolean;
}

/** Result of MemberAdd: the new member (not started yet) and the resulting membership. */
export interface MemberAddResult {
  readonly member: Member;
  readonly members: Member[];
}

export interface MemberAddOptions extends CallOptions {
  /** Add the member as a learner (promote it with memberPromote once it caught up). */
  readonly isLearner?: boolean | undefined;
}

/** The Member a wire Member stands for. */
function toMember(m: etcdserverpb.Member): Member {
  return { id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner };
}

/** Whether the member has started: it published its name and client URLs. */
export function isStarted(m: Member): boolean {
  return m.name !== '' && m.clientUrls.length > 0;
}

/**
 * etcd's Cluster service: membership. Reads are retried whenever the error is
 * transient; changes only when the error proves they were not applied (a
 * repeated MemberAdd would add a second member).
 */
export class ClusterClient {
  constructor(private readonly rpc: Rpc) {}

  /** The current members, as the answering member knows them (etcd 3.4 serves it without consensus). */
  async memberList(opts?: CallOptions): Promise<Member[]> {
    const res = await this.rpc.unary<etcdserverpb.MemberListResponse>('idempotent', opts, (ep, md, o, cb) =>
      ep.cluster.memberList({}, md, o, cb),
    );
    return res.members.map(toMember);
  }

  /** Adds a member with the given peer URLs; start it afterwards with --initial-cluster-state existing. */
  async memberAdd(peerUrls: readonly string[], opts?: MemberAddOptions): Promise<MemberAddResult> {
    const res = await this.rpc.unary<etcdserverpb.MemberAddResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.cluster.memberAdd({ peerURLs: peerUrls, isLearner: opts?.isLearner === true }, md, o, cb),
    );
    if (res.member === undefined) throw new TypeError('etcd MemberAdd response without the added member');
    return { member: toMember(res.member), members: res.members.map(toMember) };
  }

  /** Removes a member. Resolves to the remaining members. */
  async memberRemove(id: bigint, opts?: CallOptions): Promise<Member[]> {
    const res = await this.rpc.unary<etcdserverpb.MemberRemoveResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.cluster.memberRemove({ ID: id }, md, o, cb),
    );
    return res.members.map(toMember);
  }

  /** Replaces a member's peer URLs. Resolves to the members. */
  async memberUpdate(id: bigint, peerUrls: readonly string[], opts?: CallOptions): Promise<Member[]> {
    const res = await this.rpc.unary<etcdserverpb.MemberUpdateResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.cluster.memberUpdate({ ID: id, peerURLs: peerUrls }, md, o, cb),
    );
    return res.members.map(toMember);
  }

  /**
   * Makes a learner a voting member. Refused with LEARNER_NOT_READY until the
   * learner's log has caught up with the leader's (that error is retried
   * within the call's deadline).
   */
  async memberPromote(id: bigint, opts?: CallOptions): Promise<Member[]> {
    const res = await this.rpc.unary<etcdserverpb.MemberPromoteResponse>('mutation', opts, (ep, md, o, cb) =>
      ep.cluster.memberPromote({ ID: id }, md, o, cb),
    );
    return res.members.map(toMember);
  }
}
