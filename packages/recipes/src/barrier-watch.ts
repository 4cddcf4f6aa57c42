import type { Client, mvccpb } from '@etcd-ts/client';

/** mvccpb.Event.EventType values (the client exports mvccpb's types only). */
export const PUT = 0;
export const DELETE = 1;

/**
 * Resolves with the first event on `key` (or under it, with `prefix`) at a
 * revision >= `fromRevision` for which `match` is true. History from
 * `fromRevision` is replayed, so an event between the caller's read and the
 * start of the watch is not missed. Rejects with the signal's reason when it
 * aborts, and with the watcher's error otherwise (WatchCompactedError when
 * `fromRevision` is compacted: read again and wait from the new revision).
 */
export async function waitForEvent(
  client: Pick<Client, 'watch'>,
  key: string,
  fromRevision: number,
  match: (ev: mvccpb.Event) => boolean,
  signal: AbortSignal | undefined,
  prefix = false,
): Promise<mvccpb.Event> {
  signal?.throwIfAborted();
  const watcher = client.watch(key, { startRevision: fromRevision, prefix, signal });
  try {
    for await (const res of watcher) {
      for (const ev of res.events) if (match(ev)) return ev;
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    await watcher.close();
  }
  if (signal?.aborted) throw signal.reason;
  throw new Error(`watch on ${key} ended before the awaited event`);
}

/** Whether err is a compaction of the revision a watch or read asked for. */
export const isCompacted = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'COMPACTED';

/** A signal aborted when any of the given ones is (undefined entries ignored). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (list.length <= 1) return list[0];
  return AbortSignal.any(list);
}
