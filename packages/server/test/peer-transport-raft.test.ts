/**
 * Three RawNodes, each with a MemoryStorage, a PeerTransport and a peer
 * server on loopback, driven by a minimal Ready loop (persist → send → apply
 * → advance) and a 20 ms ticker.
 */
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPeerService } from '../src/cluster/peer-service.js';
import { PeerTransport } from '../src/cluster/peer-transport.js';
import { startPeerServer } from '../src/cluster/start-peer-server.js';
import type { PeerServerHandle } from '../src/cluster/start-peer-server.js';
import type { Transport } from '../src/raft-node/raft-node.js';
import { ErrProposalDropped, ErrStepLocalMsg, ErrStepPeerNotFound } from '../src/raft/errors.js';
import { MemoryStorage } from '../src/raft/memory-storage.js';
import { RawNode, SnapshotStatus } from '../src/raft/raw-node.js';
import { seededRandom } from '../src/raft/seeded-random.js';
import { EntryType, StateType } from '../src/raft/types.js';
import type { Message } from '../src/raft/types.js';
import { CLUSTER, waitFor } from './peer-transport-harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const VOTERS = [1n, 2n, 3n];
const TICK_MS = 20;

/** The replicated state machine: applied payloads, plus the index they cover (etcd's consistent index). */
interface Db {
  index: number;
  values: string[];
}

class Member {
  readonly storage = new MemoryStorage();
  readonly rn: RawNode;
  db: Db = { index: 0, values: [] };
  /** A database received through SendSnapshot, installed when raft hands over the snapshot. */
  private pendingDb: Db | undefined;
  transport!: PeerTransport;
  server!: PeerServerHandle;
  port = 0;
  private ticker: NodeJS.Timeout | undefined;
  private scheduled = false;
  stopped = false;
  snapshotsReceived = 0;
  snapshotsSent: Array<SnapshotStatus> = [];

  constructor(readonly id: bigint) {
    this.rn = new RawNode({
      id,
      peers: VOTERS,
      electionTick: 10,
      heartbeatTick: 1,
      storage: this.storage,
      maxSizePerMsg: 64 * 1024,
      maxInflightMsgs: 64,
      checkQuorum: true,
      preVote: true,
      random: seededRandom(Number(id) * 7919),
    });
  }

  async startNetwork(): Promise<void> {
    const service = createPeerService({
      memberId: this.id,
      clusterId: CLUSTER,
      onMessage: (m) => this.step(m),
      receiveSnapshot: async (_m, chunks) => {
        const parts: Buffer[] = [];
        for await (const c of chunks) parts.push(Buffer.from(c));
        this.pendingDb = JSON.parse(Buffer.concat(parts).toString('utf8')) as Db;
        this.snapshotsReceived++;
      },
    });
    this.server = await startPeerServer({ host: '127.0.0.1', port: this.port, service });
    this.port = this.server.port;
    this.transport = new PeerTransport({
      memberId: this.id,
      clusterId: CLUSTER,
      peerUrls: [this.server.url],
      backoffMinMs: 20,
      backoffMaxMs: 200,
      reportUnreachable: (id) => {
        this.rn.reportUnreachable(id);
        this.kick();
      },
      reportSnapshot: (id, s) => {
        this.snapshotsSent.push(s);
        this.rn.reportSnapshot(id, s);
        this.kick();
      },
      snapshotData: () => Readable.from([Buffer.from(JSON.stringify(this.db))]),
    });
  }

  connect(members: readonly Member[]): void {
    for (const p of members) if (p.id !== this.id) this.transport.addPeer(p.id, [`http://127.0.0.1:${p.port}`]);
  }

  start(): void {
    this.stopped = false;
    this.ticker = setInterval(() => {
      this.rn.tick();
      this.kick();
    }, TICK_MS);
  }

  /** Crash: the ticker, the loop and both directions of the network stop; raft state is kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    await Promise.all([this.transport.stop(), this.server.close()]);
  }

  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.rn.step(m);
    } catch (err) {
      if (!(err instanceof ErrStepLocalMsg || err instanceof ErrStepPeerNotFound || err instanceof ErrProposalDropped)) throw err;
    }
    this.kick();
  }

  propose(s: string): boolean {
    try {
      this.rn.propose(enc(s));
      this.kick();
      return true;
    } catch (err) {
      if (err instanceof ErrProposalDropped) return false;
      throw err;
    }
  }

  isLeader(): boolean {
    return this.rn.status().raftState === StateType.Leader;
  }

  lead(): bigint {
    return this.rn.status().lead;
  }

  /** Snapshot at the applied index and drop the log before it (the leader then needs MsgSnap for laggards). */
  compact(): void {
    const index = this.db.index;
    this.storage.createSnapshot(index, { voters: VOTERS, learners: [] }, enc('raft-snapshot'));
    this.storage.compact(index);
  }

  private kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.loop();
    });
  }

  private loop(): void {
    const transport: Transport = this.transport;
    while (!this.stopped && this.rn.hasReady()) {
      const rd = this.rn.ready();
      if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
      transport.send(rd.messages);
      if (rd.snapshot !== undefined) {
        assert.ok(this.pendingDb !== undefined, 'the database arrives before raft hands over the snapshot');
        assert.ok(this.pendingDb.index >= rd.snapshot.metadata.index);
        this.db = this.pendingDb;
        this.pendingDb = undefined;
      }
      for (const e of rd.committedEntries) {
        if (e.index <= this.db.index) continue;
        if (e.type === EntryType.Normal && e.data.length > 0) this.db.values.push(dec(e.data));
        this.db.index = e.index;
      }
      this.rn.advance(rd);
    }
  }
}

async function startCluster(): Promise<Member[]> {
  const members = VOTERS.map((id) => new Member(id));
  for (const m of members) await m.startNetwork();
  for (const m of members) m.connect(members);
  for (const m of members) m.start();
  return members;
}

async function stopAll(members: readonly Member[]): Promise<void> {
  await Promise.all(members.filter((m) => !m.stopped).map((m) => m.stop()));
}

async function electedLeader(members: readonly Member[], what: string): Promise<Member> {
  let leader: Member | undefined;
  await waitFor(
    () => {
      leader = members.find((m) => m.isLeader());
      return leader !== undefined && members.every((m) => m.lead() === leader!.id);
    },
    what,
    20_000,
  );
  return leader!;
}

/**
 * Proposes the values on the current leader until every member applied all of
 * them; a leader change may drop proposals, so missing values are proposed
 * again after a quiet window.
 */
async function replicate(members: readonly Member[], values: readonly string[], what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const done = (): boolean => members.every((m) => values.every((v) => m.db.values.includes(v)));
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out replicating ${what}`);
    const leader = await electedLeader(members, `a leader for ${what}`);
    for (const v of values) if (!leader.db.values.includes(v)) leader.propose(v);
    await waitFor(done, what, 5_000).catch(() => undefined);
  }
}

test('three RawNodes elect a leader, replicate, and survive losing the leader', async () => {
  const members = await startCluster();
  try {
    const first = await electedLeader(members, 'a first leader');
    const batch1 = Array.from({ length: 50 }, (_, i) => `a${i}`);
    for (const v of batch1) assert.ok(first.propose(v));
    await waitFor(() => members.every((m) => m.db.values.length === 50), 'the first 50 values on all three', 20_000);
    for (const m of members) assert.equal(m.db.values, batch1, `member ${m.id} applied in proposal order`);
    for (const m of members) for (const p of members) if (p !== m) assert.ok(m.transport.isActive(p.id));

    await first.stop();
    const rest = members.filter((m) => m !== first);
    const second = await electedLeader(rest, 'a new leader among the other two');
    assert.is.not(second.id, first.id);
    assert.ok(second.rn.status().term > first.rn.status().term);

    const batch2 = Array.from({ length: 20 }, (_, i) => `b${i}`);
    await replicate(rest, batch2, 'the next 20 values on the two survivors');
    for (const m of rest) {
      assert.equal(m.db.values.slice(0, 50), batch1);
      assert.equal(new Set(m.db.values.slice(50)), new Set(batch2));
    }
    assert.equal(rest[0]!.db.values, rest[1]!.db.values, 'the survivors applied the same sequence');
  } finally {
    await stopAll(members);
  }
});

test('a member behind the compacted log catches up through SendSnapshot', async () => {
  const members = await startCluster();
  try {
    const leader = await electedLeader(members, 'a leader');
    const lagger = members.find((m) => m !== leader)!;
    const batch1 = Array.from({ length: 10 }, (_, i) => `x${i}`);
    for (const v of batch1) assert.ok(leader.propose(v));
    await waitFor(() => members.every((m) => m.db.values.length === 10), 'the first values everywhere', 20_000);

    await lagger.stop();
    const rest = members.filter((m) => m !== lagger);
    const batch2 = Array.from({ length: 40 }, (_, i) => `y${i}`);
    await replicate(rest, batch2, 'values while the lagger is down');
    for (const m of rest) m.compact();
    assert.ok(leader.storage.firstIndex() > lagger.storage.lastIndex() + 1, 'the lagger is behind the compacted log');

    await lagger.startNetwork();
    lagger.connect(members);
    lagger.start();
    await waitFor(() => lagger.db.values.length === 50, 'the lagger to catch up', 30_000);
    assert.ok(lagger.snapshotsReceived >= 1, 'through a snapshot');
    await waitFor(() => members.some((m) => m.snapshotsSent.includes(SnapshotStatus.Finish)), 'the sender to learn the outcome');
    assert.equal(lagger.db.values, members.find((m) => m !== lagger)!.db.values);

    const batch3 = ['z0', 'z1', 'z2'];
    await replicate(members, batch3, 'values after the catch-up');
  } finally {
    await stopAll(members);
  }
});

test.run();

