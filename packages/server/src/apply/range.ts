/**
 * A Range request against one read view, with etcd 3.4's semantics
 * (applierV3backend.Range): filters and sorting fetch the whole range and then
 * truncate to `limit`; otherwise one extra key is fetched to tell `more`; `count`
 * is the number of keys in the range, before filters and limit.
 *
 * Fast path: when the stored order is the answer (no filters, sorted by key or
 * not at all, values wanted), the stored mvccpb.KeyValue bytes are spliced into
 * the response without being decoded.
 */
import { etcdserverpb, PreEncoded, type mvccpb } from '@etcd-ts/api';
import type { RangeOptions, RangeRawResult, RangeResult } from '../mvcc/kv-store.js';

type RangeRequest = etcdserverpb.RangeRequest;
type KeyValue = mvccpb.KeyValue;
const { SortOrder, SortTarget } = { SortOrder: etcdserverpb.RangeRequest_SortOrder, SortTarget: etcdserverpb.RangeRequest_SortTarget };

/** What a range needs of a read view: etcd's TxnRead or TxnWrite. */
export interface RangeView {
  range(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeResult;
  rangeRaw(key: Uint8Array, end: Uint8Array | undefined, opts?: RangeOptions): RangeRawResult;
}

/** The response of a Range, without its header's member fields (filled by the API layer). */
export interface RangeOutcome {
  readonly kvs: (KeyValue | PreEncoded)[];
  readonly more: boolean;
  readonly count: number;
  readonly revision: number;
}

const hasFilters = (r: RangeRequest): boolean =>
  r.minModRevision !== 0 || r.maxModRevision !== 0 || r.minCreateRevision !== 0 || r.maxCreateRevision !== 0;

export function applyRange(view: RangeView, r: RangeRequest): RangeOutcome {
  // Only the KEY target leaves NONE as NONE; any other target sorts ascending by default.
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  const fetchAll = r.sortOrder !== SortOrder.NONE || hasFilters(r);
  const limit = fetchAll ? 0 : r.limit > 0 ? r.limit + 1 : 0;
  const opts: RangeOptions = { limit, rev: r.revision > 0 ? r.revision : 0, countOnly: r.countOnly };
  const end = r.rangeEnd.length > 0 ? r.rangeEnd : undefined;

  if (!hasFilters(r) && !r.keysOnly && r.sortTarget === SortTarget.KEY) {
    const rr = view.rangeRaw(r.key, end, opts);
    let kvs = rr.kvs;
    if (order === SortOrder.DESCEND) kvs = kvs.slice().reverse();
    // Any other order (ASCEND, NONE, or a value outside the enum) leaves key order.
    const more = r.limit > 0 && kvs.length > r.limit;
    if (more) kvs = kvs.slice(0, r.limit);
    return { kvs: kvs.map((b) => new PreEncoded(b)), more, count: rr.count, revision: rr.rev };
  }

  const rr = view.range(r.key, end, opts);
  let kvs = rr.kvs;
  if (r.maxModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
  if (r.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
  if (r.maxCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
  if (r.minCreateRevision !== 0) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);
  // Like etcd, an order other than ASCEND or DESCEND leaves key order (after fetching everything).
  if (order === SortOrder.ASCEND || order === SortOrder.DESCEND) {
    const cmp = comparator(r.sortTarget);
    // Array.prototype.sort is stable: equal elements keep key order in both directions.
    kvs = order === SortOrder.DESCEND ? kvs.slice().sort((a, b) => cmp(b, a)) : kvs.slice().sort(cmp);
  }
  const more = r.limit > 0 && kvs.length > r.limit;
  if (more) kvs = kvs.slice(0, r.limit);
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count: rr.count, revision: rr.rev };
}

const EMPTY = Buffer.alloc(0);

function comparator(target: number): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => Buffer.compare(a.value, b.value);
    default:
      return (a, b) => Buffer.compare(a.key, b.key);
  }
}
