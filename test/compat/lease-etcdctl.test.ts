import { runCtlSuite } from './etcdctl-runner.js';
import { LEASE_ETCDCTL_SCENARIOS } from './lease-etcdctl-scenarios.js';

/*
 * Differential etcdctl lease suite: `etcdctl lease grant/revoke/timetolive
 * (--keys)/list/keep-alive` and `put --lease` against real etcd and etcd-ts,
 * including a lease that expires and deletes three keys in one revision
 * while watchers look on. Lease IDs differ by design and are compared as
 * placeholders.
 */
runCtlSuite('lease-etcdctl-differential', LEASE_ETCDCTL_SCENARIOS);
