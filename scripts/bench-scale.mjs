#!/usr/bin/env node
// Scale benchmark: loads N keys (default 200,000; 16-byte keys, 256-byte
// values) into real etcd 3.4 and into etcd-ts, reports resident memory after
// the load, then restarts each server on its data dir and measures the time
// from spawn to the first successfully served linearizable read.
import {
  BenchError,
  buildLoadgen,
  commandLine,
  dirSizeBytes,
  durationMs,
  fmtNum,
  installCleanup,
  launchServer,
  log,
  machineInfo,
  markdownTable,
  parseArgs,
  ratio,
  relaunchServer,
  removeTempDir,
  runLoadgen,
  serverKinds,
  writeOutputs,
  environmentLines,
} from '../packages/bench/harness/harness.mjs';

const USAGE = `usage: node scripts/bench-scale.mjs [options]

  --keys 200000         distinct keys to load
  --key-size 16 --val-size 256
  --clients 64          concurrent puts during the load
  --restarts 3          restarts measured per server (the median is reported)
  --servers etcd,etcd-ts
  --ready-timeout 120s  how long a (re)start may take to serve its first read
  --out FILE / --json FILE

env: ETCD_TS_CMD, ETCD_CMD, BENCH_KEEP_TMP, BENCH_TMPDIR (see bench-kv.mjs --help)
`;

const DEFAULTS = {
  keys: 200000,
  keySize: 16,
  valSize: 256,
  clients: 64,
  restarts: 3,
  servers: 'etcd,etcd-ts',
  readyTimeout: '120s',
  out: '',
  json: '',
};

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function countKeys(loadgen, server) {
  const r = await runLoadgen(
    loadgen,
    ['--op', 'count', '--endpoints', server.endpoint, '--timeout', '60s', '--deadline', '90s'],
    { killAfterMs: 120_000, server },
  );
  if (r.errors) throw new BenchError(`${server.label}: count failed: ${r.first_error}`);
  return r.ops;
}

async function scaleServer(kindKey, loadgen, opts) {
  const readyTimeout = durationMs(opts.readyTimeout);
  const out = { restartsMs: [], rssAfterRestartKiB: [] };
  let server = await launchServer(kindKey);
  const workDir = server.workDir;
  out.argv = server.argv;
  log(`${server.label}: pid ${server.pid}, ${server.argv.join(' ')}`);
  try {
    out.coldStartMs = await server.waitReady(loadgen, readyTimeout);
    out.rssEmptyKiB = server.rssKiB();
    log(`${server.label}: ready after ${out.coldStartMs.toFixed(0)} ms; loading ${opts.keys} keys`);
    const load = await runLoadgen(
      loadgen,
      [
        '--endpoints', server.endpoint,
        '--op', 'put',
        '--clients', String(opts.clients),
        '--total', String(opts.keys),
        '--key-space', String(opts.keys),
        '--seq-keys',
        '--key-size', String(opts.keySize),
        '--val-size', String(opts.valSize),
        '--warmup', '0s',
        '--deadline', '20m',
        ...server.cpuArgs(),
      ],
      { killAfterMs: 21 * 60_000, server },
    );
    if (load.aborted) throw new BenchError(`${server.label}: load ${load.aborted}`);
    if (load.errors) throw new BenchError(`${server.label}: load had ${load.errors} errors; first: ${load.first_error}`);
    out.load = load;
    out.rssAfterLoadKiB = server.rssKiB();
    log(
      `${server.label}: loaded in ${load.seconds} s (${fmtNum(load.ops_per_sec)} keys/s), RSS ${fmtNum(out.rssAfterLoadKiB / 1024)} MiB`,
    );
    out.keysAfterLoad = await countKeys(loadgen, server);
    out.stopMs = [await server.stop()];
    out.dataDirBytes = dirSizeBytes(server.dataDir);
    for (let i = 0; i < opts.restarts; i++) {
      server = relaunchServer(server);
      const ms = await server.waitReady(loadgen, readyTimeout);
      out.restartsMs.push(ms);
      out.rssAfterRestartKiB.push(server.rssKiB());
      if (i === 0) out.keysAfterRestart = await countKeys(loadgen, server);
      log(`${server.label}: restart ${i + 1}: first linearizable read after ${ms.toFixed(0)} ms`);
      out.stopMs.push(await server.stop());
    }
    out.ok = true;
    return out;
  } finally {
    await server.stop();
    removeTempDir(workDir);
  }
}

function report(opts, runs, info) {
  const labels = runs.map((r) => r.label);
  const compare = runs.length === 2;
  const header = ['metric', ...labels];
  if (compare) header.push(`${labels[1]}/${labels[0]}`);
  const MiB = (k) => (k == null ? null : k / 1024);
  const metrics = [
    ['load throughput, keys/s', (r) => r.load?.ops_per_sec, 0],
    ['load put p50 ms', (r) => r.load?.p50_ms, 2],
    ['load put p99 ms', (r) => r.load?.p99_ms, 2],
    ['load server CPU us/put', (r) => r.load?.server_cpu_us_per_op, 1],
    ['RSS MiB, empty', (r) => MiB(r.rssEmptyKiB), 1],
    [`RSS MiB after loading ${opts.keys} keys`, (r) => MiB(r.rssAfterLoadKiB), 1],
    ['data dir MiB after load', (r) => (r.dataDirBytes == null ? null : r.dataDirBytes / 2 ** 20), 1],
    ['SIGTERM to exit ms (median)', (r) => median(r.stopMs ?? []), 0],
    [`restart to first linearizable read ms (median of ${opts.restarts})`, (r) => median(r.restartsMs ?? []), 0],
    ['RSS MiB after restart (median)', (r) => MiB(median(r.rssAfterRestartKiB ?? [])), 1],
    ['keys after restart', (r) => r.keysAfterRestart, 0],
  ];
  const rows = metrics.map(([name, get, digits]) => {
    const vals = runs.map((r) => (r.ok ? get(r) : null));
    const row = [name, ...vals.map((v) => fmtNum(v, digits))];
    if (compare) row.push(name.startsWith('keys') ? '' : ratio(vals[1], vals[0]));
    return row;
  });
  const lines = [`## Scale benchmark: ${labels.join(' vs ')}`, '', markdownTable(header, rows), ''];
  for (const r of runs) {
    if (!r.ok) lines.push(`**${r.label} did not run:** ${r.error.split('\n')[0]}`, '');
    else if (r.keysAfterRestart !== opts.keys || r.keysAfterLoad !== opts.keys) {
      lines.push(`**${r.label}: expected ${opts.keys} keys, counted ${r.keysAfterLoad} after load and ${r.keysAfterRestart} after restart**`, '');
    }
  }
  lines.push(`- command: \`${commandLine()}\``);
  lines.push(
    `- load: ${opts.keys} distinct keys of ${opts.keySize} B with ${opts.valSize} B values, ${opts.clients} concurrent puts; RSS is VmRSS of the server process and its children; restart = spawn on the same data dir until the first linearizable Range succeeds`,
  );
  for (const r of runs) {
    if (r.ok) lines.push(`- ${r.label} restarts (ms): ${r.restartsMs.map((x) => x.toFixed(0)).join(', ')}`);
  }
  lines.push(
    ...environmentLines(info, runs),
  );
  return lines.join('\n');
}

async function main() {
  installCleanup();
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  if (!Number.isInteger(opts.keys) || opts.keys < 1) throw new BenchError('--keys: positive integer');
  if (!Number.isInteger(opts.restarts) || opts.restarts < 1) throw new BenchError('--restarts: positive integer');
  durationMs(opts.readyTimeout);
  const info = machineInfo();
  const loadgen = buildLoadgen();
  const kinds = serverKinds();
  const runs = [];
  let failed = false;
  for (const key of opts.servers.split(',').map((s) => s.trim())) {
    if (!kinds[key]) throw new BenchError(`unknown server ${key} (etcd, etcd-ts)`);
    try {
      runs.push({ label: kinds[key].label, ...(await scaleServer(key, loadgen, opts)) });
    } catch (e) {
      if (!(e instanceof BenchError)) throw e;
      failed = true;
      log(`FAILED: ${e.message}`);
      runs.push({ label: kinds[key].label, ok: false, error: e.message });
    }
  }
  const md = report(opts, runs, info);
  writeOutputs(md, { info, opts, runs }, opts);
  const wrongCount = runs.some((r) => r.ok && (r.keysAfterRestart !== opts.keys || r.keysAfterLoad !== opts.keys));
  if (failed || wrongCount) {
    process.stderr.write(`\nbench-scale: ${failed ? 'at least one server failed' : 'key count mismatch'}; see above.\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`bench-scale: ${e instanceof BenchError ? e.message : e.stack}\n`);
  process.exit(1);
});
