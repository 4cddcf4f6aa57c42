import { etcdserverpb, FROM_KEY_END, prefixEnd } from '@etcd-ts/api';
import { toBuffer, type Bytes } from './codec.js';

/** Which keys a request covers besides `key` itself. At most one of these is set. */
export interface KeyRangeOptions {
  /** Every key starting with `key`. */
  readonly prefix?: boolean;
  /** Every key in [key, rangeEnd). */
  readonly rangeEnd?: Bytes;
  /** Every key >= key. */
  readonly fromKey?: boolean;
}

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface RangeOptions extends KeyRangeOptions {
  readonly limit?: number;
  /** Read at this revision (0: latest). */
  readonly revision?: number;
  readonly sort?: { readonly target: SortTarget; readonly order: SortOrder };
  /** Served by the member locally, without a ReadIndex round (may be stale). */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/** A lease given by ID or as any object with an `id` (e.g. a Lease). */
export type LeaseRef = bigint | { readonly id: bigint };

export interface PutOptions {
  readonly lease?: LeaseRef | undefined;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface DeleteOptions extends KeyRangeOptions {
  readonly prevKv?: boolean;
}

const SORT_TARGET: Record<SortTarget, etcdserverpb.RangeRequest_SortTarget> = {
  key: etcdserverpb.RangeRequest_SortTarget.KEY,
  version: etcdserverpb.RangeRequest_SortTarget.VERSION,
  create: etcdserverpb.RangeRequest_SortTarget.CREATE,
  mod: etcdserverpb.RangeRequest_SortTarget.MOD,
  value: etcdserverpb.RangeRequest_SortTarget.VALUE,
};
const SORT_ORDER: Record<SortOrder, etcdserverpb.RangeRequest_SortOrder> = {
  none: etcdserverpb.RangeRequest_SortOrder.NONE,
  ascend: etcdserverpb.RangeRequest_SortOrder.ASCEND,
  descend: etcdserverpb.RangeRequest_SortOrder.DESCEND,
};

export const leaseIdOf = (l: LeaseRef): bigint => (typeof l === 'bigint' ? l : l.id);

/** The [key, rangeEnd) pair of a key and its range options (etcd's WithPrefix / WithRange / WithFromKey). */
export function keyRange(key: Bytes, o: KeyRangeOptions | undefined): { key: Buffer; rangeEnd?: Buffer } {
  const k = toBuffer(key);
  if (o?.prefix) {
    // An empty prefix means every key, as etcd's clients do.
    return k.length === 0 ? { key: FROM_KEY_END, rangeEnd: FROM_KEY_END } : { key: k, rangeEnd: prefixEnd(k) };
  }
  if (o?.fromKey) return { key: k.length === 0 ? FROM_KEY_END : k, rangeEnd: FROM_KEY_END };
  if (o?.rangeEnd !== undefined) return { key: k, rangeEnd: toBuffer(o.rangeEnd) };
  return { key: k };
}

// Request builders list fields one by one: an object spread costs microseconds per request on this hot path.
export function rangeRequest(key: Bytes, o?: RangeOptions): etcdserverpb.RangeRequestInit {
  const r = keyRange(key, o);
  if (o === undefined) return r;
  return {
    key: r.key,
    rangeEnd: r.rangeEnd,
    limit: o?.limit,
    revision: o?.revision,
    sortOrder: o?.sort ? SORT_ORDER[o.sort.order] : undefined,
    sortTarget: o?.sort ? SORT_TARGET[o.sort.target] : undefined,
    serializable: o?.serializable,
    keysOnly: o?.keysOnly,
    countOnly: o?.countOnly,
    minModRevision: o?.minModRevision,
    maxModRevision: o?.maxModRevision,
    minCreateRevision: o?.minCreateRevision,
    maxCreateRevision: o?.maxCreateRevision,
  };
}

export function putRequest(key: Bytes, value: Bytes, o?: PutOptions): etcdserverpb.PutRequestInit {
  return {
    key: toBuffer(key),
    value: toBuffer(value),
    lease: o?.lease === undefined ? undefined : leaseIdOf(o.lease),
    prevKv: o?.prevKv,
    ignoreValue: o?.ignoreValue,
    ignoreLease: o?.ignoreLease,
  };
}

export function deleteRequest(key: Bytes, o?: DeleteOptions): etcdserverpb.DeleteRangeRequestInit {
  const r = keyRange(key, o);
  return { key: r.key, rangeEnd: r.rangeEnd, prevKv: o?.prevKv };
}

/** One operation of a txn. */
export type Op = etcdserverpb.RequestOpInit;

/** Operations for Txn's then/else branches (etcd's OpGet, OpPut, OpDelete, OpTxn). */
export const op = {
  get: (key: Bytes, o?: RangeOptions): Op => ({ requestRange: rangeRequest(key, o) }),
  put: (key: Bytes, value: Bytes, o?: PutOptions): Op => ({ requestPut: putRequest(key, value, o) }),
  delete: (key: Bytes, o?: DeleteOptions): Op => ({ requestDeleteRange: deleteRequest(key, o) }),
  txn: (compare: readonly etcdserverpb.CompareInit[], success: readonly Op[], failure: readonly Op[] = []): Op => ({
    requestTxn: { compare, success, failure },
  }),
} as const;
