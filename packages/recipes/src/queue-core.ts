import { randomBytes } from 'node:crypto';
import { compare, op, type Bytes, type Client, type RangeResult, type Watcher, type WatchResponse } from '@etcd-ts/client';
import { Session } from './session.js';

export type KeyValue = RangeResult['kvs'][number];

const PUT = 0; // mvccpb.Event.EventType.PUT
const DELETE = 1; // mvccpb.Event.EventType.DELETE

export interface QueueOptions {
  /**
   * Session whose lease claims are attached to. Default: the queue creates
   * its own session (of `ttl`) on the first dequeue, replaces it if it is
   * lost, and closes it in close().
   */
  readonly session?: Session;
  /** TTL in seconds of the queue's own session. Default 10. */
  readonly ttl?: number;
  /** Items read per Range while looking for the head. Default 32. */
  readonly batch?: number;
}

export interface DequeueOptions {
  /** Gives up waiting: dequeue() then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * A claimed item. It stays in the queue, invisible to other consumers, for
 * as long as the claim's lease lives; ack() removes it for good. If the
 * consumer dies (or its session is lost) before ack(), the claim expires
 * with the lease and the item is delivered again (at-least-once).
 */
export interface QueueItem {
  /** The item's key. */
  readonly key: string;
  readonly value: Buffer;
  /** Create revision of the item: its place in FIFO order. */
  readonly createRevision: number;
  /** The claim's key (`<prefix>-claims/<item key below the prefix>`). */
  readonly claimKey: string;
  /** Revision of the claim. */
  readonly claimRevision: number;
  /** Lease the claim is attached to. */
  readonly leaseId: bigint;
  /** The value as UTF-8. */
  text(): string;
  /** The value parsed as JSON. */
  json<T = unknown>(): T;
  /**
   * Removes the item and the claim in one txn. False when the claim is no
   * longer ours (its lease expired): the item may already have been
   * delivered to someone else.
   */
  ack(opts?: DequeueOptions): Promise<boolean>;
  /** Gives the item back (deletes the claim): it is delivered again. False when the claim was already gone. */
  release(opts?: DequeueOptions): Promise<boolean>;
}

/** What a claiming queue needs from a client. */
export type QueueClient = Client;

/** The smallest key greater than every key starting with prefix. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = (b[i] as number) + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** The queue's own session lost its lease during a claim. */
class SessionGone extends Error {}

let counter = 0;
/**
 * A unique, time-ordered key suffix: milliseconds since the epoch (base 36,
 * fixed width), a per-process counter and random bytes. Order between
 * producers is not taken from it: FIFO order is the create revision.
 */
export function uniqueSuffix(): string {
  counter = (counter + 1) % 36 ** 4;
  return `${Date.now().toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(5).toString('hex')}`;
}

/**
 * Shared machinery of Queue and PriorityQueue: items under `<prefix>/`,
 * claims under `<prefix>-claims/`, the claim protocol, ack, and the
 * blocking wait for an item. Subclasses decide the order of the candidates.
 *
 * Invariants: an item is delivered to at most one consumer while its claim
 * exists; a claim exists only while its lease lives; an item disappears only
 * through ack() by the holder of its current claim.
 */
export abstract class ClaimingQueue {
  /** `<prefix>/`: the items. */
  readonly itemsPrefix: string;
  /** `<prefix>-claims/`: one claim per item being processed. */
  readonly claimsPrefix: string;
  protected readonly batch: number;
  private ownSession: Promise<Session> | undefined;
  private closed = false;

  constructor(
    protected readonly client: QueueClient,
    readonly prefix: string,
    private readonly options: QueueOptions = {},
  ) {
    if (prefix.length === 0) throw new RangeError('queue prefix must not be empty');
    this.itemsPrefix = `${prefix}/`;
    this.claimsPrefix = `${prefix}-claims/`;
    this.batch = Math.max(1, options.batch ?? 32);
  }

  /**
   * The unclaimed items in delivery order, as of `revision` (every read at
   * that revision). `claimed` holds the claimed items' keys below itemsPrefix.
   */
  protected abstract candidates(revision: number, claimed: ReadonlySet<string>, signal: AbortSignal | undefined): AsyncGenerator<KeyValue>;

  /**
   * The unclaimed items under `bucket` in create-revision order, read at
   * `revision`, one batch per Range.
   */
  protected async *inCreateOrder(
    bucket: string,
    revision: number,
    claimed: ReadonlySet<string>,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<KeyValue> {
    let minCreateRevision = 0;
    for (;;) {
      const r = await this.client.get(bucket, {
        prefix: true,
        revision,
        sort: { target: 'create', order: 'ascend' },
        limit: this.batch,
        minCreateRevision,
        signal,
      });
      for (const kv of r.kvs) {
        if (!claimed.has(kv.key.toString('utf8').slice(this.itemsPrefix.length))) yield kv;
      }
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || last === undefined) return;
      minCreateRevision = last.createRevision + 1;
    }
  }

  /** Creates `key` (which must not exist) with value; false if it exists. */
  protected async create(key: string, value: Bytes, signal: AbortSignal | undefined): Promise<number | undefined> {
    const res = await this.client
      .txn()
      .if(compare.createRevision(key, '=', 0))
      .then(op.put(key, value))
      .commit({ signal });
    return res.succeeded ? res.revision : undefined;
  }

  /** Number of items in the queue, claimed ones included. */
  async size(opts: DequeueOptions = {}): Promise<number> {
    return (await this.client.get(this.itemsPrefix, { prefix: true, countOnly: true, signal: opts.signal })).count;
  }

  /** Number of items claimed and not acknowledged yet. */
  async inFlight(opts: DequeueOptions = {}): Promise<number> {
    return (await this.client.get(this.claimsPrefix, { prefix: true, countOnly: true, signal: opts.signal })).count;
  }

  /**
   * Claims the head of the queue; waits (watching from the revision after
   * the last read) while there is nothing to claim. Rejects with the
   * signal's reason when `signal` fires, or with the session's loss reason
   * when a session given in the options is lost.
   */
  async dequeue(opts: DequeueOptions = {}): Promise<QueueItem> {
    const signal = opts.signal;
    try {
      // Waiting, the loop only returns with an item.
      return (await this.dequeueLoop(signal, true)) as QueueItem;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  }

  /** Claims the head of the queue, or resolves undefined at once when there is nothing to claim. */
  async tryDequeue(opts: DequeueOptions = {}): Promise<QueueItem | undefined> {
    const signal = opts.signal;
    try {
      return await this.dequeueLoop(signal, false);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  }

  /** Closes the queue's own session (if it made one): claims not acknowledged vanish and their items are delivered again. */
  async close(): Promise<void> {
    this.closed = true;
    const own = this.ownSession;
    this.ownSession = undefined;
    if (own) await (await own.catch(() => undefined))?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async dequeueLoop(signal: AbortSignal | undefined, wait: boolean): Promise<QueueItem | undefined> {
    let watcher: Watcher | undefined;
    let events: AsyncIterator<WatchResponse> | undefined;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const session = await this.session();
        let scan: { item?: QueueItem; revision: number };
        try {
          scan = await this.scanAndClaim(session, signal);
        } catch (err) {
          if (err instanceof SessionGone) continue;
          throw err;
        }
        const { item, revision } = scan;
        if (item) return item;
        if (!wait) return undefined;
        if (!watcher || !events) {
          watcher = this.client.watch(this.prefix, { prefix: true, startRevision: revision + 1, signal });
          events = watcher[Symbol.asyncIterator]();
        }
        try {
          await this.nextRelevant(events);
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'COMPACTED') throw err;
          // Compacted past the watch's revision: scan again and watch from there.
          await watcher.close();
          watcher = undefined;
          events = undefined;
        }
      }
    } finally {
      await watcher?.close();
    }
  }

  /** Waits for a change that may make an item claimable: a new item, or a claim that went away. */
  private async nextRelevant(events: AsyncIterator<WatchResponse>): Promise<void> {
    for (;;) {
      const n = await events.next();
      if (n.done) throw new Error(`queue ${this.prefix}: watch ended`);
      for (const ev of n.value.events) {
        const key = ev.kv?.key.toString('utf8') ?? '';
        if (ev.type === PUT && key.startsWith(this.itemsPrefix)) return;
        if (ev.type === DELETE && key.startsWith(this.claimsPrefix)) return;
      }
    }
  }

  /** One pass: read claims and candidates at one revision, claim the first candidate that can be claimed. */
  private async scanAndClaim(session: Session, signal: AbortSignal | undefined): Promise<{ item?: QueueItem; revision: number }> {
    const claims = await this.client.get(this.claimsPrefix, { prefix: true, keysOnly: true, signal });
    const revision = claims.revision;
    const claimed = new Set(claims.kvs.map((kv) => kv.key.toString('utf8').slice(this.claimsPrefix.length)));
    try {
      for await (const kv of this.candidates(revision, claimed, signal)) {
        const item = await this.claim(session, kv, signal);
        if (item) return { item, revision };
      }
    } catch (err) {
      // The scan's revision was compacted meanwhile: scan again.
      if ((err as { code?: unknown }).code === 'COMPACTED') return this.scanAndClaim(session, signal);
      throw err;
    }
    return { revision };
  }

  /** Claims kv under the session's lease, if it still exists (same generation) and nobody claimed it. */
  private async claim(session: Session, kv: KeyValue, signal: AbortSignal | undefined): Promise<QueueItem | undefined> {
    const key = kv.key.toString('utf8');
    const claimKey = this.claimsPrefix + key.slice(this.itemsPrefix.length);
    const leaseId = session.leaseId;
    let res;
    try {
      res = await this.client
        .txn()
        .if(compare.createRevision(key, '=', kv.createRevision), compare.createRevision(claimKey, '=', 0))
        .then(op.put(claimKey, leaseId.toString(16), { lease: leaseId }))
        .commit({ signal });
    } catch (err) {
      if ((err as { code?: unknown }).code === 'LEASE_NOT_FOUND') {
        if (this.options.session) throw session.signal.aborted ? session.signal.reason : err;
        // The queue's own session lost its lease: replace it on the next pass.
        if (this.ownSession && (await this.ownSession.catch(() => undefined)) === session) this.ownSession = undefined;
        session.orphan();
        throw new SessionGone();
      }
      throw err;
    }
    if (!res.succeeded) return undefined;
    return this.item(kv, key, claimKey, res.revision, leaseId);
  }

  private item(kv: KeyValue, key: string, claimKey: string, claimRevision: number, leaseId: bigint): QueueItem {
    const client = this.client;
    const value = kv.value;
    return {
      key,
      value,
      createRevision: kv.createRevision,
      claimKey,
      claimRevision,
      leaseId,
      text: () => value.toString('utf8'),
      json: <T>() => JSON.parse(value.toString('utf8')) as T,
      ack: async (o?: DequeueOptions) => {
        const r = await client
          .txn()
          .if(compare.createRevision(claimKey, '=', claimRevision))
          .then(op.delete(key), op.delete(claimKey))
          .commit({ signal: o?.signal });
        return r.succeeded;
      },
      release: async (o?: DequeueOptions) => {
        const r = await client
          .txn()
          .if(compare.createRevision(claimKey, '=', claimRevision))
          .then(op.delete(claimKey))
          .commit({ signal: o?.signal });
        return r.succeeded;
      },
    };
  }

  /** The session claims are made under: the given one, or the queue's own (created or replaced as needed). */
  private async session(): Promise<Session> {
    const given = this.options.session;
    if (given) {
      given.throwIfLost();
      return given;
    }
    if (this.closed) throw new Error(`queue ${this.prefix} is closed`);
    if (this.ownSession) {
      const s = await this.ownSession.catch(() => undefined);
      if (s && !s.signal.aborted) return s;
      this.ownSession = undefined;
    }
    // Not bound to any caller's signal: the session outlives the dequeue that created it.
    const creating = Session.create(this.client, { ttl: this.options.ttl ?? 10 });
    this.ownSession = creating;
    creating.catch(() => {
      if (this.ownSession === creating) this.ownSession = undefined;
    });
    return creating;
  }
}
