#!/usr/bin/env node
// Side-by-side KV benchmark: real etcd 3.4 and etcd-ts, one after the other on
// this machine, each in a fresh data dir on free loopback ports, driven by the
// Go load generator (packages/bench/go/loadgen). Prints a Markdown table with
// both servers and the ratio etcd-ts/etcd per row.
import {
  BenchError,
  buildLoadgen,
  commandLine,
  durationMs,
  fmtNum,
  installCleanup,
  launchServer,
  log,
  machineInfo,
  markdownTable,
  parseArgs,
  ratio,
  removeTempDir,
  runLoadgen,
  serverKinds,
  writeOutputs,
  environmentLines,
} from '../packages/bench/harness/harness.mjs';

const USAGE = `usage: node scripts/bench-kv.mjs [options]

  --duration 10s        measured time per cell
  --warmup 2s           unmeasured load before each cell
  --ops put,range       any of put, range, watch-latency
  --clients 1,64        concurrency levels (watchers for watch-latency)
  --servers etcd,etcd-ts  which servers to spawn, in this order
  --endpoints h:p,...   instead of spawning servers, bench this endpoint list
  --key-size 16 --val-size 256 --key-space 10000
  --consistency l       range consistency: l or s
  --put-rate 100        watch-latency: puts per second
  --rounds 1           repeat the whole server sequence, interleaved; each
                        cell reports the round with the median ops/s
  --interleave         start all servers together and run each cell on each
                        server back to back (order alternating per round):
                        compared numbers are measured seconds apart, which
                        matters on a shared machine
  --raw                 put/range through the bare gRPC KV stub instead of
                        clientv3 (cheaper load generator, no client retries)
  --ready-timeout 60s   how long a server may take to serve its first read
  --out FILE            also write the Markdown report to FILE
  --json FILE           also write the raw results to FILE

env: ETCD_TS_CMD  command for etcd-ts (default: node packages/server/bin/etcd-ts.js);
                  the etcd flags are appended unless it contains placeholders
                  {name} {dataDir} {clientPort} {peerPort} {clientUrl} {peerUrl}
     ETCD_CMD     command for real etcd (default /usr/bin/etcd), same rules
     BENCH_KEEP_TMP=1  keep data dirs and server logs
`;

const DEFAULTS = {
  duration: '10s',
  warmup: '2s',
  ops: 'put,range',
  clients: '1,64',
  servers: 'etcd,etcd-ts',
  endpoints: '',
  keySize: 16,
  valSize: 256,
  keySpace: 10000,
  consistency: 'l',
  putRate: 100,
  readyTimeout: '60s',
  rounds: 1,
  interleave: false,
  raw: false,
  out: '',
  json: '',
};

function cellArgs(opts, endpoint, op, clients) {
  const d = durationMs(opts.duration);
  const w = durationMs(opts.warmup);
  const args = [
    '--endpoints', endpoint,
    '--op', op,
    '--clients', String(clients),
    '--duration', `${d}ms`,
    '--warmup', `${w}ms`,
    '--deadline', `${Math.ceil((d + w) / 1000) + 90}s`,
    '--key-size', String(opts.keySize),
    '--val-size', String(opts.valSize),
    '--key-space', String(opts.keySpace),
  ];
  if (op === 'range') args.push('--consistency', opts.consistency);
  if (opts.raw && op !== 'watch-latency') args.push('--raw');
  if (op === 'watch-latency') args.push('--put-rate', String(opts.putRate));
  return { args, killAfterMs: d + w + 120_000 };
}

async function runCell(loadgen, opts, endpoint, server, op, clients) {
  const { args, killAfterMs } = cellArgs(opts, endpoint, op, clients);
  if (server) args.push(...server.cpuArgs());
  log(`${server?.label ?? endpoint}: ${op} x ${clients} clients`);
  const r = await runLoadgen(loadgen, args, { killAfterMs, server });
  if (r.aborted) throw new BenchError(`${op} x ${clients}: ${r.aborted}`);
  if (r.errors) log(`  ${r.errors} errors; first: ${r.first_error}`);
  const cpu = r.server_cpu_us_per_op ? `  server ${r.server_cpu_us_per_op} us/op` : '';
  log(`  ${fmtNum(r.ops_per_sec)} ops/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms${cpu}  loadgen ${r.loadgen_cpu_us_per_op} us/op`);
  return r;
}

async function runMatrix(loadgen, opts, endpoint, server) {
  const results = {};
  for (const op of opts.ops) {
    for (const clients of opts.clients) {
      results[`${op}/${clients}`] = await runCell(loadgen, opts, endpoint, server, op, clients);
    }
  }
  return results;
}

async function startReady(kindKey, loadgen, opts) {
  const server = await launchServer(kindKey);
  log(`${server.label}: pid ${server.pid}, ${server.argv.join(' ')}`);
  try {
    const readyMs = await server.waitReady(loadgen, durationMs(opts.readyTimeout));
    log(`${server.label}: ready after ${readyMs.toFixed(0)} ms`);
    return { server, readyMs };
  } catch (e) {
    await server.stop();
    removeTempDir(server.workDir);
    throw e;
  }
}

async function stopAndClean(server) {
  await server.stop();
  removeTempDir(server.workDir);
}

function failure(label, e) {
  if (!(e instanceof BenchError)) throw e;
  log(`FAILED: ${e.message}`);
  return { label, ok: false, error: e.message };
}

// One server at a time: start, whole matrix, stop. Returns one round.
async function sequentialRound(kindKeys, loadgen, opts) {
  const kinds = serverKinds();
  const runs = [];
  for (const key of kindKeys) {
    try {
      const { server, readyMs } = await startReady(key, loadgen, opts);
      try {
        const results = await runMatrix(loadgen, opts, server.endpoint, server);
        runs.push({ label: server.label, ok: true, results, readyMs, rssKiB: server.rssKiB(), argv: server.argv });
      } finally {
        await stopAndClean(server);
      }
    } catch (e) {
      runs.push(failure(kinds[key].label, e));
    }
  }
  return runs;
}

// All servers up at once; each cell runs on every server back to back, the
// server order reversed every other round, so a pair of compared numbers is
// measured within seconds of each other. Returns all rounds.
async function interleavedRounds(kindKeys, loadgen, opts) {
  const kinds = serverKinds();
  const started = [];
  const failed = [];
  try {
    for (const key of kindKeys) {
      try {
        started.push({ key, ...(await startReady(key, loadgen, opts)) });
      } catch (e) {
        failed.push({ key, run: failure(kinds[key].label, e) });
      }
    }
    const rounds = [];
    for (let round = 0; round < opts.rounds; round++) {
      if (opts.rounds > 1) log(`round ${round + 1} of ${opts.rounds}`);
      const results = started.map(() => ({}));
      for (const op of opts.ops) {
        for (const clients of opts.clients) {
          const order = started.map((_, i) => i);
          if (round % 2 === 1) order.reverse();
          for (const i of order) {
            const s = started[i];
            if (s.error) continue;
            try {
              results[i][`${op}/${clients}`] = await runCell(loadgen, opts, s.server.endpoint, s.server, op, clients);
            } catch (e) {
              s.error = failure(s.server.label, e);
            }
          }
        }
      }
      const byKey = new Map(
        started.map((s, i) => [
          s.key,
          s.error ?? {
            label: s.server.label,
            ok: true,
            results: results[i],
            readyMs: s.readyMs,
            rssKiB: s.server.rssKiB(),
            argv: s.server.argv,
          },
        ]),
      );
      for (const f of failed) byKey.set(f.key, f.run);
      rounds.push(kindKeys.map((k) => byKey.get(k)));
    }
    return rounds;
  } finally {
    for (const s of started) await stopAndClean(s.server);
  }
}

// Per server and cell, keeps the result of the round with the median ops/s
// (lower median for an even count); start-up time and RSS likewise.
function medianRuns(rounds, opts) {
  const pick = (values, score) => {
    const xs = values.filter((v) => v != null).sort((a, b) => score(a) - score(b));
    return xs.length ? xs[Math.floor((xs.length - 1) / 2)] : undefined;
  };
  return rounds[0].map((first, i) => {
    const all = rounds.map((runs) => runs[i]).filter(Boolean);
    const okRuns = all.filter((r) => r.ok);
    if (okRuns.length === 0) return all[all.length - 1];
    const results = {};
    for (const op of opts.ops) {
      for (const clients of opts.clients) {
        const key = `${op}/${clients}`;
        results[key] = pick(okRuns.map((r) => r.results[key]), (r) => r.ops_per_sec);
      }
    }
    const failedRun = all.find((r) => !r.ok);
    return {
      ...okRuns[0],
      ...(failedRun ? { ok: false, error: failedRun.error } : {}),
      results,
      readyMs: pick(okRuns.map((r) => r.readyMs), (x) => x),
      rssKiB: pick(okRuns.map((r) => r.rssKiB), (x) => x),
    };
  });
}

const METRICS = [
  ['ops/s', 'ops_per_sec', 0],
  ['p50 ms', 'p50_ms', 2],
  ['p90 ms', 'p90_ms', 2],
  ['p99 ms', 'p99_ms', 2],
  ['max ms', 'max_ms', 2],
  ['server CPU us/op', 'server_cpu_us_per_op', 1],
  ['loadgen CPU us/op', 'loadgen_cpu_us_per_op', 1],
];

// With several rounds the ratio column is the median of the per-round ratios
// (each round's pair of numbers was measured close together), not the ratio
// of the two medians.
function pairedRatio(rounds, key, field, fallback) {
  const xs = rounds
    .map((runs) => [runs[0]?.results?.[key]?.[field], runs[1]?.results?.[key]?.[field]])
    .filter(([a, b]) => a != null && b != null && a !== 0)
    .map(([a, b]) => b / a)
    .sort((a, b) => a - b);
  if (rounds.length < 2 || xs.length === 0) return fallback;
  const m = Math.floor(xs.length / 2);
  const med = xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  return `${med.toFixed(2)}x`;
}

function report(opts, runs, info, rounds) {
  const labels = runs.map((r) => r.label);
  const compare = runs.length === 2;
  const header = ['op', 'clients', 'metric', ...labels];
  if (compare) header.push(`${labels[1]}/${labels[0]}`);
  const rows = [];
  for (const op of opts.ops) {
    for (const clients of opts.clients) {
      const key = `${op}/${clients}`;
      const opLabel =
        op === 'range'
          ? `range (${opts.consistency === 'l' ? 'linearizable' : 'serializable'})`
          : op === 'watch-latency'
            ? `watch (watchers; ${opts.putRate} puts/s; events/s)`
            : op;
      for (const [name, field, digits] of METRICS) {
        const vals = runs.map((r) => r.results?.[key]?.[field]);
        const row = [opLabel, clients, name, ...vals.map((v) => fmtNum(v, digits))];
        if (compare) row.push(pairedRatio(rounds, key, field, ratio(vals[1], vals[0])));
        rows.push(row);
      }
      const errs = runs.map((r) => r.results?.[key]?.errors);
      if (errs.some((e) => e)) {
        const row = [opLabel, clients, 'errors', ...errs.map((e) => (e == null ? 'n/a' : String(e)))];
        if (compare) row.push('');
        rows.push(row);
      }
    }
  }
  const extra = [];
  if (runs.some((r) => r.readyMs != null)) {
    const vals = runs.map((r) => r.readyMs);
    const row = ['startup', '-', 'spawn to first read ms (empty)', ...vals.map((v) => fmtNum(v, 0))];
    if (compare) row.push(ratio(vals[1], vals[0]));
    extra.push(row);
    const rss = runs.map((r) => (r.rssKiB ? r.rssKiB / 1024 : null));
    const row2 = ['memory', '-', 'RSS MiB after the matrix', ...rss.map((v) => fmtNum(v, 1))];
    if (compare) row2.push(ratio(rss[1], rss[0]));
    extra.push(row2);
  }
  const lines = [
    `## KV benchmark: ${labels.join(' vs ')}`,
    '',
    markdownTable(header, [...rows, ...extra], 3),
    '',
  ];
  for (const r of runs) {
    if (!r.ok) lines.push(`**${r.label} did not run:** ${r.error.split('\n')[0]}`, '');
  }
  lines.push(
    `- command: \`${commandLine()}\``,
    `- ${opts.rounds} round(s)${opts.rounds > 1 ? ' (values: the round with the median ops/s per server; ratios: median of per-round ratios)' : ''}, ${opts.interleave ? 'servers running together, cells alternating between them' : 'one server at a time'}; each cell: ${opts.warmup} warmup + ${opts.duration} measured; key ${opts.keySize} B, value ${opts.valSize} B, key space ${opts.keySpace}; range cells prefill the key space first; connections = ceil(clients/16); client: ${opts.raw ? 'bare gRPC KV stub' : 'clientv3'}`,
    ...environmentLines(info, runs),
  );
  return lines.join('\n');
}

async function main() {
  installCleanup();
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  opts.ops = opts.ops.split(',').map((s) => s.trim()).filter(Boolean);
  opts.clients = opts.clients.split(',').map(Number);
  for (const op of opts.ops) {
    if (!['put', 'range', 'watch-latency'].includes(op)) throw new BenchError(`unknown op ${op}`);
  }
  if (opts.clients.some((c) => !Number.isInteger(c) || c < 1)) throw new BenchError('--clients: positive integers');
  for (const d of [opts.duration, opts.warmup, opts.readyTimeout]) durationMs(d);
  if (!['l', 's'].includes(opts.consistency)) throw new BenchError('--consistency: l or s');
  const info = machineInfo();
  const loadgen = buildLoadgen();
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new BenchError('--rounds: positive integer');
  const kindKeys = opts.servers.split(',').map((x) => x.trim()).filter(Boolean);
  for (const key of kindKeys) {
    if (!serverKinds()[key]) throw new BenchError(`unknown server ${key} (etcd, etcd-ts)`);
  }
  // rounds[i] holds one result per server (or one for --endpoints).
  let rounds = [];
  if (opts.endpoints) {
    for (let round = 0; round < opts.rounds; round++) {
      if (opts.rounds > 1) log(`round ${round + 1} of ${opts.rounds}`);
      rounds.push([{ label: opts.endpoints, ok: true, results: await runMatrix(loadgen, opts, opts.endpoints, null) }]);
    }
  } else if (opts.interleave) {
    rounds = await interleavedRounds(kindKeys, loadgen, opts);
  } else {
    for (let round = 0; round < opts.rounds; round++) {
      if (opts.rounds > 1) log(`round ${round + 1} of ${opts.rounds}`);
      const runs = await sequentialRound(kindKeys, loadgen, opts);
      rounds.push(runs);
      if (runs.some((r) => !r.ok)) break;
    }
  }
  const failed = rounds.some((runs) => runs.some((r) => !r.ok));
  const runs = medianRuns(rounds, opts);
  const md = report(opts, runs, info, rounds);
  writeOutputs(md, { info, opts, rounds }, opts);
  if (failed) {
    process.stderr.write(`\nbench-kv: at least one server failed; see above.\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`bench-kv: ${e instanceof BenchError ? e.message : e.stack}\n`);
  process.exit(1);
});
