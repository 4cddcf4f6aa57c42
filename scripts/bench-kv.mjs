#!/usr/bin/env node
// Side-by-side KV benchmark: real etcd 3.4 and etcd-ts on this machine, each
// as one member or as a cluster of --members members in fresh data dirs on
// free loopback ports, driven by the Go load generator
// (packages/bench/go/loadgen). Prints a Markdown table with both servers and
// the ratio etcd-ts/etcd per row.
import {
  BenchError,
  Cluster,
  buildLoadgen,
  commandLine,
  durationMs,
  fmtNum,
  installCleanup,
  launchCluster,
  launchServer,
  log,
  processCpuSeconds,
  machineInfo,
  markdownTable,
  parseArgs,
  ratio,
  removeTempDir,
  runLoadgen,
  serverKinds,
  treePids,
  writeOutputs,
  environmentLines,
} from '../packages/bench/harness/harness.mjs';

const USAGE = `usage: node scripts/bench-kv.mjs [options]

  --duration 10s        measured time per cell
  --warmup 2s           unmeasured load before each cell
  --ops put,range       any of put, range, watch-latency
  --clients 1,64        concurrency levels (watchers for watch-latency)
  --servers etcd,etcd-ts  which servers to spawn, in this order
  --members 1           members per server: 3 spawns a 3-member cluster of
                        each (all on 127.0.0.1); the load generator uses all
                        members' endpoints
  --balance rr          several endpoints: rr = every connection holds all
                        endpoints and requests rotate over them (clientv3
                        with several endpoints); conn = connection i uses
                        endpoint i mod n (etcd's benchmark tool)
  --endpoints h:p,...   instead of spawning servers, bench this endpoint list
  --key-size 16 --val-size 256 --key-space 10000
  --consistency l       range consistency: l or s
  --put-rate 100        watch-latency: puts per second
  --rounds 1            repeat the whole server sequence (order reversed
                        every other round); each cell reports the round with
                        the median ops/s
  --interleave          start all servers together and run each cell on each
                        server back to back (order alternating per round):
                        compared numbers are measured seconds apart, which
                        matters on a shared machine
  --idle-sample 3s      CPU of each server, idle, right after start-up
                        (0 to skip); with --interleave all at once
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
  members: 1,
  balance: 'rr',
  endpoints: '',
  keySize: 16,
  valSize: 256,
  keySpace: 10000,
  consistency: 'l',
  putRate: 100,
  readyTimeout: '60s',
  rounds: 1,
  interleave: false,
  idleSample: '3s',
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
    '--balance', opts.balance,
  ];
  if (op === 'range') args.push('--consistency', opts.consistency);
  if (opts.raw && op !== 'watch-latency') args.push('--raw');
  if (op === 'watch-latency') args.push('--put-rate', String(opts.putRate));
  return { args, killAfterMs: d + w + 120_000 };
}

const pct = (secs, window) => (secs != null && window > 0 ? (secs / window) * 100 : undefined);

// Adds CPU shares (% of one core over the measured window) to a result: other
// user-space processes (the other, idle server with --interleave; other users
// of the machine), the rest of the machine's busy time (kernel threads and
// interrupts, e.g. loopback networking and the file system journal, plus
// processes that exited during the window), and for a cluster each member's, the
// leader's (as reported before the cell) and the followers' mean.
function annotateCpu(r, server, before, after) {
  if (r.machine_cpu_s != null && r.server_cpu_s != null) {
    const others = r.other_procs_cpu_s ?? 0;
    r.other_procs_cpu_pct = pct(others, r.seconds);
    r.kernel_cpu_pct = Math.max(0, pct(r.machine_cpu_s - r.server_cpu_s - (r.loadgen_cpu_s ?? 0) - others, r.seconds) ?? 0);
  }
  if (!(server instanceof Cluster)) return;
  const cpu = server.cpuByMember(r);
  r.member_cpu_pct = Object.fromEntries(server.members.map((m, i) => [m.name, pct(cpu[i], r.seconds)]));
  r.leader = before.leaderName;
  r.leader_changed = before.leaderIndex < 0 || before.leaderIndex !== after.leaderIndex || before.term !== after.term;
  r.revision = after.revision;
  if (before.leaderIndex >= 0) {
    r.leader_cpu_pct = pct(cpu[before.leaderIndex], r.seconds);
    const followers = cpu.filter((_, i) => i !== before.leaderIndex);
    r.follower_cpu_pct = pct(followers.reduce((a, b) => a + b, 0) / followers.length, r.seconds);
  }
}

async function runCell(loadgen, opts, endpoint, server, op, clients) {
  const { args, killAfterMs } = cellArgs(opts, endpoint, op, clients);
  const before = server instanceof Cluster ? await server.status(loadgen) : null;
  if (server) args.push(...server.cpuArgs());
  log(`${server?.label ?? endpoint}: ${op} x ${clients} clients${before ? ` (leader ${before.leaderName ?? '?'}, term ${before.term})` : ''}`);
  const r = await runLoadgen(loadgen, args, { killAfterMs, server });
  if (r.aborted) throw new BenchError(`${op} x ${clients}: ${r.aborted}`);
  const after = server instanceof Cluster ? await server.status(loadgen) : null;
  annotateCpu(r, server, before, after);
  if (r.errors) log(`  ${r.errors} errors; first: ${r.first_error}`);
  const cpu = r.server_cpu_us_per_op ? `  server ${r.server_cpu_us_per_op} us/op` : '';
  log(`  ${fmtNum(r.ops_per_sec)} ops/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms${cpu}  loadgen ${r.loadgen_cpu_us_per_op} us/op`);
  if (r.member_cpu_pct) {
    const each = Object.entries(r.member_cpu_pct)
      .map(([name, v]) => `${name}${name === r.leader ? '*' : ''} ${fmtNum(v, 0)}%`)
      .join(' ');
    log(
      `  CPU % of a core: ${each}  loadgen ${fmtNum(pct(r.loadgen_cpu_s, r.seconds), 0)}%  other processes ${fmtNum(r.other_procs_cpu_pct, 0)}%  kernel/rest ${fmtNum(r.kernel_cpu_pct, 0)}%`,
    );
  }
  if (r.leader_changed) log(`  leader or term changed during the cell (before ${before.leaderName}/${before.term}, after ${after.leaderName}/${after.term})`);
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
  const server = opts.members > 1 ? await launchCluster(kindKey, opts.members) : await launchServer(kindKey);
  if (server instanceof Cluster) {
    for (const m of server.members) log(`${m.label}: pid ${m.pid}, ${m.argv.join(' ')}`);
  } else {
    log(`${server.label}: pid ${server.pid}, ${server.argv.join(' ')}`);
  }
  try {
    const readyMs = await server.waitReady(loadgen, durationMs(opts.readyTimeout));
    let extra = '';
    if (server instanceof Cluster) {
      const st = await server.status(loadgen);
      extra = `, leader ${st.leaderName ?? 'unknown'} (term ${st.term})`;
    }
    log(`${server.label}: ready after ${readyMs.toFixed(0)} ms${extra}`);
    return { server, readyMs, rssStartKiB: server.rssKiB() };
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

function serverCpuSeconds(server) {
  if (server instanceof Cluster) return server.cpuSecondsNow().reduce((a, b) => a + b, 0);
  return treePids(server.pid).reduce((sum, p) => sum + processCpuSeconds(p), 0);
}

// CPU of idle servers (% of one core, sum of members) over --idle-sample,
// all given servers sampled over the same window.
async function sampleIdleCpu(servers, opts) {
  const ms = opts.idleSample === '0' ? 0 : durationMs(opts.idleSample);
  if (!ms || servers.length === 0) return servers.map(() => undefined);
  const t0 = performance.now();
  const c0 = servers.map(serverCpuSeconds);
  await new Promise((r) => setTimeout(r, ms));
  const secs = (performance.now() - t0) / 1000;
  const out = servers.map((s, i) => ((serverCpuSeconds(s) - c0[i]) / secs) * 100);
  servers.forEach((s, i) => log(`${s.label}: idle CPU ${out[i].toFixed(1)}% of a core`));
  return out;
}

function serverRun(s) {
  const run = {
    label: s.server.label,
    ok: true,
    readyMs: s.readyMs,
    rssStartKiB: s.rssStartKiB,
    idleCpuPct: s.idleCpuPct,
    rssKiB: s.server.rssKiB(),
    argv: s.server.argv,
  };
  if (s.server instanceof Cluster) {
    run.members = s.server.members.map((m) => ({ name: m.name, argv: m.argv }));
    run.rssByMemberKiB = s.server.rssByMemberKiB();
  }
  return run;
}

function failure(label, e) {
  if (!(e instanceof BenchError)) throw e;
  log(`FAILED: ${e.message}`);
  return { label, ok: false, error: e.message };
}

// One server at a time: start, whole matrix, stop; the order of the servers
// is reversed every other round. Returns one round, in kindKeys order.
async function sequentialRound(kindKeys, loadgen, opts, round) {
  const kinds = serverKinds();
  const byKey = new Map();
  const order = round % 2 === 1 ? [...kindKeys].reverse() : kindKeys;
  for (const key of order) {
    try {
      const started = await startReady(key, loadgen, opts);
      const { server } = started;
      try {
        [started.idleCpuPct] = await sampleIdleCpu([server], opts);
        const results = await runMatrix(loadgen, opts, server.endpoint, server);
        byKey.set(key, { ...serverRun(started), results });
      } finally {
        await stopAndClean(server);
      }
    } catch (e) {
      byKey.set(key, failure(kinds[key].label, e));
    }
  }
  return kindKeys.map((k) => byKey.get(k));
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
    const idle = await sampleIdleCpu(started.map((s) => s.server), opts);
    started.forEach((s, i) => (s.idleCpuPct = idle[i]));
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
      const byKey = new Map(started.map((s, i) => [s.key, s.error ?? { ...serverRun(s), results: results[i] }]));
      for (const f of failed) byKey.set(f.key, f.run);
      rounds.push(kindKeys.map((k) => byKey.get(k)));
    }
    return rounds;
  } finally {
    for (const s of started) await stopAndClean(s.server);
  }
}

// Per server and cell, keeps the result of the round with the median ops/s
// (lower median for an even count); start-up time, idle CPU and RSS likewise
// (members' RSS from the round with the median sum).
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
    const rssRun = pick(okRuns, (r) => r.rssKiB);
    return {
      ...okRuns[0],
      ...(failedRun ? { ok: false, error: failedRun.error } : {}),
      results,
      readyMs: pick(okRuns.map((r) => r.readyMs), (x) => x),
      rssStartKiB: pick(okRuns.map((r) => r.rssStartKiB), (x) => x),
      idleCpuPct: pick(okRuns.map((r) => r.idleCpuPct), (x) => x),
      rssKiB: rssRun.rssKiB,
      rssByMemberKiB: rssRun.rssByMemberKiB,
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

// Clusters: where the server CPU went (% of one core over the window).
const CLUSTER_METRICS = [
  ['leader CPU % of a core', 'leader_cpu_pct', 0],
  ['follower CPU % of a core (mean of followers)', 'follower_cpu_pct', 0],
];

// Everything else busy on the machine during the window (see annotateCpu):
// context for the other rows, so no ratio.
const MACHINE_METRICS = [
  ['other processes CPU % of a core', 'other_procs_cpu_pct', 0, false],
  ['kernel and unattributed CPU % of a core', 'kernel_cpu_pct', 0, false],
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
  const cluster = opts.members > 1 && !opts.endpoints;
  const metrics = [...METRICS, ...(cluster ? CLUSTER_METRICS : []), ...MACHINE_METRICS];
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
      for (const [name, field, digits, withRatio = true] of metrics) {
        const vals = runs.map((r) => r.results?.[key]?.[field]);
        if (vals.every((v) => v == null)) continue;
        const row = [opLabel, clients, name, ...vals.map((v) => fmtNum(v, digits))];
        if (compare) row.push(withRatio ? pairedRatio(rounds, key, field, ratio(vals[1], vals[0])) : '');
        rows.push(row);
      }
      const errs = runs.map((r) => r.results?.[key]?.errors);
      if (errs.some((e) => e)) {
        const row = [opLabel, clients, 'errors', ...errs.map((e) => (e == null ? 'n/a' : String(e)))];
        if (compare) row.push('');
        rows.push(row);
      }
      // Rounds (not only the median one) in which the leader or term changed.
      const changes = runs.map((_, i) => rounds.filter((rs) => rs[i]?.results?.[key]?.leader_changed).length);
      if (cluster && changes.some((n) => n)) {
        const row = [opLabel, clients, 'rounds with a leader change', ...changes.map(String)];
        if (compare) row.push('');
        rows.push(row);
      }
    }
  }
  const extra = [];
  const addExtra = (what, metric, vals, digits) => {
    const row = [what, '-', metric, ...vals.map((v) => fmtNum(v, digits))];
    if (compare) row.push(ratio(vals[1], vals[0]));
    extra.push(row);
  };
  const mib = (k) => (k ? k / 1024 : null);
  if (runs.some((r) => r.readyMs != null)) {
    addExtra(
      'startup',
      cluster ? 'spawn to every member serving a read ms (empty)' : 'spawn to first read ms (empty)',
      runs.map((r) => r.readyMs),
      0,
    );
    if (runs.some((r) => r.idleCpuPct != null)) {
      addExtra('idle', `CPU % of a core, idle after start${cluster ? ' (sum of members)' : ''}`, runs.map((r) => r.idleCpuPct), 1);
    }
    if (cluster) addExtra('memory', 'RSS MiB after start (sum of members)', runs.map((r) => mib(r.rssStartKiB)), 1);
    addExtra('memory', `RSS MiB after the matrix${cluster ? ' (sum of members)' : ''}`, runs.map((r) => mib(r.rssKiB)), 1);
  }
  const lines = [
    `## KV benchmark${cluster ? `, ${opts.members}-member clusters` : ''}: ${labels.join(' vs ')}`,
    '',
    markdownTable(header, [...rows, ...extra], 3),
    '',
  ];
  for (const r of runs) {
    if (!r.ok) lines.push(`**${r.label} did not run:** ${r.error.split('\n')[0]}`, '');
  }
  const spread = opts.balance === 'rr'
    ? 'each connection holds every endpoint and rotates its requests over them'
    : 'connection i uses endpoint i mod n';
  lines.push(
    `- command: \`${commandLine()}\``,
    `- ${opts.rounds} round(s)${opts.rounds > 1 ? ' (values: the round with the median ops/s per server; ratios: median of per-round ratios)' : ''}, ${opts.interleave ? 'servers running together, cells alternating between them (order reversed every other round)' : `one server at a time${opts.rounds > 1 ? ', order reversed every other round' : ''}`}; each cell: ${opts.warmup} warmup + ${opts.duration} measured; key ${opts.keySize} B, value ${opts.valSize} B, key space ${opts.keySpace}; range cells prefill the key space first; connections = ceil(clients/16)${cluster || opts.endpoints.includes(',') ? ` (${spread})` : ''}; client: ${opts.raw ? 'bare gRPC KV stub' : 'clientv3'}`,
  );
  lines.push(
    `- CPU % of a core = CPU seconds in the measured window / window length x 100 (the machine has ${info.nproc * 100}%); other processes: user-space processes besides the server under test, the load generator and this script${opts.interleave ? ' (includes the other, idle server: see the idle row)' : ''}; kernel and unattributed: the rest of the machine's busy time (interrupts, loopback networking, file system journal threads, processes that exited during the window)`,
  );
  if (cluster) {
    lines.push(
      `- clusters: ${opts.members} members each on 127.0.0.1, own data dir and ports per member, --initial-cluster-state new; leader and followers as reported by Maintenance.Status before each cell`,
    );
    for (const r of runs) {
      if (!r.rssByMemberKiB) continue;
      const last = rounds.at(-1)?.[runs.indexOf(r)];
      const rev = last?.results ? Math.max(0, ...Object.values(last.results).map((x) => x?.revision ?? 0)) : 0;
      lines.push(
        `- ${r.label} members' RSS MiB after the matrix: ${r.rssByMemberKiB.map((k) => fmtNum(k / 1024, 1)).join(', ')}${rev ? `; revision after the last round: ${rev.toLocaleString('en-US')}` : ''}`,
      );
    }
  }
  lines.push(...environmentLines(info, runs));
  if (cluster) {
    lines.push(`- the other members differ from m1 only in --name, ports and data dir`);
  }
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
  if (!Number.isInteger(opts.members) || opts.members < 1) throw new BenchError('--members: positive integer');
  if (!['rr', 'conn'].includes(opts.balance)) throw new BenchError('--balance: rr or conn');
  if (opts.idleSample !== '0') durationMs(opts.idleSample);
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
      const runs = await sequentialRound(kindKeys, loadgen, opts, round);
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
