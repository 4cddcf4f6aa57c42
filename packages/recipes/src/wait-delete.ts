import type { Client, mvccpb } from '@etcd-ts/client';

/** mvccpb.Event_EventType.DELETE (the client exports mvccpb's types only). */
const DELETE = 1;

/**
 * Resolves with the revision of the first deletion of `key` at a revision >=
 * `fromRevision`. The watch replays history from there, so a deletion made
 * after the caller's read at `fromRevision` (and before the watch starts) is
 * not missed. Rejects with the signal's reason when it aborts, or with the
 * watcher's error.
 */
export async function waitDelete(client: Client, key: string | Buffer, fromRevision: number, signal?: AbortSignal): Promise<number> {
  const deletion = (ev: mvccpb.Event): number | undefined => (ev.type === DELETE ? (ev.kv?.modRevision ?? fromRevision) : undefined);
  return waitKeyEvent(client, key, fromRevision, deletion, signal);
}

/**
 * Resolves with the revision at which the generation of `key` created at
 * `createRevision` ended: the key was deleted, or replaced by a new
 * generation (another create revision). Events are read from `fromRevision`.
 */
export async function waitGenerationEnd(
  client: Client,
  key: string | Buffer,
  createRevision: number,
  fromRevision: number,
  signal?: AbortSignal,
): Promise<number> {
  return waitKeyEvent(
    client,
    key,
    fromRevision,
    (ev) => {
      const rev = ev.kv?.modRevision ?? fromRevision;
      if (ev.type === DELETE) return rev;
      return ev.kv && ev.kv.createRevision !== createRevision ? rev : undefined;
    },
    signal,
  );
}

async function waitKeyEvent(
  client: Client,
  key: string | Buffer,
  fromRevision: number,
  match: (ev: mvccpb.Event) => number | undefined,
  signal: AbortSignal | undefined,
): Promise<number> {
  signal?.throwIfAborted();
  const watcher = client.watch(key, signal ? { startRevision: fromRevision, signal } : { startRevision: fromRevision });
  const release = holdEventLoop();
  try {
    for await (const batch of watcher) {
      for (const ev of batch.events) {
        const rev = match(ev);
        if (rev !== undefined) return rev;
      }
    }
  } catch (err) {
    // The watcher ends with its own error on abort: report the caller's reason instead.
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    release();
    await watcher.close();
  }
  if (signal?.aborted) throw signal.reason;
  throw new Error(`watch on ${String(key)} ended before the awaited event`);
}

export interface LastBefore {
  /** The key with the largest create revision <= maxCreateRevision, if any. */
  readonly kv: mvccpb.KeyValue | undefined;
  /** Revision of the read. */
  readonly revision: number;
}

/** The key under `prefix` with the largest create revision <= maxCreateRevision. */
export async function lastCreatedBefore(client: Client, prefix: string, maxCreateRevision: number, signal?: AbortSignal): Promise<LastBefore> {
  const q = client.get(prefix, signal ? { signal } : undefined).prefix().sort('create', 'descend').maxCreateRevision(maxCreateRevision).limit(1);
  const res = await q;
  return { kv: res.kvs[0], revision: res.revision };
}

/**
 * Waits until no key under `prefix` has a create revision <= maxCreateRevision
 * (etcd's concurrency waitDeletes): each round waits only for the deletion of
 * the newest such key, so every waiter watches one predecessor and a release
 * wakes one waiter, not all of them. Resolves with the revision of the read
 * that found none.
 */
export async function waitDeletes(client: Client, prefix: string, maxCreateRevision: number, signal?: AbortSignal): Promise<number> {
  for (;;) {
    const { kv, revision } = await lastCreatedBefore(client, prefix, maxCreateRevision, signal);
    if (!kv) return revision;
    // Watch from the read's revision: a deletion after the read is always seen.
    await waitDelete(client, kv.key, revision, signal);
  }
}

/**
 * Keeps the process alive until the returned function is called: a caller
 * awaiting a lock, a campaign or an observer is waiting for something, even
 * when the client's streams do not hold the event loop open by themselves.
 */
export function holdEventLoop(): () => void {
  const timer = setInterval(() => {}, 1 << 30);
  return () => clearInterval(timer);
}
