import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpHandler } from '../src/http/create-http-handler.js';
import type { HealthStatus } from '../src/http/health-status.js';
import { createServerMetrics } from '../src/http/metrics.js';
import { startHttpServer } from '../src/http/start-http-server.js';
import type { HttpServerHandle } from '../src/http/start-http-server.js';
import { createLogger } from '../src/util/logger.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(port: number, path: string, method = 'GET', agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  outputs: [],
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  }),
});

let status: HealthStatus = { hasLeader: true, alarms: [] };
const metrics = createServerMetrics();
let server: HttpServerHandle;

test.before(async () => {
  server = await startHttpServer({ host: '127.0.0.1', port: 0, logger, status: () => status, metrics: metrics.registry });
});

test.after(async () => {
  await server.close();
});

test('binds an ephemeral port on 127.0.0.1', () => {
  assert.ok(server.port > 0);
  assert.is(server.host, '127.0.0.1');
  assert.is(server.url, `http://127.0.0.1:${server.port}`);
});

test('/health is {"health":"true"} with a leader and no alarms', async () => {
  status = { hasLeader: true, alarms: [] };
  const before = (await metrics.healthSuccess.get()).values[0]?.value ?? 0;
  const r = await get(server.port, '/health');
  assert.is(r.status, 200);
  assert.is(r.body, '{"health":"true"}');
  assert.is((await metrics.healthSuccess.get()).values[0]?.value, before + 1);
});

test('/health is 503 {"health":"false"} without a leader, with an alarm, or a failed quorum read', async () => {
  for (const s of [
    { hasLeader: false, alarms: [] },
    { hasLeader: true, alarms: ['NOSPACE'] },
    { hasLeader: true, alarms: [], quorumReadOk: false },
  ]) {
    status = s;
    const r = await get(server.port, '/health');
    assert.is(r.status, 503, JSON.stringify(s));
    assert.is(r.body, '{"health":"false"}\n');
    assert.is(r.headers['content-type'], 'text/plain; charset=utf-8');
  }
  assert.ok(logLines.some((l) => l.includes('"msg":"/health error"') && l.includes('"reason":"no leader"')));
  assert.ok(((await metrics.healthFailures.get()).values[0]?.value ?? 0) >= 3);
});

test('/health?exclude= ignores the named alarms', async () => {
  status = { hasLeader: true, alarms: ['NOSPACE'] };
  assert.is((await get(server.port, '/health?exclude=NOSPACE')).status, 200);
  status = { hasLeader: true, alarms: ['NOSPACE', 'CORRUPT'] };
  assert.is((await get(server.port, '/health?exclude=NOSPACE')).status, 503);
  assert.is((await get(server.port, '/health?exclude=NOSPACE&exclude=CORRUPT')).status, 200);
});

test('/health answers 503 when the status callback throws', async () => {
  const h = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    status: () => Promise.reject(new Error('stopped')),
    metrics: createServerMetrics().registry,
  });
  try {
    const r = await get(h.port, '/health');
    assert.is(r.status, 503);
    assert.is(r.body, '{"health":"false"}\n');
  } finally {
    await h.close();
  }
});

test('/health and /version accept GET only', async () => {
  for (const path of ['/health', '/version']) {
    const r = await get(server.port, path, 'POST');
    assert.is(r.status, 405);
    assert.is(r.headers['allow'], 'GET');
    assert.is(r.body, 'Method Not Allowed\n');
  }
});

test('/version reports the etcd server and cluster versions', async () => {
  const r = await get(server.port, '/version');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'application/json');
  assert.is(r.body, '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
});

test('/version reports not_decided before the cluster version is known', async () => {
  const h = await startHttpServer({
    host: 'localhost',
    port: 0,
    logger,
    status: () => status,
    metrics: createServerMetrics().registry,
    clusterVersion: () => null,
  });
  try {
    assert.is(h.host, '127.0.0.1');
    assert.equal(JSON.parse((await get(h.port, '/version')).body), { etcdserver: '3.4.23', etcdcluster: 'not_decided' });
  } finally {
    await h.close();
  }
});

test('/metrics serves etcd metrics and process metrics in Prometheus text format', async () => {
  metrics.hasLeader.set(1);
  metrics.leaderChangesSeenTotal.inc();
  metrics.walFsyncDurationSeconds.observe(0.003);
  metrics.grpcServerHandledTotal.inc({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range', grpc_code: 'OK' });
  metrics.sample(metrics.dbTotalSizeInBytes, () => 20480);
  const r = await get(server.port, '/metrics');
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), 'text/plain');
  assert.match(r.body, /^etcd_server_has_leader 1$/m);
  assert.match(r.body, /^etcd_server_leader_changes_seen_total 1$/m);
  assert.match(r.body, /^etcd_mvcc_db_total_size_in_bytes 20480$/m);
  assert.match(r.body, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.004"\} 1$/m);
  assert.match(r.body, /^etcd_server_version\{server_version="3.4.23"\} 1$/m);
  assert.match(
    r.body,
    /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range",grpc_code="OK"\} 1$/m,
  );
  assert.match(r.body, /^process_cpu_user_seconds_total /m);
  assert.match(r.body, /^# TYPE etcd_debugging_mvcc_keys_total gauge$/m);
});

test('other paths get 404', async () => {
  const r = await get(server.port, '/v2/keys');
  assert.is(r.status, 404);
  assert.is(r.body, '404 page not found\n');
});

test('the handler can be mounted on any node:http server and passes on other paths', async () => {
  const handle = createHttpHandler({ logger, status: () => status, metrics: metrics.registry, includeDefaultMetrics: false });
  const other = createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(200);
    res.end('gateway');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const port = (other.address() as AddressInfo).port;
  try {
    status = { hasLeader: true, alarms: [] };
    assert.is((await get(port, '/health')).body, '{"health":"true"}');
    assert.is((await get(port, '/v3/kv/range', 'POST')).body, 'gateway');
    const m = await get(port, '/metrics');
    assert.match(m.body, /^etcd_server_has_leader /m);
    assert.not.match(m.body, /^process_cpu_user_seconds_total /m);
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});

test('the metrics listener variant does not serve /version', async () => {
  const h = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    status: () => status,
    metrics: metrics.registry,
    serveVersion: false,
  });
  try {
    assert.is((await get(h.port, '/version')).status, 404);
    assert.is((await get(h.port, '/health')).status, 200);
  } finally {
    await h.close();
  }
});

test('a busy port is reported, and close() is idempotent and drops keep-alive connections', async () => {
  let failed: unknown;
  try {
    await startHttpServer({ host: '127.0.0.1', port: server.port, logger, status: () => status, metrics: metrics.registry });
  } catch (e) {
    failed = e;
  }
  assert.is((failed as NodeJS.ErrnoException | undefined)?.code, 'EADDRINUSE');
  const h = await startHttpServer({ host: '127.0.0.1', port: 0, logger, status: () => status, metrics: metrics.registry });
  const keepAlive = new Agent({ keepAlive: true });
  await get(h.port, '/health', 'GET', keepAlive);
  await Promise.all([h.close(), h.close()]);
  keepAlive.destroy();
  let refused: unknown;
  try {
    await get(h.port, '/health');
  } catch (e) {
    refused = e;
  }
  assert.is((refused as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
});

test.run();
