/**
 * The branch a txn takes, decided before any of its operations runs: the outer
 * compares and the compares of every nested txn on the chosen branch are all
 * evaluated against the view as it was when the txn began (etcd's compareToPath).
 */
import type { etcdserverpb } from '@etcd-ts/api';
import { applyCompares } from './compare.js';
import type { RangeView } from './range.js';

export interface TxnPath {
  readonly succeeded: boolean;
  /** The paths of the nested txns of the chosen branch, in operation order. */
  readonly nested: readonly TxnPath[];
}

export function compareToPath(view: RangeView, rt: etcdserverpb.TxnRequest): TxnPath {
  const succeeded = applyCompares(view, rt.compare);
  const ops = succeeded ? rt.success : rt.failure;
  const nested: TxnPath[] = [];
  for (const op of ops) if (op.requestTxn !== undefined) nested.push(compareToPath(view, op.requestTxn));
  return { succeeded, nested };
}

/** Visits every non-txn operation on the chosen path, depth first, in order. */
export function forEachOnPath(
  rt: etcdserverpb.TxnRequest,
  path: TxnPath,
  visit: (op: etcdserverpb.RequestOp) => void,
): void {
  let i = 0;
  for (const op of path.succeeded ? rt.success : rt.failure) {
    if (op.requestTxn !== undefined) {
      const child = path.nested[i++];
      if (child !== undefined) forEachOnPath(op.requestTxn, child, visit);
    } else {
      visit(op);
    }
  }
}

/** A txn whose both branches hold only ranges never writes and is served without the log. */
export function isTxnReadonly(rt: etcdserverpb.TxnRequest): boolean {
  return rt.success.every((op) => op.requestRange !== undefined) && rt.failure.every((op) => op.requestRange !== undefined);
}

/** A read-only txn whose every range is serializable may be answered from local state. */
export function isTxnSerializable(rt: etcdserverpb.TxnRequest): boolean {
  const serializable = (op: etcdserverpb.RequestOp): boolean => op.requestRange?.serializable === true;
  return rt.success.every(serializable) && rt.failure.every(serializable);
}
