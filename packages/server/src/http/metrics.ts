import { Counter, Gauge, Histogram, Registry, exponentialBuckets } from 'prom-client';
import { ETCD_VERSION } from '../config/version.js';

/** etcd's buckets for WAL fsync and backend commit latency: 1ms doubling 14 times (up to ~8s). */
export const DISK_LATENCY_BUCKETS: readonly number[] = exponentialBuckets(0.001, 2, 14);
/** etcd's buckets for backend snapshot duration: 10ms doubling 17 times. */
export const BACKEND_SNAPSHOT_BUCKETS: readonly number[] = exponentialBuckets(0.01, 2, 17);
/** etcd's buckets for defragmentation duration: 100ms doubling 13 times. */
export const DEFRAG_BUCKETS: readonly number[] = exponentialBuckets(0.1, 2, 13);
/** etcd's buckets for peer round-trip time: 0.1ms doubling 16 times. */
export const PEER_RTT_BUCKETS: readonly number[] = exponentialBuckets(0.0001, 2, 16);
/** etcd's buckets for lease TTLs in seconds: 1s doubling 24 times. */
export const LEASE_TTL_BUCKETS: readonly number[] = exponentialBuckets(1, 2, 24);
/** Prometheus' default buckets, used by go-grpc-prometheus for handling time. */
export const GRPC_HANDLING_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type GrpcCallLabels = 'grpc_type' | 'grpc_service' | 'grpc_method';

/**
 * The metrics an etcd-ts server exports, with etcd 3.4's names, types, label
 * names and buckets (dashboards and alerts written for etcd keep working).
 * One instance per server; all are registered in `registry` only.
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /**
   * Makes `gauge` read its value from `source` at every scrape (etcd's GaugeFunc),
   * or stops doing so when source is undefined.
   */
  sample(gauge: Gauge, source: (() => number) | undefined): void;

  // etcd_server_*
  readonly hasLeader: Gauge;
  readonly isLeader: Gauge;
  readonly isLearner: Gauge;
  readonly leaderChangesSeenTotal: Counter;
  readonly heartbeatSendFailuresTotal: Counter;
  readonly slowApplyTotal: Counter;
  /** A gauge in etcd despite the _total suffix: the committed raft index. */
  readonly proposalsCommittedTotal: Gauge;
  /** A gauge in etcd despite the _total suffix: the applied raft index. */
  readonly proposalsAppliedTotal: Gauge;
  readonly proposalsPending: Gauge;
  readonly proposalsFailedTotal: Counter;
  readonly slowReadIndexesTotal: Counter;
  readonly readIndexesFailedTotal: Counter;
  readonly quotaBackendBytes: Gauge;
  /** Always 1, labelled with the etcd version served. */
  readonly serverVersion: Gauge<'server_version'>;
  /** Always 1, labelled with the member ID in hex. */
  readonly serverId: Gauge<'server_id'>;
  readonly healthSuccess: Counter;
  readonly healthFailures: Counter;
  readonly clientRequestsTotal: Counter<'type' | 'client_api_version'>;
  readonly leaseExpiredTotal: Counter;

  // etcd_mvcc_* and etcd_debugging_mvcc_*
  readonly dbTotalSizeInBytes: Gauge;
  readonly dbTotalSizeInUseInBytes: Gauge;
  readonly debuggingDbTotalSizeInBytes: Gauge;
  readonly rangeTotal: Counter;
  readonly putTotal: Counter;
  readonly deleteTotal: Counter;
  readonly txnTotal: Counter;
  readonly keysTotal: Gauge;
  readonly watchStreamTotal: Gauge;
  readonly watcherTotal: Gauge;
  readonly slowWatcherTotal: Gauge;
  readonly eventsTotal: Counter;
  readonly pendingEventsTotal: Gauge;
  readonly currentRevision: Gauge;
  readonly compactRevision: Gauge;
  readonly dbCompactionKeysTotal: Counter;

  // etcd_disk_*
  readonly walFsyncDurationSeconds: Histogram;
  /** A gauge in etcd: bytes written to the WAL so far. */
  readonly walWriteBytesTotal: Gauge;
  readonly backendCommitDurationSeconds: Histogram;
  readonly backendSnapshotDurationSeconds: Histogram;
  readonly backendDefragDurationSeconds: Histogram;
  readonly snapSaveTotalDurationSeconds: Histogram;

  // etcd_network_*
  readonly clientGrpcSentBytesTotal: Counter;
  readonly clientGrpcReceivedBytesTotal: Counter;
  readonly serverStreamFailuresTotal: Counter<'Type' | 'API'>;
  readonly peerSentBytesTotal: Counter<'To'>;
  readonly peerReceivedBytesTotal: Counter<'From'>;
  readonly peerSentFailuresTotal: Counter<'To'>;
  readonly peerReceivedFailuresTotal: Counter<'From'>;
  readonly peerRoundTripTimeSeconds: Histogram<'To'>;
  readonly activePeers: Gauge<'Local' | 'Remote'>;
  readonly disconnectedPeersTotal: Counter<'Local' | 'Remote'>;

  // etcd_debugging_lease_*
  readonly leaseGrantedTotal: Counter;
  readonly leaseRevokedTotal: Counter;
  readonly leaseRenewedTotal: Counter;
  readonly leaseTtlTotal: Histogram;

  // grpc_server_* (go-grpc-prometheus names, as etcd exports them)
  readonly grpcServerStartedTotal: Counter<GrpcCallLabels>;
  readonly grpcServerHandledTotal: Counter<GrpcCallLabels | 'grpc_code'>;
  readonly grpcServerMsgReceivedTotal: Counter<GrpcCallLabels>;
  readonly grpcServerMsgSentTotal: Counter<GrpcCallLabels>;
  /** Registered only with `extensive` (etcd's --metrics=extensive); otherwise observations are dropped. */
  readonly grpcServerHandlingSeconds: Histogram<GrpcCallLabels>;
}

export interface ServerMetricsOptions {
  /** Registry to register into; a new one by default. */
  readonly registry?: Registry;
  /** etcd's --metrics=extensive: also export grpc_server_handling_seconds. */
  readonly extensive?: boolean;
}

export function createServerMetrics(options: ServerMetricsOptions = {}): ServerMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const sources = new WeakMap<object, () => number>();
  function collectFrom(this: Gauge): void {
    const source = sources.get(this);
    if (source !== undefined) this.set(source());
  }
  const gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers, collect: collectFrom as (this: Gauge<L>) => void });
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string = string>(
    name: string,
    help: string,
    buckets: readonly number[],
    labelNames: readonly L[] = [],
    register = true,
  ): Histogram<L> => new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers: register ? registers : [] });

  const grpcCall: GrpcCallLabels[] = ['grpc_type', 'grpc_service', 'grpc_method'];
  const metrics: ServerMetrics = {
    registry,
    sample(g, source) {
      if (source === undefined) sources.delete(g);
      else sources.set(g, source);
    },

    hasLeader: gauge('etcd_server_has_leader', '1 when this member knows a leader, 0 otherwise.'),
    isLeader: gauge('etcd_server_is_leader', '1 when this member is the leader, 0 otherwise.'),
    isLearner: gauge('etcd_server_is_learner', '1 when this member is a learner, 0 otherwise.'),
    leaderChangesSeenTotal: counter('etcd_server_leader_changes_seen_total', 'Leader changes observed by this member.'),
    heartbeatSendFailuresTotal: counter('etcd_server_heartbeat_send_failures_total', 'Heartbeats the leader failed to send.'),
    slowApplyTotal: counter('etcd_server_slow_apply_total', 'Applies that took longer than the warning threshold.'),
    proposalsCommittedTotal: gauge('etcd_server_proposals_committed_total', 'Raft index of the last committed proposal.'),
    proposalsAppliedTotal: gauge('etcd_server_proposals_applied_total', 'Raft index of the last applied proposal.'),
    proposalsPending: gauge('etcd_server_proposals_pending', 'Proposals waiting to be committed.'),
    proposalsFailedTotal: counter('etcd_server_proposals_failed_total', 'Proposals that failed.'),
    slowReadIndexesTotal: counter('etcd_server_slow_read_indexes_total', 'ReadIndex requests that waited too long.'),
    readIndexesFailedTotal: counter('etcd_server_read_indexes_failed_total', 'ReadIndex requests that failed.'),
    quotaBackendBytes: gauge('etcd_server_quota_backend_bytes', 'Backend size quota in bytes.'),
    serverVersion: gauge('etcd_server_version', 'etcd version served, as a label; always 1.', ['server_version']),
    serverId: gauge('etcd_server_id', 'Member ID, as a label; always 1.', ['server_id']),
    healthSuccess: counter('etcd_server_health_success', 'Health checks that passed.'),
    healthFailures: counter('etcd_server_health_failures', 'Health checks that failed.'),
    clientRequestsTotal: counter('etcd_server_client_requests_total', 'Client requests by type and API version.', ['type', 'client_api_version']),
    leaseExpiredTotal: counter('etcd_debugging_server_lease_expired_total', 'Leases revoked because they expired.'),

    dbTotalSizeInBytes: gauge('etcd_mvcc_db_total_size_in_bytes', 'Size of the backend database file in bytes.'),
    dbTotalSizeInUseInBytes: gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Bytes of the backend database in use.'),
    debuggingDbTotalSizeInBytes: gauge('etcd_debugging_mvcc_db_total_size_in_bytes', 'Size of the backend database file in bytes.'),
    rangeTotal: counter('etcd_mvcc_range_total', 'Range requests served.'),
    putTotal: counter('etcd_mvcc_put_total', 'Puts applied.'),
    deleteTotal: counter('etcd_mvcc_delete_total', 'Deletes applied.'),
    txnTotal: counter('etcd_mvcc_txn_total', 'Transactions applied.'),
    keysTotal: gauge('etcd_debugging_mvcc_keys_total', 'Keys in the key-value store.'),
    watchStreamTotal: gauge('etcd_debugging_mvcc_watch_stream_total', 'Open watch streams.'),
    watcherTotal: gauge('etcd_debugging_mvcc_watcher_total', 'Active watchers.'),
    slowWatcherTotal: gauge('etcd_debugging_mvcc_slow_watcher_total', 'Watchers behind the current revision.'),
    eventsTotal: counter('etcd_debugging_mvcc_events_total', 'Watch events sent.'),
    pendingEventsTotal: gauge('etcd_debugging_mvcc_pending_events_total', 'Watch events waiting to be sent.'),
    currentRevision: gauge('etcd_debugging_mvcc_current_revision', 'Current revision of the key-value store.'),
    compactRevision: gauge('etcd_debugging_mvcc_compact_revision', 'Last compacted revision.'),
    dbCompactionKeysTotal: counter('etcd_debugging_mvcc_db_compaction_keys_total', 'Keys removed by compaction.'),

    walFsyncDurationSeconds: histogram('etcd_disk_wal_fsync_duration_seconds', 'Latency of WAL fsync calls.', DISK_LATENCY_BUCKETS),
    walWriteBytesTotal: gauge('etcd_disk_wal_write_bytes_total', 'Bytes written to the WAL.'),
    backendCommitDurationSeconds: histogram('etcd_disk_backend_commit_duration_seconds', 'Latency of backend commits.', DISK_LATENCY_BUCKETS),
    backendSnapshotDurationSeconds: histogram('etcd_disk_backend_snapshot_duration_seconds', 'Duration of backend snapshots.', BACKEND_SNAPSHOT_BUCKETS),
    backendDefragDurationSeconds: histogram('etcd_disk_backend_defrag_duration_seconds', 'Duration of backend defragmentation.', DEFRAG_BUCKETS),
    snapSaveTotalDurationSeconds: histogram('etcd_debugging_snap_save_total_duration_seconds', 'Duration of raft snapshot saves.', DISK_LATENCY_BUCKETS),

    clientGrpcSentBytesTotal: counter('etcd_network_client_grpc_sent_bytes_total', 'Bytes sent to gRPC clients.'),
    clientGrpcReceivedBytesTotal: counter('etcd_network_client_grpc_received_bytes_total', 'Bytes received from gRPC clients.'),
    serverStreamFailuresTotal: counter('etcd_network_server_stream_failures_total', 'Client stream failures by type and API.', ['Type', 'API']),
    peerSentBytesTotal: counter('etcd_network_peer_sent_bytes_total', 'Bytes sent to peers.', ['To']),
    peerReceivedBytesTotal: counter('etcd_network_peer_received_bytes_total', 'Bytes received from peers.', ['From']),
    peerSentFailuresTotal: counter('etcd_network_peer_sent_failures_total', 'Failed sends to peers.', ['To']),
    peerReceivedFailuresTotal: counter('etcd_network_peer_received_failures_total', 'Failed receives from peers.', ['From']),
    peerRoundTripTimeSeconds: histogram('etcd_network_peer_round_trip_time_seconds', 'Round-trip time to peers.', PEER_RTT_BUCKETS, ['To']),
    activePeers: gauge('etcd_network_active_peers', 'Connected peers.', ['Local', 'Remote']),
    disconnectedPeersTotal: counter('etcd_network_disconnected_peers_total', 'Peer disconnections.', ['Local', 'Remote']),

    leaseGrantedTotal: counter('etcd_debugging_lease_granted_total', 'Leases granted.'),
    leaseRevokedTotal: counter('etcd_debugging_lease_revoked_total', 'Leases revoked.'),
    leaseRenewedTotal: counter('etcd_debugging_lease_renewed_total', 'Lease renewals.'),
    leaseTtlTotal: histogram('etcd_debugging_lease_ttl_total', 'TTLs of granted leases in seconds.', LEASE_TTL_BUCKETS),

    grpcServerStartedTotal: counter('grpc_server_started_total', 'RPCs started on the server.', grpcCall),
    grpcServerHandledTotal: counter('grpc_server_handled_total', 'RPCs completed on the server, by status code.', [...grpcCall, 'grpc_code']),
    grpcServerMsgReceivedTotal: counter('grpc_server_msg_received_total', 'Stream messages received by the server.', grpcCall),
    grpcServerMsgSentTotal: counter('grpc_server_msg_sent_total', 'Stream messages sent by the server.', grpcCall),
    grpcServerHandlingSeconds: histogram(
      'grpc_server_handling_seconds',
      'Time from RPC start to completion on the server.',
      GRPC_HANDLING_BUCKETS,
      grpcCall,
      options.extensive === true,
    ),
  };
  metrics.serverVersion.set({ server_version: ETCD_VERSION }, 1);
  return metrics;
}
