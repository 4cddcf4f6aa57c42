#!/usr/bin/env node
// Side-by-side watch benchmark: real etcd 3.4 and etcd-ts, each in a fresh
// data dir on free loopback ports, driven by the Go load generator (etcd's
// clientv3). Two cells per server:
//   latency  put-to-event latency of watchers on one key (p50/p99), puts paced
//   fan-out  one put at a time to a key watched by N watchers (default 10,000,
//            on 100 streams and again on one stream each): time until the last
//            watcher has the event, p50/p99 over the puts; plus the server's
//            resident memory with the N watchers idle, against before
// Prints a Markdown table with both servers and the ratio etcd-ts/etcd.
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
} from '../packages/bench/harness/harness.mjs';

const USAGE = `usage: node scripts/bench-watch.mjs [options]

  --servers etcd,etcd-ts  which servers, in this order
  --rounds 1              repeat everything; each value is the median round
  --latency-watchers 1,100  watchers (one stream each) for the latency cells
  --duration 10s --warmup 2s --put-rate 100   latency cells
  --warmup-puts 5000     latency cells: unmeasured back-to-back puts (with the cell's
                          watchers) before each cell, so that a JIT-compiled server is
                          measured warm, as after minutes of service (0: none)
  --fanout-watchers 10000 --fanout-streams 100,10000
  --fanout-conns 0        connections per fan-out cell (0: streams/10, between 1 and 100)
  --fanout-puts 40 --fanout-rate 5            fan-out cells (puts, puts/s)
  --idle 4s               fan-out: idle time with every watcher created (memory is sampled in it)
  --val-size 256
  --ready-timeout 60s
  --out FILE --json FILE

env: ETCD_TS_CMD, ETCD_CMD, BENCH_KEEP_TMP as for bench-kv.mjs
`;

const DEFAULTS = {
  servers: 'etcd,etcd-ts',
  rounds: 1,
  latencyWatchers: '1,100',
  duration: '10s',
  warmup: '2s',
  warmupPuts: 5000,
  putRate: 100,
  fanoutWatchers: 10000,
  fanoutStreams: '100,10000',
  fanoutConns: 0,
  fanoutPuts: 40,
  fanoutRate: 5,
  idle: '4s',
  valSize: 256,
  readyTimeout: '60s',
  out: '',
  json: '',
};

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

async function latencyCell(loadgen, opts, server, watchers) {
  const d = durationMs(opts.duration);
  const w = durationMs(opts.warmup);
  const args = [
    '--endpoints', server.endpoint,
    '--op', 'watch-latency',
    '--clients', String(watchers),
    '--put-rate', String(opts.putRate),
    '--duration', `${d}ms`,
    '--warmup', `${w}ms`,
    '--deadline', `${Math.ceil((d + w) / 1000) + 120}s`,
    '--val-size', String(opts.valSize),
    ...server.cpuArgs(),
  ];
  if (opts.warmupPuts > 0) {
    log(`${server.label}: warm-up, ${opts.warmupPuts} back-to-back puts to ${watchers} watcher(s)`);
    const warm = [
      '--endpoints', server.endpoint,
      '--op', 'watch-latency',
      '--clients', String(watchers),
      '--put-rate', '0',
      '--total', String(opts.warmupPuts),
      '--warmup', '0s',
      '--deadline', '300s',
      '--val-size', String(opts.valSize),
    ];
    const wr = await runLoadgen(loadgen, warm, { killAfterMs: 360_000, server });
    if (wr.aborted) throw new BenchError(`watch-latency warm-up x ${watchers}: ${wr.aborted}`);
  }
  log(`${server.label}: watch latency, ${watchers} watcher(s), ${opts.putRate} puts/s`);
  const r = await runLoadgen(loadgen, args, { killAfterMs: d + w + 180_000, server });
  if (r.aborted) throw new BenchError(`watch-latency x ${watchers}: ${r.aborted}`);
  if (r.errors) log(`  ${r.errors} errors; first: ${r.first_error}`);
  log(`  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms (the puts: p50 ${r.put_p50_ms} ms p99 ${r.put_p99_ms} ms)  server ${r.server_cpu_us_per_op} us/event`);
  return r;
}

function fanoutConns(opts, streams) {
  return opts.fanoutConns > 0 ? opts.fanoutConns : Math.max(1, Math.min(100, Math.ceil(streams / 10)));
}

async function fanoutCell(loadgen, opts, server, streams) {
  const idleMs = durationMs(opts.idle);
  const args = [
    '--endpoints', server.endpoint,
    '--op', 'watch-fanout',
    '--clients', String(opts.fanoutWatchers),
    '--streams', String(streams),
    '--conns', String(fanoutConns(opts, streams)),
    '--total', String(opts.fanoutPuts),
    '--put-rate', String(opts.fanoutRate),
    '--idle', `${idleMs}ms`,
    '--val-size', String(opts.valSize),
    '--deadline', '15m',
    ...server.cpuArgs(),
  ];
  log(`${server.label}: fan-out to ${opts.fanoutWatchers} watchers on ${streams} streams`);
  const rssBefore = server.rssKiB();
  let idleSample;
  const r = await runLoadgen(loadgen, args, {
    killAfterMs: 20 * 60_000,
    server,
    onStderr: (line) => {
      // Sampled well into the idle period, once creation garbage had a chance to go.
      if (/watchers idle for/.test(line)) idleSample = delay(Math.max(0, idleMs - 1000)).then(() => server.rssKiB());
    },
  });
  const rssIdle = idleSample ? await idleSample : undefined;
  if (r.aborted) throw new BenchError(`watch-fanout: ${r.aborted}`);
  if (r.errors) log(`  ${r.errors} errors; first: ${r.first_error}`);
  r.rss_before_kib = rssBefore;
  r.rss_idle_kib = rssIdle;
  log(
    `  all reached: p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms; one event: p50 ${r.event_p50_ms} ms p99 ${r.event_p99_ms} ms; ` +
      `server ${fmtNum(r.server_cpu_us_per_op / 1000, 1)} ms CPU/put; RSS ${fmtNum(rssBefore / 1024, 1)} -> ${fmtNum((rssIdle ?? NaN) / 1024, 1)} MiB`,
  );
  return r;
}

async function runServer(key, loadgen, opts) {
  const server = await launchServer(key);
  log(`${server.label}: pid ${server.pid}, ${server.argv.join(' ')}`);
  try {
    const readyMs = await server.waitReady(loadgen, durationMs(opts.readyTimeout));
    log(`${server.label}: ready after ${readyMs.toFixed(0)} ms`);
    const results = {};
    for (const n of opts.latencyWatchers) results[`latency/${n}`] = await latencyCell(loadgen, opts, server, n);
    for (const streams of opts.fanoutStreams) results[`fanout/${streams}`] = await fanoutCell(loadgen, opts, server, streams);
    return { label: server.label, ok: true, results, argv: server.argv };
  } finally {
    await server.stop();
    removeTempDir(server.workDir);
  }
}

function median(xs) {
  const v = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
}

function report(opts, rounds, info) {
  const servers = rounds[0].map((r) => r.label);
  const pick = (i, cell, field) => median(rounds.map((runs) => runs[i]?.results?.[cell]?.[field]));
  const compare = servers.length === 2;
  const header = ['cell', 'metric', ...servers];
  if (compare) header.push(`${servers[1]}/${servers[0]}`);
  const rows = [];
  const add = (cell, metric, values, digits = 2) => {
    const row = [cell, metric, ...values.map((v) => fmtNum(v, digits))];
    if (compare) row.push(ratio(values[1], values[0]));
    rows.push(row);
  };
  for (const n of opts.latencyWatchers) {
    const cell = `latency/${n}`;
    const label = `watch latency, ${n} watcher${n === 1 ? '' : 's'} (own streams), ${opts.putRate} puts/s`;
    add(label, 'put to event p50 ms', servers.map((_, i) => pick(i, cell, 'p50_ms')));
    add(label, 'put to event p99 ms', servers.map((_, i) => pick(i, cell, 'p99_ms')));
    add(label, 'put request to response p50 ms', servers.map((_, i) => pick(i, cell, 'put_p50_ms')));
    add(label, 'put request to response p99 ms', servers.map((_, i) => pick(i, cell, 'put_p99_ms')));
    add(label, 'server CPU us/event', servers.map((_, i) => pick(i, cell, 'server_cpu_us_per_op')), 1);
    add(label, 'errors (undelivered)', servers.map((_, i) => pick(i, cell, 'errors') ?? 0), 0);
  }
  for (const streams of opts.fanoutStreams) {
    const cell = `fanout/${streams}`;
    const f = `fan-out, ${opts.fanoutWatchers} watchers of one key on ${streams} stream${streams === 1 ? '' : 's'} / ${fanoutConns(opts, streams)} conns`;
    add(f, 'put to last watcher p50 ms', servers.map((_, i) => pick(i, cell, 'p50_ms')));
    add(f, 'put to last watcher p99 ms', servers.map((_, i) => pick(i, cell, 'p99_ms')));
    add(f, 'put to one watcher p50 ms', servers.map((_, i) => pick(i, cell, 'event_p50_ms')));
    add(f, 'put to one watcher p99 ms', servers.map((_, i) => pick(i, cell, 'event_p99_ms')));
    add(f, 'put request to response p50 ms', servers.map((_, i) => pick(i, cell, 'put_p50_ms')));
    add(f, 'server CPU ms/put', servers.map((_, i) => (pick(i, cell, 'server_cpu_us_per_op') ?? NaN) / 1000), 1);
    add(f, 'create all watchers ms', servers.map((_, i) => pick(i, cell, 'create_ms')), 0);
    add(f, 'errors (undelivered)', servers.map((_, i) => pick(i, cell, 'errors') ?? 0), 0);
    const rssB = servers.map((_, i) => (pick(i, cell, 'rss_before_kib') ?? NaN) / 1024);
    const rssI = servers.map((_, i) => (pick(i, cell, 'rss_idle_kib') ?? NaN) / 1024);
    add(f, 'server RSS MiB before the watchers', rssB, 1);
    add(f, `server RSS MiB, ${opts.fanoutWatchers} idle watchers`, rssI, 1);
    add(f, 'RSS MiB added by the idle watchers', rssI.map((x, i) => x - rssB[i]), 1);
  }
  const lines = [
    `## Watch benchmark: ${servers.join(' vs ')}`,
    '',
    markdownTable(header, rows, 2),
    '',
  ];
  for (const runs of rounds) for (const r of runs) if (!r.ok) lines.push(`**${r.label} did not run:** ${r.error.split('\n')[0]}`, '');
  lines.push(
    `- command: \`${commandLine()}\``,
    `- ${opts.rounds} round(s), one server at a time; values are medians over rounds. Latency cells: ${opts.warmupPuts > 0 ? `${opts.warmupPuts} back-to-back puts, then ` : ''}${opts.warmup} warmup + ${opts.duration} measured, value ${opts.valSize} B. Fan-out: ${opts.fanoutPuts} measured puts (after 5 unmeasured), each sent once the previous one reached every watcher, at most ${opts.fanoutRate}/s; RSS sampled ${opts.idle} into an idle period with every watcher created (server process and children)`,
    `- load generator: Go clientv3 3.4, on the same machine (its CPU competes with the server's)`,
    `- machine: ${info.nproc} CPUs (${info.cpu}), ${info.memGiB} GiB RAM, ${info.kernel}, load average at start ${info.loadavg}`,
    `- etcd ${info.etcd}; node ${info.node}; date ${info.date}`,
  );
  for (const r of rounds[0]) if (r.argv) lines.push(`- ${r.label}: \`${r.argv.join(' ')}\``);
  return lines.join('\n');
}

async function main() {
  installCleanup();
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  opts.latencyWatchers = String(opts.latencyWatchers).split(',').map(Number).filter((n) => n > 0);
  opts.fanoutStreams = String(opts.fanoutStreams).split(',').map(Number).filter((n) => n > 0);
  for (const d of [opts.duration, opts.warmup, opts.idle, opts.readyTimeout]) durationMs(d);
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new BenchError('--rounds: positive integer');
  const kindKeys = opts.servers.split(',').map((x) => x.trim()).filter(Boolean);
  for (const key of kindKeys) if (!serverKinds()[key]) throw new BenchError(`unknown server ${key} (etcd, etcd-ts)`);
  const info = machineInfo();
  const loadgen = buildLoadgen();
  const rounds = [];
  let failed = false;
  for (let round = 0; round < opts.rounds; round++) {
    if (opts.rounds > 1) log(`round ${round + 1} of ${opts.rounds}`);
    const runs = [];
    for (const key of round % 2 === 0 ? kindKeys : [...kindKeys].reverse()) {
      try {
        runs.push(await runServer(key, loadgen, opts));
      } catch (e) {
        if (!(e instanceof BenchError)) throw e;
        log(`FAILED: ${e.message}`);
        runs.push({ label: serverKinds()[key].label, ok: false, error: e.message });
        failed = true;
      }
    }
    // Keep the column order of --servers in every round.
    rounds.push(kindKeys.map((k) => runs.find((r) => r.label === serverKinds()[k].label)));
  }
  const md = report(opts, rounds, info);
  writeOutputs(md, { info, opts, rounds }, opts);
  if (failed) process.exit(1);
}

main().catch((e) => {
  process.stderr.write(`bench-watch: ${e instanceof BenchError ? e.message : e.stack}\n`);
  process.exit(1);
});
