import { runCtlSuite } from './etcdctl-runner.js';
import { WATCH_ETCDCTL_SCENARIOS } from './watch-etcdctl-scenarios.js';

/*
 * Differential etcdctl watch suite: `etcdctl watch` (with --rev, --prefix,
 * --prev-kv, ranges, output formats, exec commands, compaction) against real
 * etcd and etcd-ts must print the same and exit the same, after normalising
 * ids, raft term and the endpoint.
 */
runCtlSuite('watch-etcdctl-differential', WATCH_ETCDCTL_SCENARIOS);
