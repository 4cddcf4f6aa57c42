#!/usr/bin/env node
// Client benchmark: @etcd-ts/client against the etcd3 npm client, both
// talking to the same server (etcd-ts or real etcd 3.4). Each client runs in
// its own child process (this script with --child) so the two never share an
// event loop; the parent spawns the server, prefills the keys and writes the
// watch events with a bare gRPC KV stub. Cells: put and linearizable get with
// 64 requests in flight, and the event rate of one prefix watcher.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  BenchError,
  commandLine,
  durationMs,
  environmentLines,
  fmtNum,
  installCleanup,
  launchServer,
  log,
  machineInfo,
  markdownTable,
  parseArgs,
  ratio,
  removeTempDir,
  serverKinds,
  writeOutputs,
} from '../packages/bench/harness/harness.mjs';

const SCRIPT = fileURLToPath(import.meta.url);
const requireTest = createRequire(new URL('../test/package.json', import.meta.url));
const requireApi = createRequire(new URL('../packages/api/package.json', import.meta.url));
const OUR_CLIENT = new URL('../packages/client/dist/src/index.js', import.meta.url);
const OUR_CLIENT_SRC = new URL('../packages/client/src/index.ts', import.meta.url);
const API = new URL('../packages/api/dist/src/index.js', import.meta.url);

const CLIENTS = ['etcd-ts', 'etcd3'];
const CLIENT_LABELS = { 'etcd-ts': 'etcd-ts client', etcd3: 'etcd3 client' };
const WATCH_PREFIX = 'bench-watch/';

const USAGE = `usage: node scripts/bench-client.mjs [options]

  --server etcd-ts      server to spawn: etcd-ts or etcd (real etcd 3.4)
  --servers etcd-ts,etcd  several servers, one after the other
  --endpoints h:p,...   instead of spawning a server, use this one
  --duration 10s        measured time of a put or get cell
  --warmup 2s           unmeasured load before it
  --concurrency 64      requests in flight (async loops over one client)
  --key-size 16 --val-size 256 --key-space 10000
  --events 50000        watch: events written under one prefix, measured
  --watch-warmup 5000   watch: events written before, unmeasured (0: none)
  --txn-ops 128         watch: puts per Txn of the writer (etcd's limit: 128)
  --writers 16          watch: Txns of the writer in flight
  --cells put,get,watch
  --clients etcd-ts,etcd3   which clients to run
  --rounds 3            rounds per server; each cell runs on each client
                        back to back, order reversed every other round;
                        values: the round with the median throughput
  --child-node-options "--cpu-prof --cpu-prof-dir=DIR"
                        node options of the client processes (profiling)
  --client-src          load @etcd-ts/client from its TypeScript sources (tsx)
                        instead of dist: for development, not for numbers
  --ready-timeout 60s
  --out FILE            also write the Markdown report to FILE
  --json FILE           also write the raw results to FILE

clients: etcd-ts = @etcd-ts/client from packages/client/dist (build it first);
         etcd3 = the etcd3 npm package installed for test/
env: ETCD_TS_CMD, ETCD_CMD, BENCH_TMPDIR, BENCH_KEEP_TMP as for bench-kv.mjs
`;

const DEFAULTS = {
  server: '',
  servers: 'etcd-ts',
  endpoints: '',
  duration: '10s',
  warmup: '2s',
  concurrency: 64,
  keySize: 16,
  valSize: 256,
  keySpace: 10000,
  events: 50000,
  watchWarmup: 5000,
  txnOps: 128,
  writers: 16,
  cells: 'put,get,watch',
  clients: 'etcd-ts,etcd3',
  rounds: 3,
  childNodeOptions: '',
  clientSrc: false,
  readyTimeout: '60s',
  out: '',
  json: '',
};

const wallMs = () => performance.timeOrigin + performance.now();

/** Key i of the put/get key space: exactly keySize bytes. */
function benchKey(i, keySize) {
  const digits = String(i);
  return `k${digits.padStart(Math.max(keySize - 1, digits.length), '0')}`;
}

function watchKey(i) {
  return `${WATCH_PREFIX}${String(i).padStart(8, '0')}`;
}

// ---------------------------------------------------------------------------
// child: one client, driven over IPC
// ---------------------------------------------------------------------------

/**
 * The two clients behind one interface, each used the way its docs show.
 * watch(prefix, onEvent(key: Buffer, modRevision: number, isPut), onError)
 * resolves once the server confirmed the watch, with a function that cancels it.
 */
async function makeAdapter(kind, endpoints, fromSource) {
  if (kind === 'etcd-ts') {
    const { Client } = await import((fromSource ? OUR_CLIENT_SRC : OUR_CLIENT).href);
    const client = new Client({ endpoints });
    return {
      put: (k, v) => client.put(k, v),
      get: (k) => client.get(k).string(),
      async watch(prefix, onEvent, onError) {
        const watcher = client.watch(prefix, { prefix: true });
        watcher.on('put', (ev) => onEvent(ev.kv.key, ev.kv.modRevision, true));
        watcher.on('delete', (ev) => onEvent(ev.kv.key, ev.kv.modRevision, false));
        watcher.on('error', onError);
        await watcher.created;
        return () => watcher.close();
      },
      close: () => client.close(),
    };
  }
  if (kind === 'etcd3') {
    const { Etcd3 } = requireTest('etcd3');
    const client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
    return {
      put: (k, v) => client.put(k).value(v),
      get: (k) => client.get(k).string(),
      async watch(prefix, onEvent, onError) {
        const watcher = await client.watch().prefix(prefix).create();
        watcher.on('put', (kv) => onEvent(kv.key, Number(kv.mod_revision), true));
        watcher.on('delete', (kv) => onEvent(kv.key, Number(kv.mod_revision), false));
        watcher.on('error', onError);
        return () => watcher.cancel();
      },
      close: async () => client.close(),
    };
  }
  throw new BenchError(`unknown client ${kind}`);
}

/** `concurrency` loops of `fn(key)`, warmup then a measured window. */
async function loadCell(fn, o) {
  const hdr = requireTest('hdr-histogram-js');
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const keys = Array.from({ length: o.keySpace }, (_, i) => benchKey(i, o.keySize));
  let measuring = false;
  let stopped = false;
  let ops = 0;
  let errors = 0;
  let firstError;
  let cpu0;
  let cpu1;
  let t0;
  let t1;
  const startTimer = setTimeout(() => {
    t0 = performance.now();
    cpu0 = process.cpuUsage();
    measuring = true;
  }, o.warmupMs);
  const stopTimer = setTimeout(() => {
    t1 = performance.now();
    cpu1 = process.cpuUsage(cpu0);
    measuring = false;
    stopped = true;
  }, o.warmupMs + o.durationMs);
  const loop = async () => {
    while (!stopped) {
      const counted = measuring;
      const start = performance.now();
      const key = keys[(Math.random() * keys.length) | 0];
      let ok = true;
      try {
        await fn(key);
      } catch (e) {
        ok = false;
        if (counted) {
          errors++;
          firstError ??= String(e?.message ?? e).split('\n')[0];
        }
      }
      if (counted && measuring && ok) {
        ops++;
        hist.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, loop));
  } finally {
    clearTimeout(startTimer);
    clearTimeout(stopTimer);
  }
  const seconds = (t1 - t0) / 1000;
  const cpuUs = cpu1.user + cpu1.system;
  return {
    ops,
    seconds,
    ops_per_sec: ops / seconds,
    p50_ms: hist.getValueAtPercentile(50) / 1000,
    p90_ms: hist.getValueAtPercentile(90) / 1000,
    p99_ms: hist.getValueAtPercentile(99) / 1000,
    max_ms: hist.maxValue / 1000,
    client_cpu_us_per_op: ops ? cpuUs / ops : null,
    client_cpu_pct: (cpuUs / 1e6 / seconds) * 100,
    errors,
    first_error: firstError,
  };
}

/**
 * One watcher on WATCH_PREFIX expecting n PUT events of keys 0..n-1. Checks
 * every event arrives exactly once, in (revision, key) order, and returns the
 * runs of one revision each so the writer can check them against its Txns.
 */
async function watchCell(adapter, n, send, onWritten) {
  const prefixLen = Buffer.byteLength(WATCH_PREFIX);
  const seen = new Uint8Array(n);
  const runs = []; // [revision, first key index, count]
  let received = 0;
  let problem;
  let prevRev = -1;
  let prevIdx = -1;
  let tFirst;
  let tLast;
  let cpu0;
  let cpu1;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const fail = (msg) => {
    problem ??= msg;
    finish();
  };
  const onEvent = (key, rev, isPut) => {
    const now = wallMs();
    if (received === 0) tFirst = now;
    const idx = Number(key.toString('latin1', prefixLen));
    if (!isPut) return fail(`unexpected DELETE event for ${key}`);
    if (!(idx >= 0 && idx < n) || !Number.isInteger(idx)) return fail(`unexpected key ${key}`);
    if (seen[idx]) return fail(`event for key ${idx} delivered twice`);
    seen[idx] = 1;
    if (rev < prevRev || (rev === prevRev && idx !== prevIdx + 1)) {
      return fail(`out of order: key ${idx} at revision ${rev} after key ${prevIdx} at revision ${prevRev}`);
    }
    if (rev !== prevRev) runs.push([rev, idx, 0]);
    runs[runs.length - 1][2]++;
    prevRev = rev;
    prevIdx = idx;
    received++;
    if (received === n) {
      tLast = now;
      cpu1 = process.cpuUsage(cpu0);
      finish();
    }
  };
  const cancel = await adapter.watch(WATCH_PREFIX, onEvent, (e) => fail(`watch error: ${e?.message ?? e}`));
  cpu0 = process.cpuUsage();
  send({ type: 'watching' });
  // Once the writer is done, every event must arrive within the grace period.
  let graceTimer;
  onWritten((graceMs) => {
    graceTimer = setTimeout(() => fail(`only ${received} of ${n} events within ${graceMs} ms of the last write`), graceMs);
  });
  await done;
  clearTimeout(graceTimer);
  await cancel();
  if (problem) return { ok: false, error: problem, received };
  const seconds = (tLast - tFirst) / 1000;
  const cpuUs = cpu1.user + cpu1.system;
  return {
    ok: true,
    received,
    first_event_wall_ms: tFirst,
    last_event_wall_ms: tLast,
    seconds,
    events_per_sec: seconds > 0 ? (n - 1) / seconds : null,
    client_cpu_us_per_event: cpuUs / n,
    runs,
  };
}

async function childMain() {
  const send = (m) => process.send(m);
  process.on('disconnect', () => process.exit(2));
  let adapter;
  let writtenHandler;
  let writtenGrace;
  const onWritten = (fn) => {
    if (writtenGrace != null) fn(writtenGrace);
    else writtenHandler = fn;
  };
  process.on('message', async (m) => {
    try {
      if (m.type === 'start') {
        adapter = await makeAdapter(m.client, m.endpoints, m.clientSrc);
        // One call so the connection is up before any cell.
        await adapter.get(benchKey(0, m.opts.keySize));
        send({ type: 'started' });
      } else if (m.type === 'load') {
        const fn = m.cell === 'put' ? (() => {
          const value = 'v'.repeat(m.opts.valSize);
          return (k) => adapter.put(k, value);
        })() : (k) => adapter.get(k);
        send({ type: 'result', result: await loadCell(fn, m.opts) });
      } else if (m.type === 'watch') {
        writtenHandler = undefined;
        writtenGrace = undefined;
        send({ type: 'result', result: await watchCell(adapter, m.n, send, onWritten) });
      } else if (m.type === 'written') {
        writtenGrace = m.graceMs;
        writtenHandler?.(m.graceMs);
      } else if (m.type === 'exit') {
        await adapter?.close();
        process.exit(0);
      }
    } catch (e) {
      send({ type: 'error', error: String(e?.stack ?? e) });
    }
  });
  send({ type: 'hello' });
}

// ---------------------------------------------------------------------------
// parent: server, writer, orchestration, report
// ---------------------------------------------------------------------------

const children = new Set();

/** A forked client process and a queue of its messages. */
class ClientProcess {
  constructor(kind, opts) {
    this.kind = kind;
    const execArgv = opts.childNodeOptions ? opts.childNodeOptions.split(/\s+/).filter(Boolean) : [];
    if (opts.clientSrc) execArgv.push('--import', 'tsx');
    this.proc = fork(SCRIPT, ['--child'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.proc);
    this.queue = [];
    this.waiters = [];
    this.exited = null;
    this.proc.on('message', (m) => {
      const w = this.waiters.shift();
      if (w) w.resolve(m);
      else this.queue.push(m);
    });
    this.proc.on('exit', (code, signal) => {
      children.delete(this.proc);
      this.exited = signal ? `signal ${signal}` : `exit code ${code}`;
      for (const w of this.waiters.splice(0)) w.reject(new BenchError(`${kind} client process exited (${this.exited})`));
    });
  }

  send(m) {
    this.proc.send(m);
  }

  /** Next message of the given type; an 'error' message or a timeout rejects. */
  async next(type, timeoutMs) {
    const m = await new Promise((resolve, reject) => {
      if (this.queue.length) return resolve(this.queue.shift());
      if (this.exited) return reject(new BenchError(`${this.kind} client process exited (${this.exited})`));
      const w = { resolve, reject };
      this.waiters.push(w);
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new BenchError(`${this.kind} client: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const { resolve: res, reject: rej } = w;
      w.resolve = (x) => (clearTimeout(w.timer), res(x));
      w.reject = (x) => (clearTimeout(w.timer), rej(x));
    });
    if (m.type === 'error') throw new BenchError(`${this.kind} client: ${m.error}`);
    if (m.type !== type) throw new BenchError(`${this.kind} client: expected '${type}', got '${m.type}'`);
    return m;
  }

  async stop() {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.send({ type: 'exit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
}

function killChildren() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Bare gRPC KV stub (the writer): prefill, watch events, readiness. */
async function makeWriter(endpoint) {
  const grpc = requireApi('@grpc/grpc-js');
  const { KVService } = await import(API.href);
  const KV = grpc.makeGenericClientConstructor(KVService, 'KV');
  const kv = new KV(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 16 << 20,
    'grpc.max_receive_message_length': 16 << 20,
    'grpc.use_local_subchannel_pool': 1,
  });
  const unary = (method, req, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      kv[method](req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(new BenchError(`writer ${method}: ${err.message}`)) : resolve(res),
      );
    });
  return {
    range: (req, timeoutMs) => unary('range', req, timeoutMs),
    txn: (req) => unary('txn', req),
    /**
     * Puts keys key(0..n-1) with `value`, txnOps puts per Txn, `writers` Txns
     * in flight. Returns the wall-clock span and every Txn's [revision, first, count].
     */
    async putAll(n, key, value, { txnOps, writers }) {
      const txns = [];
      let next = 0;
      const start = wallMs();
      const worker = async () => {
        while (next < n) {
          const first = next;
          const count = Math.min(txnOps, n - first);
          next += count;
          const success = [];
          for (let i = first; i < first + count; i++) success.push({ requestPut: { key: Buffer.from(key(i)), value } });
          const res = await unary('txn', { success });
          txns.push([res.header.revision, first, count]);
        }
      };
      await Promise.all(Array.from({ length: writers }, worker));
      return { start, end: wallMs(), txns };
    },
    close: () => kv.close(),
  };
}

async function waitReady(server, writer, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let lastErr;
  while (performance.now() < deadline) {
    if (server?.exited) break;
    try {
      await writer.range({ key: Buffer.from('ready') }, 2000);
      return;
    } catch (e) {
      lastErr = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const why = server?.exited ? `exited: ${server.exited}` : lastErr?.message ?? 'timeout';
  throw new BenchError(
    `${server?.label ?? 'endpoint'} did not serve a read (${why})${server ? `\ncommand: ${server.argv.join(' ')}\n${server.logTail()}` : ''}`,
  );
}

function checkRuns(written, got, n) {
  const expected = [...written.txns].sort((a, b) => a[0] - b[0]);
  if (expected.length !== got.length) return `${got.length} revisions seen, ${expected.length} Txns written`;
  for (let i = 0; i < expected.length; i++) {
    const [er, ef, ec] = expected[i];
    const [gr, gf, gc] = got[i];
    if (er !== gr || ef !== gf || ec !== gc) {
      return `revision ${gr} carried keys ${gf}..${gf + gc - 1}; the writer's Txn at revision ${er} wrote ${ef}..${ef + ec - 1}`;
    }
  }
  const total = got.reduce((s, r) => s + r[2], 0);
  return total === n ? null : `${total} events, expected ${n}`;
}

async function runWatch(cp, writer, n, opts) {
  cp.send({ type: 'watch', n });
  await cp.next('watching', 30_000);
  const value = Buffer.alloc(opts.valSize, 'w');
  const written = await writer.putAll(n, watchKey, value, opts);
  cp.send({ type: 'written', graceMs: 60_000 });
  const { result } = await cp.next('result', 120_000);
  if (!result.ok) return { ...result, errors: 1, first_error: result.error };
  const bad = checkRuns(written, result.runs, n);
  if (bad) return { ok: false, errors: 1, first_error: bad };
  const writeSeconds = (written.end - written.start) / 1000;
  return {
    events: n,
    seconds: result.seconds,
    events_per_sec: result.events_per_sec,
    client_cpu_us_per_event: result.client_cpu_us_per_event,
    writer_events_per_sec: n / writeSeconds,
    last_event_after_last_write_ms: result.last_event_wall_ms - written.end,
    first_event_after_first_write_ms: result.first_event_wall_ms - written.start,
    revisions: result.runs.length,
    errors: 0,
  };
}

async function runCell(cp, cell, writer, opts) {
  if (cell === 'watch') {
    if (opts.watchWarmup > 0) {
      const w = await runWatch(cp, writer, opts.watchWarmup, opts);
      if (w.errors) return w;
    }
    return runWatch(cp, writer, opts.events, opts);
  }
  const loadOpts = {
    warmupMs: durationMs(opts.warmup),
    durationMs: durationMs(opts.duration),
    concurrency: opts.concurrency,
    keySize: opts.keySize,
    valSize: opts.valSize,
    keySpace: opts.keySpace,
  };
  cp.send({ type: 'load', cell, opts: loadOpts });
  const { result } = await cp.next('result', loadOpts.warmupMs + loadOpts.durationMs + 120_000);
  return result;
}

function describe(cell, r) {
  if (r.errors && r.ops_per_sec == null && r.events_per_sec == null) return `FAILED: ${r.first_error}`;
  const errs = r.errors ? `  ${r.errors} errors, first: ${r.first_error}` : '';
  if (cell === 'watch') {
    return `${fmtNum(r.events_per_sec)} events/s  client ${fmtNum(r.client_cpu_us_per_event, 2)} us/event  writer ${fmtNum(r.writer_events_per_sec)} events/s  last event ${fmtNum(r.last_event_after_last_write_ms)} ms after the last write${errs}`;
  }
  return `${fmtNum(r.ops_per_sec)} ops/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms  client ${fmtNum(r.client_cpu_us_per_op)} us/op (${fmtNum(r.client_cpu_pct, 0)}% of a core)${errs}`;
}

/** All rounds against one server (spawned, or --endpoints). */
async function benchServer(kindKey, opts) {
  let server = null;
  let endpoints;
  if (kindKey) {
    server = await launchServer(kindKey);
    log(`${server.label}: pid ${server.pid}, ${server.argv.join(' ')}`);
    endpoints = [server.endpoint];
  } else {
    endpoints = opts.endpoints.split(',').map((s) => s.trim()).filter(Boolean);
  }
  const label = server?.label ?? opts.endpoints;
  const writer = await makeWriter(endpoints[0]);
  const rounds = [];
  try {
    await waitReady(server, writer, durationMs(opts.readyTimeout));
    log(`${label}: ready; prefilling ${opts.keySpace} keys`);
    await writer.putAll(opts.keySpace, (i) => benchKey(i, opts.keySize), Buffer.alloc(opts.valSize, 'v'), opts);
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 1 ? [...opts.clients].reverse() : opts.clients;
      log(`${label}: round ${round + 1} of ${opts.rounds} (${order.join(', ')})`);
      const procs = {};
      const results = Object.fromEntries(CLIENTS.map((c) => [c, {}]));
      try {
        for (const c of order) {
          procs[c] = new ClientProcess(c, opts);
          await procs[c].next('hello', 30_000);
          procs[c].send({ type: 'start', client: c, endpoints, clientSrc: opts.clientSrc, opts: { keySize: opts.keySize } });
          await procs[c].next('started', 30_000);
        }
        for (const cell of opts.cells) {
          for (const c of order) {
            if (server?.exited) throw new BenchError(`${server.label} exited (${server.exited})\n${server.logTail()}`);
            const r = await runCell(procs[c], cell, writer, opts);
            results[c][cell] = r;
            log(`  ${cell} ${CLIENT_LABELS[c]}: ${describe(cell, r)}`);
          }
        }
      } finally {
        await Promise.all(Object.values(procs).map((p) => p.stop()));
      }
      rounds.push(results);
    }
  } finally {
    writer.close();
    if (server) {
      await server.stop();
      removeTempDir(server.workDir);
    }
  }
  return { key: kindKey, label, argv: server?.argv, rounds };
}

// ---- report ----

const CELL_LABELS = (opts) => ({
  put: `put, ${opts.concurrency} in flight`,
  get: `get (linearizable), ${opts.concurrency} in flight`,
  watch: `watch, 1 prefix watcher, ${opts.events.toLocaleString('en-US')} events`,
});

// [metric, field, digits, ratio?]
const METRICS = {
  put: [
    ['ops/s', 'ops_per_sec', 0, true],
    ['p50 ms', 'p50_ms', 2, true],
    ['p99 ms', 'p99_ms', 2, true],
    ['client CPU us/op', 'client_cpu_us_per_op', 1, true],
  ],
  watch: [
    ['events/s received', 'events_per_sec', 0, true],
    ['client CPU us/event', 'client_cpu_us_per_event', 2, true],
    ['writer events/s (committed)', 'writer_events_per_sec', 0, false],
    ['last event after the last write ms', 'last_event_after_last_write_ms', 1, false],
  ],
};
METRICS.get = METRICS.put;
const PRIMARY = { put: 'ops_per_sec', get: 'ops_per_sec', watch: 'events_per_sec' };

function median(xs) {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The round with the median primary metric (lower median for an even count). */
function medianRound(results) {
  const ok = results.filter((r) => r && !r.errors && r[PRIMARY[r.cell]] != null);
  if (!ok.length) return results.find(Boolean);
  ok.sort((a, b) => a[PRIMARY[a.cell]] - b[PRIMARY[b.cell]]);
  return ok[Math.floor((ok.length - 1) / 2)];
}

function report(opts, servers, info) {
  const cellLabels = CELL_LABELS(opts);
  const header = ['server', 'cell', 'metric', CLIENT_LABELS['etcd-ts'], CLIENT_LABELS.etcd3, 'etcd-ts client/etcd3 client'];
  const rows = [];
  for (const s of servers) {
    for (const cell of opts.cells) {
      const per = Object.fromEntries(
        CLIENTS.map((c) => [c, medianRound(s.rounds.map((r) => r[c]?.[cell] && { ...r[c][cell], cell }))]),
      );
      for (const [name, field, digits, withRatio] of METRICS[cell]) {
        const ours = per['etcd-ts']?.[field];
        const theirs = per.etcd3?.[field];
        // Ratio: median over rounds of each round's pair (measured back to back).
        const paired = median(
          s.rounds.map((r) => {
            const a = r['etcd-ts']?.[cell];
            const b = r.etcd3?.[cell];
            return a && b && !a.errors && !b.errors && b[field] ? a[field] / b[field] : null;
          }),
        );
        const rat = !withRatio ? '' : paired != null && s.rounds.length > 1 ? `${paired.toFixed(2)}x` : ratio(ours, theirs);
        rows.push([s.label, cellLabels[cell], name, fmtNum(ours, digits), fmtNum(theirs, digits), rat]);
      }
      const errs = CLIENTS.map((c) => s.rounds.reduce((sum, r) => sum + (r[c]?.[cell]?.errors ?? 0), 0));
      if (errs.some(Boolean)) {
        rows.push([s.label, cellLabels[cell], 'errors (all rounds)', String(errs[0]), String(errs[1]), '']);
      }
    }
  }
  const lines = [
    '## Client: @etcd-ts/client against the etcd3 npm client',
    '',
    markdownTable(header, rows, 3),
    '',
    `- command: \`${commandLine()}\``,
    `- ${opts.rounds} round(s) per server; each cell runs on both clients back to back (etcd-ts client first, order reversed every other round); values: the round with the median throughput per client; ratios: ${opts.rounds > 1 ? 'median of the per-round ratios' : 'etcd-ts client / etcd3 client'}; above 1 is better for throughput, below 1 for latency and CPU`,
    `- each client in its own Node process (one client object, default options); put/get: ${opts.concurrency} async loops, ${opts.warmup} warmup + ${opts.duration} measured, key ${opts.keySize} B over a key space of ${opts.keySpace} (prefilled), value ${opts.valSize} B; client CPU = user + system time of the client process over the window`,
    `- watch: one watcher on a prefix; a bare gRPC KV stub in a third process writes ${opts.events.toLocaleString('en-US')} keys (${opts.watchWarmup.toLocaleString('en-US')} unmeasured before), ${opts.txnOps} puts per Txn, ${opts.writers} Txns in flight, values ${opts.valSize} B; events/s from the first to the last event received; every event checked to arrive once, in revision order, matching the writer's Txns`,
    `- clients: @etcd-ts/client (packages/client/dist), etcd3 ${requireTest('etcd3/package.json').version}; both on @grpc/grpc-js ${requireTest('@grpc/grpc-js/package.json').version}`,
  ];
  const env = environmentLines(
    info,
    servers.map((s) => ({ label: s.label, argv: s.argv })),
  ).map((l) => (l.startsWith(`- etcd ${info.etcd};`) ? `- etcd ${info.etcd}; node ${info.node}` : l));
  lines.push(...env);
  return lines.join('\n');
}

async function main() {
  installCleanup();
  process.on('exit', killChildren);
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  opts.cells = opts.cells.split(',').map((s) => s.trim()).filter(Boolean);
  opts.clients = CLIENTS.filter((c) => opts.clients.split(',').map((s) => s.trim()).includes(c));
  if (!opts.clients.length) throw new BenchError('--clients: etcd-ts and/or etcd3');
  for (const c of opts.cells) if (!['put', 'get', 'watch'].includes(c)) throw new BenchError(`unknown cell ${c}`);
  for (const d of [opts.duration, opts.warmup, opts.readyTimeout]) durationMs(d);
  for (const k of ['rounds', 'concurrency', 'events', 'txnOps', 'writers', 'keySpace', 'keySize', 'valSize']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new BenchError(`--${k}: positive integer`);
  }
  if (!Number.isInteger(opts.watchWarmup) || opts.watchWarmup < 0) throw new BenchError('--watch-warmup: integer >= 0');
  const kindKeys = opts.endpoints ? [null] : (opts.server || opts.servers).split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kindKeys) if (k && !serverKinds()[k]) throw new BenchError(`unknown server ${k} (etcd-ts, etcd)`);
  const info = machineInfo();
  const servers = [];
  let failed = false;
  for (const k of kindKeys) {
    try {
      servers.push(await benchServer(k, opts));
    } catch (e) {
      if (!(e instanceof BenchError)) throw e;
      log(`FAILED: ${e.message}`);
      failed = true;
    }
  }
  const md = report(opts, servers, info);
  writeOutputs(md, { info, opts, servers }, opts);
  if (failed) {
    process.stderr.write('\nbench-client: a server failed; see above.\n');
    process.exit(1);
  }
}

if (process.argv[2] === '--child') {
  childMain().catch((e) => {
    process.stderr.write(`bench-client child: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`bench-client: ${e instanceof BenchError ? e.message : e.stack}\n`);
    process.exit(1);
  });
}

