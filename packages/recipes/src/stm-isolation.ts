/**
 * etcd's four STM isolation levels (clientv3/concurrency/stm.go), from the
 * strongest to the weakest. What each one reads and what its commit compares:
 *
 * | level                   | reads                                        | commit succeeds iff                                  |
 * |-------------------------|----------------------------------------------|------------------------------------------------------|
 * | `serializable-snapshot` | at the revision R of the first read          | every read key's mod revision is unchanged, and      |
 * |                         |                                              | every written key's mod revision is ≤ R              |
 * | `serializable`          | at the revision R of the first read          | every read key's mod revision is unchanged           |
 * | `repeatable-read`       | latest (member-local), each key read once    | every read key's mod revision is unchanged           |
 * | `read-committed`        | latest (member-local), each key read once    | always (no compare)                                  |
 *
 * R is the store revision at which the first read was served, not the mod
 * revision of any key read. The write check of `serializable-snapshot` is
 * snapshot isolation's first-committer-wins rule: it fails only when someone
 * else wrote one of our written keys after our snapshot. A key written without
 * being read ("blind write") whose last modification is at or before R never
 * conflicts, however much newer it is than the keys read; and a transaction
 * that read nothing has no snapshot, so its writes are never checked. Under
 * the three weaker levels written keys are never compared: a blind write
 * never conflicts.
 */
export type StmIsolation = 'serializable-snapshot' | 'serializable' | 'repeatable-read' | 'read-committed';

export const STM_ISOLATION_LEVELS: readonly StmIsolation[] = [
  'serializable-snapshot',
  'serializable',
  'repeatable-read',
  'read-committed',
];

/** Whether reads of the level are pinned to the revision of the first read. */
export function readsAtSnapshot(level: StmIsolation): boolean {
  return level === 'serializable-snapshot' || level === 'serializable';
}

/** Whether the level's commit compares the mod revisions of the keys read. */
export function comparesReadSet(level: StmIsolation): boolean {
  return level !== 'read-committed';
}

/** Whether the level's commit checks written keys against the snapshot revision. */
export function checksWriteSet(level: StmIsolation): boolean {
  return level === 'serializable-snapshot';
}
