/**
 * A change of the store as watchers see it: etcd's mvccpb.Event without
 * prev_kv (that is looked up per watcher when a response is sent).
 */
import { mvccpb, PreEncoded } from '@etcd-ts/api';
import type { KeyValue } from '../mvcc/key-value-codec.js';
import type { MvccEvent } from '../mvcc/kv-store.js';

export const EVENT_PUT = mvccpb.Event_EventType.PUT;
export const EVENT_DELETE = mvccpb.Event_EventType.DELETE;
export type EventType = mvccpb.Event_EventType;

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export class WatchEvent {
  readonly type: EventType;
  /** For a delete: the key and modRevision (the deleting revision), other fields zero. */
  readonly kv: KeyValue;
  /** kv.key as a latin1 string, the form the watcher groups index keys by. */
  readonly key: string;
  #wire: PreEncoded | undefined;

  constructor(type: EventType, kv: KeyValue, key: string = latin1(kv.key)) {
    this.type = type;
    this.kv = kv;
    this.key = key;
  }

  get modRevision(): number {
    return this.kv.modRevision;
  }

  /** A put that created its key (etcd's isCreateEvent): it has no previous value. */
  get isCreate(): boolean {
    return this.type === EVENT_PUT && this.kv.createRevision === this.kv.modRevision;
  }

  /** The encoded mvccpb.Event (type and kv), computed once and shared by every watcher that receives it. */
  wire(): PreEncoded {
    return (this.#wire ??= new PreEncoded(mvccpb.Event.encode({ type: this.type, kv: this.kv })));
  }
}

/**
 * The events of one write transaction, in the order of its changes. A change
 * with createRevision 0 is a deletion (its modRevision is the transaction's).
 */
export function eventsOfChanges(changes: readonly KeyValue[]): WatchEvent[] {
  const out = new Array<WatchEvent>(changes.length);
  for (let i = 0; i < changes.length; i++) {
    const kv = changes[i]!;
    out[i] = new WatchEvent(kv.createRevision === 0 ? EVENT_DELETE : EVENT_PUT, kv);
  }
  return out;
}

export function eventOfHistory(e: MvccEvent): WatchEvent {
  return new WatchEvent(e.type === 'delete' ? EVENT_DELETE : EVENT_PUT, e.kv);
}
