import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { DISK_LATENCY_BUCKETS, createServerMetrics } from '../src/http/metrics.js';

interface MetricJson {
  name: string;
  type: string;
  values: { labels: Record<string, string | number>; value: number }[];
}

async function byName(registry: Registry): Promise<Map<string, MetricJson>> {
  const all = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  return new Map(all.map((m) => [m.name, m]));
}

test('the metrics named by etcd exist with etcd types', async () => {
  const m = createServerMetrics();
  const metrics = await byName(m.registry);
  const expected: [string, string][] = [
    ['etcd_server_has_leader', 'gauge'],
    ['etcd_server_leader_changes_seen_total', 'counter'],
    ['etcd_server_proposals_committed_total', 'gauge'],
    ['etcd_server_proposals_applied_total', 'gauge'],
    ['etcd_server_proposals_pending', 'gauge'],
    ['etcd_server_proposals_failed_total', 'counter'],
    ['etcd_mvcc_db_total_size_in_bytes', 'gauge'],
    ['etcd_debugging_mvcc_keys_total', 'gauge'],
    ['etcd_disk_wal_fsync_duration_seconds', 'histogram'],
    ['etcd_disk_backend_commit_duration_seconds', 'histogram'],
    ['grpc_server_handled_total', 'counter'],
    ['etcd_network_client_grpc_received_bytes_total', 'counter'],
    ['etcd_network_client_grpc_sent_bytes_total', 'counter'],
    ['etcd_server_health_success', 'counter'],
    ['etcd_server_health_failures', 'counter'],
    ['etcd_network_peer_round_trip_time_seconds', 'histogram'],
  ];
  for (const [name, type] of expected) {
    assert.is(metrics.get(name)?.type, type, name);
  }
  assert.not.ok(metrics.has('grpc_server_handling_seconds'), 'only with --metrics=extensive');
  const extensive = await byName(createServerMetrics({ extensive: true }).registry);
  assert.is(extensive.get('grpc_server_handling_seconds')?.type, 'histogram');
});

test('disk latency histograms use etcd buckets (1ms doubling, 14 buckets)', async () => {
  assert.equal(DISK_LATENCY_BUCKETS, [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192]);
  const m = createServerMetrics();
  m.backendCommitDurationSeconds.observe(0.01);
  const text = await m.registry.metrics();
  for (const le of DISK_LATENCY_BUCKETS) {
    assert.match(text, `etcd_disk_backend_commit_duration_seconds_bucket{le="${le}"}`);
  }
  assert.match(text, /^etcd_disk_backend_commit_duration_seconds_bucket\{le="0.016"\} 1$/m);
});

test('grpc_server_handled_total carries the go-grpc-prometheus labels', async () => {
  const m = createServerMetrics();
  m.grpcServerHandledTotal.inc({ grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch', grpc_code: 'Canceled' });
  const handled = (await byName(m.registry)).get('grpc_server_handled_total');
  assert.equal(handled?.values[0]?.labels, {
    grpc_type: 'bidi_stream',
    grpc_service: 'etcdserverpb.Watch',
    grpc_method: 'Watch',
    grpc_code: 'Canceled',
  });
});

test('sampled gauges read their source at every scrape', async () => {
  const m = createServerMetrics();
  let keys = 3;
  m.sample(m.keysTotal, () => keys);
  assert.match(await m.registry.metrics(), /^etcd_debugging_mvcc_keys_total 3$/m);
  keys = 7;
  assert.match(await m.registry.metrics(), /^etcd_debugging_mvcc_keys_total 7$/m);
  m.sample(m.keysTotal, undefined);
  keys = 9;
  assert.match(await m.registry.metrics(), /^etcd_debugging_mvcc_keys_total 7$/m);
});

test('several servers in one process keep separate registries', async () => {
  const a = createServerMetrics();
  const b = createServerMetrics();
  a.hasLeader.set(1);
  b.hasLeader.set(0);
  assert.match(await a.registry.metrics(), /^etcd_server_has_leader 1$/m);
  assert.match(await b.registry.metrics(), /^etcd_server_has_leader 0$/m);
  const shared = new Registry();
  createServerMetrics({ registry: shared });
  assert.ok(shared.getSingleMetric('etcd_server_has_leader'));
});

test.run();
