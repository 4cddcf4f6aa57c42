/** What /health reports on; supplied by the server at every request. */
export interface HealthStatus {
  /** A leader is known (etcd: Leader() != None). */
  readonly hasLeader: boolean;
  /** Names of the active alarms, as etcd's AlarmType names them ('NOSPACE', 'CORRUPT'). */
  readonly alarms: readonly string[];
  /**
   * Outcome of a read through raft, when the server checked one (etcd 3.4 issues
   * a quorum read for every /health); undefined when not checked.
   */
  readonly quorumReadOk?: boolean;
}

/** Why a member is unhealthy, or null when it is healthy; alarms in `excludedAlarms` are ignored. */
export function unhealthyReason(status: HealthStatus, excludedAlarms: ReadonlySet<string>): string | null {
  const alarm = status.alarms.find((a) => !excludedAlarms.has(a));
  if (alarm !== undefined) return `alarm ${alarm} is active`;
  if (!status.hasLeader) return 'no leader';
  if (status.quorumReadOk === false) return 'quorum read failed';
  return null;
}
