import { EventEmitter } from 'node:events';
import type { Client, RangeResult } from '@etcd-ts/client';
import { callSafely } from './call-safely.js';
import { pause } from './pause.js';
import type { DiscoveredInstance, PickStrategy } from './service-registry-types.js';
import { Subscribers } from './subscribers.js';

type KeyValue = RangeResult['kvs'][number];

const DELETE = 1; // mvccpb.Event.EventType.DELETE
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

export interface DiscoveryEvents {
  /** The list changed (or was first loaded): the full current list, sorted by ID. */
  change: [instances: DiscoveredInstance[]];
  /** An instance appeared, or its registration was rewritten (e.g. under a new lease). */
  up: [instance: DiscoveredInstance];
  /** An instance's registration went away. */
  down: [instance: DiscoveredInstance];
  /** The watch's revision was compacted: the list was read again at `revision`. */
  resync: [revision: number];
  /** Reading or watching failed, or a registration could not be decoded. Emitted only when someone listens. */
  error: [error: Error];
}

/** A registration's key-value as an instance; throws when the value is not a registration. */
export function decodeInstance(kv: KeyValue, keyPrefix: string): DiscoveredInstance {
  const key = kv.key.toString('utf8');
  try {
    const v = JSON.parse(kv.value.toString('utf8')) as { id?: unknown; address?: unknown; meta?: unknown } | null;
    if (v === null || typeof v !== 'object') throw new TypeError('not a JSON object');
    if (typeof v.address !== 'string') throw new TypeError('address is not a string');
    const id = typeof v.id === 'string' ? v.id : key.slice(keyPrefix.length);
    const meta = v.meta !== null && typeof v.meta === 'object' ? (v.meta as Record<string, unknown>) : undefined;
    return { id, address: v.address, ...(meta ? { meta } : {}), key, leaseId: kv.lease, modRevision: kv.modRevision };
  } catch (err) {
    throw new Error(`registration ${key} is not valid: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The live list of a service's instances: an initial Range of
 * `<prefix>/<service>/`, then a prefix watch from the Range's revision + 1
 * that keeps it fresh (a compaction of that revision makes it read the list
 * again and watch from there).
 *
 * `instances()` is the current list; 'change' fires with every new list;
 * `for await (const list of discovery)` yields the current list, then each
 * new one; `pick()` chooses an instance for a request.
 */
export class ServiceDiscovery extends EventEmitter<DiscoveryEvents> implements AsyncIterable<DiscoveredInstance[]>, AsyncDisposable {
  /** Resolves with the first list read (possibly empty); rejects if closed before. */
  readonly ready: Promise<DiscoveredInstance[]>;
  private readonly byKey = new Map<string, DiscoveredInstance>();
  private sorted: DiscoveredInstance[] = [];
  private next = 0;
  private revisionSeen = 0;
  private readonly controller = new AbortController();
  private readonly running: Promise<void>;
  private resolveReady!: (v: DiscoveredInstance[]) => void;
  private rejectReady!: (e: Error) => void;
  private readonly subscribers = new Subscribers<DiscoveredInstance[]>();
  private loaded = false;
  private resyncCount = 0;

  /** Made by ServiceRegistry.discover(). */
  constructor(
    private readonly client: Pick<Client, 'get' | 'watch'>,
    readonly service: string,
    /** `<prefix>/<service>/` */
    readonly keyPrefix: string,
  ) {
    super();
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.running = this.run();
  }

  /** The current instances, sorted by ID. */
  instances(): DiscoveredInstance[] {
    return [...this.sorted];
  }

  /** Store revision the list reflects. */
  get revision(): number {
    return this.revisionSeen;
  }

  /** How many times the list was read again after a compaction. */
  get resyncs(): number {
    return this.resyncCount;
  }

  /**
   * An instance for the next request: 'round-robin' (default) cycles through
   * the current list in ID order, 'random' picks uniformly. Undefined when
   * the service has no instance.
   */
  pick(strategy: PickStrategy = 'round-robin'): DiscoveredInstance | undefined {
    const list = this.sorted;
    if (list.length === 0) return undefined;
    if (strategy === 'random') return list[Math.floor(Math.random() * list.length)];
    const i = this.next % list.length;
    this.next = (i + 1) % list.length;
    return list[i];
  }

  /** Stops watching. Idempotent. */
  async close(): Promise<void> {
    if (!this.controller.signal.aborted) {
      this.controller.abort();
      this.rejectReady(new Error(`discovery of ${this.service} closed`));
      this.subscribers.end();
    }
    await this.running;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The current list (once loaded), then every new list, until close(). Leaving the loop does not close the discovery. */
  [Symbol.asyncIterator](): AsyncIterator<DiscoveredInstance[]> {
    return this.subscribers.iterator(this.loaded ? [this.instances()] : []);
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let backoff = BACKOFF_MIN_MS;
    while (!signal.aborted) {
      try {
        const r = await this.client.get(this.keyPrefix, { prefix: true, signal });
        if (signal.aborted) return;
        this.reload(r.kvs, r.revision);
        const watcher = this.client.watch(this.keyPrefix, { prefix: true, startRevision: r.revision + 1, signal });
        for await (const res of watcher) {
          backoff = BACKOFF_MIN_MS;
          if (res.events.length === 0) continue;
          let changed = false;
          for (const ev of res.events) {
            const kv = ev.kv;
            if (!kv) continue;
            const key = kv.key.toString('utf8');
            if (kv.modRevision > this.revisionSeen) this.revisionSeen = kv.modRevision;
            if (ev.type === DELETE) {
              const gone = this.byKey.get(key);
              if (gone) {
                this.byKey.delete(key);
                changed = true;
                this.safeEmit('down', gone);
              }
            } else {
              const inst = this.decode(kv);
              if (inst) {
                this.byKey.set(key, inst);
                changed = true;
                this.safeEmit('up', inst);
              }
            }
          }
          if (changed) this.publish();
        }
        return;
      } catch (err) {
        if (signal.aborted) return;
        if ((err as { code?: unknown }).code === 'COMPACTED') {
          this.resyncCount++;
          this.safeEmit('resync', this.revisionSeen);
          continue;
        }
        this.report(err);
        if ((err as { code?: unknown }).code === 'CLIENT_CLOSED') return void this.close();
        await pause(backoff, signal);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /** Replaces the list with a fresh read, reporting what came up and went down meanwhile. */
  private reload(kvs: KeyValue[], revision: number): void {
    const before = new Map(this.byKey);
    this.byKey.clear();
    for (const kv of kvs) {
      const inst = this.decode(kv);
      if (inst) this.byKey.set(inst.key, inst);
    }
    this.revisionSeen = revision;
    for (const [k, inst] of this.byKey) {
      const old = before.get(k);
      if (!old || old.modRevision !== inst.modRevision) this.safeEmit('up', inst);
    }
    for (const [k, old] of before) if (!this.byKey.has(k)) this.safeEmit('down', old);
    this.publish();
    if (!this.loaded) {
      this.loaded = true;
      this.resolveReady(this.instances());
    }
  }

  private decode(kv: KeyValue): DiscoveredInstance | undefined {
    try {
      return decodeInstance(kv, this.keyPrefix);
    } catch (err) {
      this.report(err);
      return undefined;
    }
  }

  private publish(): void {
    this.sorted = [...this.byKey.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const list = this.instances();
    this.subscribers.publish(() => [...list]);
    this.safeEmit('change', list);
  }

  private report(err: unknown): void {
    if (this.listenerCount('error') > 0) this.safeEmit('error', err instanceof Error ? err : new Error(String(err)));
  }

  private safeEmit<K extends keyof DiscoveryEvents>(name: K, ...args: DiscoveryEvents[K]): void {
    callSafely(() => (this.emit as (n: K, ...a: DiscoveryEvents[K]) => boolean)(name, ...args));
  }
}
