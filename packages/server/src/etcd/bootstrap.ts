/**
 * Opens or creates a member's storage, as etcd's bootstrap does:
 *  - restart (a WAL exists): the member and cluster IDs come from the WAL
 *    metadata and the --initial-* flags are ignored; the raft log and hard state
 *    come from the WAL, the state machine from the backend;
 *  - new member: IDs are derived from --initial-cluster and
 *    --initial-cluster-token, and the log starts with one committed AddNode
 *    ConfChange per initial member;
 *  - memory storage: like a new member, with nothing persisted.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { openLmdbBackend, type LmdbBackendOptions } from '../backend/lmdb-backend.js';
import { MemoryBackend } from '../backend/memory-backend.js';
import { computeClusterId, computeMemberId, type Member } from '../cluster/member.js';
import { probePeer } from '../cluster/probe-peer.js';
import { encodeConfChangeContext } from '../cluster/raft-cluster.js';
import type { ServerConfig } from '../config/server-config.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import type { Peer } from '../raft/raw-node.js';
import { EphemeralLogStore, type LogStore } from '../raft-node/log-store.js';
import type { Snapshot } from '../raft/types.js';
import { Snapshotter } from '../snap/snapshotter.js';
import { Wal } from '../wal/wal.js';

export interface Bootstrapped {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly backend: Backend;
  readonly logStore: LogStore;
  /** Holds the persisted log (restart) or nothing yet (new member). */
  readonly storage: MemoryStorage;
  /** Raft snapshot files; undefined in the memory storage mode. */
  readonly snapshotter: Snapshotter | undefined;
  /** The newest snapshot, already applied to storage. */
  readonly snapshot: Snapshot | undefined;
  /** Set for a new member: the peers raft must bootstrap with. */
  readonly bootstrapPeers: readonly Peer[] | undefined;
  readonly initialMembers: readonly Member[];
}

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
}

type BootstrapConfig = Pick<
  ServerConfig,
  | 'name'
  | 'dataDir'
  | 'walDir'
  | 'initialClusterMembers'
  | 'initialClusterToken'
  | 'initialClusterState'
  | 'advertiseClientUrls'
  | 'experimentalBackendStorage'
  | 'unsafeNoFsync'
  | 'backendBatchIntervalMs'
  | 'backendBatchLimit'
  | 'maxSnapshots'
  | 'initialAdvertisePeerUrls'
>;

export const walDirOf = (cfg: Pick<ServerConfig, 'dataDir' | 'walDir'>): string =>
  cfg.walDir !== '' ? cfg.walDir : join(cfg.dataDir, 'member', 'wal');

function encodeMetadata(memberId: bigint, clusterId: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(memberId, 0);
  b.writeBigUInt64BE(clusterId, 8);
  return b;
}

function decodeMetadata(b: Uint8Array): { memberId: bigint; clusterId: bigint } {
  if (b.length !== 16) throw new BootstrapError(`WAL metadata has ${b.length} bytes, expected 16`);
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { memberId: buf.readBigUInt64BE(0), clusterId: buf.readBigUInt64BE(8) };
}

function initialMembers(cfg: BootstrapConfig): Member[] {
  return cfg.initialClusterMembers.map((m) => {
    const peerURLs = m.peerUrls.map((u) => u.href);
    return {
      id: computeMemberId(peerURLs, cfg.initialClusterToken),
      name: m.name,
      peerURLs,
      clientURLs: m.name === cfg.name ? cfg.advertiseClientUrls.map((u) => u.href) : [],
      isLearner: false,
    };
  });
}

/** The peers raft bootstraps with: one AddNode change per member, carrying the member. */
function bootstrapPeersOf(members: readonly Member[]): Peer[] {
  return members.map((m) => ({ id: m.id, context: encodeConfChangeContext({ member: m, isPromote: false }) }));
}

function newMember(cfg: BootstrapConfig): { memberId: bigint; clusterId: bigint; members: Member[] } {
  const members = initialMembers(cfg);
  const self = members.find((m) => m.name === cfg.name);
  if (self === undefined) {
    throw new BootstrapError(`couldn't find local name "${cfg.name}" in the initial cluster configuration`);
  }
  return { memberId: self.id, clusterId: computeClusterId(members.map((m) => m.id)), members };
}

/**
 * A member added with MemberAdd joins with --initial-cluster-state existing: it
 * learns the cluster ID and its own member ID (by its peer URLs) from a running
 * member, as etcd's GetClusterFromRemotePeers does.
 */
async function joinExisting(cfg: BootstrapConfig): Promise<{ memberId: bigint; clusterId: bigint; members: readonly Member[] }> {
  const own = new Set(cfg.initialAdvertisePeerUrls.map((u) => u.href));
  const errors: string[] = [];
  for (const m of cfg.initialClusterMembers) {
    for (const u of m.peerUrls) {
      if (own.has(u.href)) continue;
      try {
        const remote = await probePeer(u.href, { timeoutMs: 2000 });
        const self = remote.members.find((x) => x.peerURLs.some((p) => own.has(p)));
        if (self === undefined) {
          throw new BootstrapError(
            `member with peer URLs ${[...own].join(',')} is not in the cluster at ${u.href}; add it with MemberAdd first`,
          );
        }
        return { memberId: self.id, clusterId: remote.clusterId, members: remote.members };
      } catch (err) {
        if (err instanceof BootstrapError) throw err;
        errors.push(`${u.href}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  throw new BootstrapError(`could not reach any member of the existing cluster (${errors.join('; ')})`);
}

/** How a member opens its LMDB backend: etcd's --backend-batch-interval and --backend-batch-limit. */
export function memberBackendOptions(cfg: Pick<ServerConfig, 'backendBatchIntervalMs' | 'backendBatchLimit'>): LmdbBackendOptions {
  return { batchIntervalMs: cfg.backendBatchIntervalMs, batchLimit: cfg.backendBatchLimit };
}

export async function bootstrap(cfg: BootstrapConfig): Promise<Bootstrapped> {
  const storage = new MemoryStorage();
  if (cfg.experimentalBackendStorage === 'memory') {
    const { memberId, clusterId, members } = newMember(cfg);
    return {
      memberId,
      clusterId,
      backend: new MemoryBackend(),
      logStore: new EphemeralLogStore(),
      storage,
      snapshotter: undefined,
      snapshot: undefined,
      bootstrapPeers: bootstrapPeersOf(members),
      initialMembers: members,
    };
  }

  const walDir = walDirOf(cfg);
  const walOptions = { unsafeNoFsync: cfg.unsafeNoFsync };
  const backendOptions = memberBackendOptions(cfg);
  const snapshotter = new Snapshotter(join(cfg.dataDir, 'member', 'snap'), cfg.maxSnapshots > 0 ? cfg.maxSnapshots : 5);
  if (Wal.exists(walDir)) {
    const snapshot = await snapshotter.loadNewest();
    if (snapshot !== undefined) storage.applySnapshot(snapshot);
    const md = snapshot?.metadata;
    const opened = await Wal.open(walDir, md !== undefined ? { index: md.index, term: md.term } : undefined, walOptions);
    const { memberId, clusterId } = decodeMetadata(opened.metadata);
    storage.setHardState(opened.hardState);
    storage.append(opened.entries);
    const backend = openLmdbBackend(cfg.dataDir, backendOptions);
    // A crash between creating the WAL and persisting the first Ready leaves an empty
    // log: the member bootstraps again, keeping the IDs the WAL recorded.
    const empty = opened.entries.length === 0 && opened.hardState.commit === 0;
    const members = empty ? initialMembers(cfg) : [];
    return {
      memberId,
      clusterId,
      backend,
      logStore: opened.wal,
      storage,
      snapshotter,
      snapshot,
      bootstrapPeers: empty ? bootstrapPeersOf(members) : undefined,
      initialMembers: members,
    };
  }

  const joining = cfg.initialClusterState === 'existing';
  const { memberId, clusterId, members } = joining ? await joinExisting(cfg) : newMember(cfg);
  mkdirSync(join(cfg.dataDir, 'member'), { recursive: true, mode: 0o700 });
  const backend = openLmdbBackend(cfg.dataDir, backendOptions);
  const wal = await Wal.create(walDir, encodeMetadata(memberId, clusterId), walOptions);
  return {
    memberId,
    clusterId,
    backend,
    logStore: wal,
    storage,
    snapshotter,
    snapshot: undefined,
    // A joining member starts with an empty log; the leader sends it a snapshot and the log.
    bootstrapPeers: joining ? undefined : bootstrapPeersOf(members),
    initialMembers: members,
  };
}
