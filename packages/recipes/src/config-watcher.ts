import { EventEmitter } from 'node:events';
import type { Client } from '@etcd-ts/client';
import {
  ConfigClosedError,
  ConfigInvalidError,
  type ConfigDecode,
  type ConfigInput,
  type ConfigSource,
  type ConfigWatcherOptions,
} from './config-watcher-options.js';
import { callSafely } from './call-safely.js';
import { pause } from './pause.js';
import { Subscribers } from './subscribers.js';

/** What a ConfigWatcher needs from a client (a Client or a Namespace). */
export type ConfigClient = Pick<Client, 'get' | 'watch'>;

export interface ConfigWatcherEvents<T> {
  /** A new valid value was applied. */
  change: [value: T, previous: T | undefined, revision: number];
  /** New input was rejected; the previous value stays current. */
  invalid: [error: ConfigInvalidError];
  /** Reading or watching failed (the watcher keeps trying). Emitted only when someone listens. */
  error: [error: Error];
  /** The watch's revision was compacted: the state was read again at `revision`. */
  resync: [revision: number];
}

const DELETE = 1; // mvccpb.Event.EventType.DELETE
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function decoder(d: ConfigDecode | undefined): (value: Buffer, key: string) => unknown {
  if (typeof d === 'function') return d;
  switch (d ?? 'json') {
    case 'json':
      return (v) => JSON.parse(utf8.decode(v)) as unknown;
    case 'text':
      return (v) => utf8.decode(v);
    default:
      return (v) => v;
  }
}

/**
 * A typed, validated view of configuration kept in etcd: one key
 * (`{ key }`) or every key under a prefix (`{ prefix }`).
 *
 * It reads the current state, then watches from the revision after that
 * read. Input is decoded (JSON by default) and passed to the user's `parse`
 * (e.g. a zod schema's `parse`); a value that fails is reported (onError,
 * 'invalid') and the last valid value stays current. Changes are debounced:
 * with `debounceMs`, a burst of writes yields one update carrying the last
 * state. If the watch's revision is compacted away, the state is read again
 * and the watch restarts from the revision after that read ('resync'), so no
 * change is missed for good.
 *
 * ```ts
 * const cfg = new ConfigWatcher(client, { key: 'app/config' }, { parse: Schema.parse, debounceMs: 200 });
 * const first = await cfg.ready;
 * for await (const value of cfg) apply(value);
 * ```
 */
export class ConfigWatcher<T, S extends ConfigSource = ConfigSource>
  extends EventEmitter<ConfigWatcherEvents<T>>
  implements AsyncIterable<T>, AsyncDisposable
{
  /** Resolves with the first valid value; rejects with ConfigClosedError if closed before there is one. */
  readonly ready: Promise<T>;

  private readonly key: string;
  private readonly isPrefix: boolean;
  private readonly decode: (value: Buffer, key: string) => unknown;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number | undefined;
  private readonly controller = new AbortController();
  /** Keys → raw values, as of `rawRevision`. */
  private raw = new Map<string, Buffer>();
  private rawRevision = 0;
  /** Fingerprint of the last input evaluated (valid or not), to skip repeats. */
  private lastFingerprint: string | undefined;
  /** Fingerprint of the input the current value was parsed from. */
  private valueFingerprint: string | undefined;
  private value: T | undefined;
  private valueRevision = 0;
  private hasValue = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest change not applied yet arrived (for maxWaitMs). */
  private pendingSince: number | undefined;
  private readonly subscribers = new Subscribers<T>();
  private resolveReady!: (v: T) => void;
  private rejectReady!: (e: Error) => void;
  private readonly running: Promise<void>;
  private closedFlag = false;
  private resyncCount = 0;
  private readonly userSignal: AbortSignal | undefined;
  private readonly onUserAbort = (): void => void this.close();

  constructor(
    private readonly client: ConfigClient,
    source: S,
    private readonly options: ConfigWatcherOptions<T, S>,
  ) {
    super();
    if ('prefix' in source) {
      this.key = source.prefix;
      this.isPrefix = true;
    } else {
      this.key = source.key;
      this.isPrefix = false;
    }
    this.decode = decoder(options.decode);
    this.debounceMs = Math.max(0, options.debounceMs ?? 0);
    this.maxWaitMs = options.maxWaitMs;
    this.ready = new Promise<T>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.userSignal = options.signal;
    if (this.userSignal?.aborted) {
      this.running = Promise.resolve();
      void this.close();
      return;
    }
    this.userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
    this.running = this.run();
  }

  /** The current valid value (undefined until there is one). */
  current(): T | undefined {
    return this.value;
  }

  /** Store revision of the input the current value was parsed from (0 before there is one). */
  get revision(): number {
    return this.valueRevision;
  }

  /** How many times the state was read again after a compaction. */
  get resyncs(): number {
    return this.resyncCount;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Stops watching. Pending (debounced) changes are dropped. Idempotent. */
  async close(): Promise<void> {
    if (!this.closedFlag) {
      this.closedFlag = true;
      this.userSignal?.removeEventListener('abort', this.onUserAbort);
      clearTimeout(this.timer);
      this.timer = undefined;
      this.controller.abort(new ConfigClosedError());
      this.rejectReady(new ConfigClosedError());
      this.subscribers.end();
    }
    await this.running;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The current value (if any), then every new valid value, until close(). Leaving the loop early does not close the watcher. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.subscribers.iterator(this.hasValue ? [this.value as T] : []);
  }

  /** Read, then watch from the read's revision + 1; read again after a compaction; back off on failures. */
  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let backoff = BACKOFF_MIN_MS;
    let first = true;
    while (!this.closedFlag) {
      try {
        const r = await this.client.get(this.key, { prefix: this.isPrefix, signal });
        if (this.closedFlag) return;
        this.raw = new Map(r.kvs.map((kv) => [kv.key.toString('utf8'), kv.value]));
        this.rawRevision = r.revision;
        if (first) this.applyNow();
        else this.changed();
        first = false;
        const watcher = this.client.watch(this.key, { prefix: this.isPrefix, startRevision: r.revision + 1, signal });
        for await (const res of watcher) {
          backoff = BACKOFF_MIN_MS;
          if (res.events.length === 0) continue;
          for (const ev of res.events) {
            const kv = ev.kv;
            if (!kv) continue;
            const k = kv.key.toString('utf8');
            if (ev.type === DELETE) this.raw.delete(k);
            else this.raw.set(k, kv.value);
            if (kv.modRevision > this.rawRevision) this.rawRevision = kv.modRevision;
          }
          this.changed();
        }
        // The watch ended without an error: closed.
        return;
      } catch (err) {
        if (this.closedFlag) return;
        if ((err as { code?: unknown }).code === 'COMPACTED') {
          this.resyncCount++;
          this.safeEmit('resync', this.rawRevision);
          continue;
        }
        this.reportError(err instanceof Error ? err : new Error(String(err)));
        if ((err as { code?: unknown }).code === 'CLIENT_CLOSED') return void this.close();
        await pause(backoff, signal);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /** The raw state changed: apply it after the quiet period. */
  private changed(): void {
    if (this.debounceMs === 0) return this.applyNow();
    const now = Date.now();
    this.pendingSince ??= now;
    let wait = this.debounceMs;
    if (this.maxWaitMs !== undefined) wait = Math.min(wait, Math.max(0, this.pendingSince + this.maxWaitMs - now));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.applyNow();
    }, wait);
  }

  private fingerprint(): string {
    if (!this.isPrefix) return this.raw.get(this.key)?.toString('base64') ?? '-';
    return [...this.raw.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v.toString('base64')}`)
      .join('\n');
  }

  /** Decodes and parses the raw state; applies it if valid, reports it if not. */
  private applyNow(): void {
    this.pendingSince = undefined;
    if (this.closedFlag) return;
    const fp = this.fingerprint();
    if (fp === this.lastFingerprint) return;
    this.lastFingerprint = fp;
    const revision = this.rawRevision;
    let input: unknown;
    try {
      if (this.isPrefix) {
        const obj: Record<string, unknown> = {};
        for (const [k, v] of this.raw) obj[k.slice(this.key.length)] = this.decode(v, k);
        input = obj;
      } else {
        const v = this.raw.get(this.key);
        input = v === undefined ? undefined : this.decode(v, this.key);
      }
    } catch (err) {
      const rawInput = Object.fromEntries([...this.raw].map(([k, v]) => [k, utf8.decode(v)]));
      return this.reportInvalid(new ConfigInvalidError(revision, rawInput, err));
    }
    let value: T;
    try {
      value = this.options.parse(input as ConfigInput<S>);
    } catch (err) {
      return this.reportInvalid(new ConfigInvalidError(revision, input, err));
    }
    // Back to the input of the current value (after invalid input in between): nothing changed.
    if (fp === this.valueFingerprint) return;
    this.valueFingerprint = fp;
    const previous = this.value;
    this.value = value;
    this.valueRevision = revision;
    this.hasValue = true;
    this.resolveReady(value);
    this.subscribers.publish(() => value);
    callSafely(() => this.options.onChange?.(value, previous));
    this.safeEmit('change', value, previous, revision);
  }

  private reportInvalid(err: ConfigInvalidError): void {
    this.callOnError(err);
    this.safeEmit('invalid', err);
  }

  private reportError(err: Error): void {
    this.callOnError(err);
    if (this.listenerCount('error') > 0) this.safeEmit('error', err);
  }

  private callOnError(err: Error): void {
    callSafely(() => this.options.onError?.(err));
  }

  private safeEmit<K extends keyof ConfigWatcherEvents<T>>(name: K, ...args: ConfigWatcherEvents<T>[K]): void {
    callSafely(() => (this.emit as (n: K, ...a: ConfigWatcherEvents<T>[K]) => boolean)(name, ...args));
  }
}
