/** What a ConfigWatcher follows: one key, or every key under a prefix. */
export type ConfigSource = { readonly key: string } | { readonly prefix: string };

/**
 * What the parser receives: for `{ key }` the decoded value, or undefined
 * when the key does not exist; for `{ prefix }` an object mapping each key
 * (without the prefix) to its decoded value.
 */
export type ConfigInput<S extends ConfigSource> = S extends { readonly prefix: string }
  ? Record<string, unknown>
  : unknown;

/**
 * How raw value bytes are decoded before parsing: 'json' (default; bytes that
 * are not JSON make the input invalid), 'text' (UTF-8), 'buffer', or a function.
 */
export type ConfigDecode = 'json' | 'text' | 'buffer' | ((value: Buffer, key: string) => unknown);

export interface ConfigWatcherOptions<T, S extends ConfigSource = ConfigSource> {
  /**
   * Validates the decoded input and returns the typed value; throwing means
   * the input is invalid (e.g. `schema.parse` of a zod schema). The last valid
   * value stays current and the error is reported.
   */
  readonly parse: (input: ConfigInput<S>) => T;
  /** See ConfigDecode. Default 'json'. */
  readonly decode?: ConfigDecode;
  /**
   * Quiet period in ms: a change is applied only once no other change came
   * for this long, so that a burst of writes yields one update with the last
   * value. Default 0 (every watch response is applied at once).
   */
  readonly debounceMs?: number;
  /**
   * Longest a burst may postpone an update, in ms (measured from the first
   * change not applied yet). Default: unbounded (only the quiet period counts).
   */
  readonly maxWaitMs?: number;
  /** Called with each new valid value (and the previous one). */
  readonly onChange?: (value: T, previous: T | undefined) => void;
  /** Called with every error: ConfigInvalidError for invalid input, others for read/watch failures. */
  readonly onError?: (err: Error) => void;
  /** Closes the watcher. */
  readonly signal?: AbortSignal;
}

/** The input was rejected by decode or parse; the previous valid value stays current. */
export class ConfigInvalidError extends Error {
  override readonly name = 'ConfigInvalidError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    /** Store revision of the rejected input. */
    readonly revision: number,
    /** The decoded input (or the raw values when decoding failed). */
    readonly input: unknown,
    cause: unknown,
  ) {
    super(`config at revision ${revision} is invalid: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The watcher was closed before it had a valid value. */
export class ConfigClosedError extends Error {
  override readonly name = 'ConfigClosedError';
  readonly code = 'CONFIG_CLOSED';
  constructor() {
    super('config watcher closed');
  }
}
