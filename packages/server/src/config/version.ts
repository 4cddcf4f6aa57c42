/** Version of etcd-ts itself (keep equal to packages/server/package.json). */
export const ETCD_TS_VERSION = '0.1.0';
/** The etcd release whose API, flags and behaviour etcd-ts reproduces; reported as the server version. */
export const ETCD_VERSION = '3.4.23';
/** Cluster version a cluster of etcd-ts members settles on (etcd reports major.minor.0). */
export const ETCD_CLUSTER_VERSION = '3.4.0';
/** etcd's MinClusterVersion for 3.4. */
export const ETCD_MIN_CLUSTER_VERSION = '3.0.0';

/**
 * The text printed by --version. The first line is the etcd version line that
 * scripts written for etcd parse ("etcd Version: X"); the second names the
 * etcd-ts release; the rest follows etcd's layout with Node.js in place of Go.
 */
export function formatVersion(): string {
  return [
    `etcd Version: ${ETCD_VERSION}`,
    `etcd-ts Version: ${ETCD_TS_VERSION}`,
    'Git SHA: Not provided',
    `Node Version: ${process.version}`,
    `Node OS/Arch: ${process.platform}/${process.arch}`,
    '',
  ].join('\n');
}
