/**
 * Maintenance.Snapshot as etcd 3.4 sends it: a consistent copy of the backend
 * database in messages of 32 KiB, each saying how many bytes are still to come
 * (remaining_bytes), then one message whose blob is the SHA-256 of all the
 * bytes sent before it, with remaining_bytes 0. The copy is the member's LMDB
 * file where etcd sends its bolt file: `etcdctl snapshot save` stores it, and
 * it restores into etcd-ts, not into etcd.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import { LmdbBackend } from '../backend/lmdb-backend.js';
import type { EtcdServer } from '../etcd/etcd-server.js';
import { openBackendCopy } from '../etcd/snapshot-db.js';
import { failStream } from './to-grpc-error.js';

/** etcd's snapshotSendBufferSize. */
const CHUNK_BYTES = 32 * 1024;

export type SnapshotCall = ServerWritableStream<etcdserverpb.SnapshotRequest, etcdserverpb.SnapshotResponseInit>;

export class SnapshotUnavailableError extends Error {
  constructor() {
    super('etcd-ts: no snapshot in the memory storage mode');
    this.name = 'SnapshotUnavailableError';
  }
}

/** Streams the snapshot; a cancelled call stops it, a failure ends the call with its status. */
export async function sendSnapshot(s: EtcdServer, call: SnapshotCall): Promise<void> {
  try {
    if (!(s.backend instanceof LmdbBackend)) throw new SnapshotUnavailableError();
    const copy = await openBackendCopy(s.backend);
    try {
      const sha = createHash('sha256');
      let sent = 0;
      for await (const blob of copy.chunks(CHUNK_BYTES)) {
        if (call.cancelled) return;
        sha.update(blob);
        sent += blob.length;
        if (!call.write({ remainingBytes: copy.bytes - sent, blob })) await drainedOrCancelled(call);
      }
      if (call.cancelled) return;
      call.write({ remainingBytes: 0, blob: sha.digest() });
      call.end();
    } finally {
      await copy.dispose();
    }
  } catch (err) {
    if (!call.cancelled) failStream(call, err);
  }
}

async function drainedOrCancelled(call: SnapshotCall): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([once(call, 'drain', { signal: ac.signal }), once(call, 'cancelled', { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}
