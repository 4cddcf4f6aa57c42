// Process harness shared by the bench scripts: builds the Go load generator,
// spawns real etcd or etcd-ts (one member, or a cluster of several) on free
// loopback ports in temp data dirs, waits for readiness, samples RSS and CPU,
// and tears everything down by PID on every exit path.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export class BenchError extends Error {}

// ---- cleanup: every child and temp dir is registered and released on exit ----

// pid -> true when the child leads its own process group (servers: wrappers
// such as `sh -c` or package-manager shims must not leave orphans behind).
const liveChildren = new Map();
const tempDirs = new Set();
let cleanupInstalled = false;

function killChild(pid, group, signal) {
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    // already gone
  }
}

function cleanupSync() {
  for (const [pid, group] of liveChildren) killChild(pid, group, 'SIGKILL');
  liveChildren.clear();
  if (process.env.BENCH_KEEP_TMP) return;
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

export function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`${sig}: stopping children`);
      cleanupSync();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    cleanupSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    cleanupSync();
    process.exit(1);
  });
}

export function makeTempDir(label) {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_TMPDIR || os.tmpdir(), `etcd-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  if (!process.env.BENCH_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// ---- ports ----

const handedOut = new Set();

export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new BenchError('could not find a free port');
}

// ---- load generator ----

export function buildLoadgen() {
  const script = path.join(ROOT, 'scripts/bench-build-loadgen.sh');
  log('building the Go load generator');
  const r = spawnSync(script, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new BenchError(`load generator build failed (${script})`);
  return r.stdout.trim().split('\n').pop();
}

/**
 * Runs the load generator and resolves with its JSON result line. The run is
 * bounded twice: the loadgen's own --deadline and a kill timer here.
 * onStderr, if given, sees each line the load generator writes to stderr.
 */
export function runLoadgen(bin, args, { killAfterMs = 600_000, server, onStderr } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.set(child.pid, false);
    let out = '';
    let err = '';
    let serverDied = null;
    child.stdout.on('data', (d) => (out += d));
    let partial = '';
    child.stderr.on('data', (d) => {
      if (onStderr) {
        const lines = (partial + d).split('\n');
        partial = lines.pop();
        for (const l of lines) onStderr(l);
      }
      err += d;
      if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
    });
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, killAfterMs);
    const onServerExit = (desc) => {
      serverDied = desc;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    };
    server?.onExit(onServerExit);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BenchError(`cannot run ${bin}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child.pid);
      server?.offExit(onServerExit);
      if (serverDied) {
        reject(new BenchError(`${server.label} exited during the run (${serverDied})\n${server.logTail()}`));
        return;
      }
      const line = out.trim().split('\n').filter(Boolean).pop();
      let json = null;
      try {
        json = line ? JSON.parse(line) : null;
      } catch {
        json = null;
      }
      if (!json || (code !== 0 && code !== 3)) {
        reject(
          new BenchError(
            `loadgen ${args.join(' ')} failed (exit ${code ?? signal})\n${err.trim().split('\n').slice(-15).join('\n')}`,
          ),
        );
        return;
      }
      resolve(json);
    });
  });
}

// ---- servers ----

function splitCommand(s) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/**
 * The two servers under test. `cmd` is the program and its leading arguments;
 * the etcd flags are appended unless the override contains {placeholders}
 * ({name} {dataDir} {clientPort} {peerPort} {clientUrl} {peerUrl}
 * {initialCluster} {initialClusterToken}), in which case it is used as written.
 */
export function serverKinds() {
  return {
    etcd: {
      label: 'etcd 3.4',
      cmd: process.env.ETCD_CMD || process.env.ETCD_BIN || '/usr/bin/etcd',
      extra: ['--logger', 'zap', '--log-level', 'error'],
    },
    'etcd-ts': {
      label: 'etcd-ts',
      cmd: process.env.ETCD_TS_CMD || `node ${path.join(ROOT, 'packages/server/bin/etcd-ts.js')}`,
      extra: ['--log-level', 'error'],
    },
  };
}

const PLACEHOLDER = /\{(name|dataDir|clientPort|peerPort|clientUrl|peerUrl|initialCluster|initialClusterToken)\}/;

export function hasPlaceholders(kind) {
  return PLACEHOLDER.test(kind.cmd);
}

/**
 * The command line of one member. `initialCluster` (name=peerUrl,...) and
 * `initialClusterToken` are given for members of a multi-member cluster; a
 * single server bootstraps a cluster of itself.
 */
export function serverArgv(kind, { name, dataDir, clientPort, peerPort, initialCluster, initialClusterToken }) {
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const vars = {
    name,
    dataDir,
    clientPort,
    peerPort,
    clientUrl,
    peerUrl,
    initialCluster: initialCluster ?? `${name}=${peerUrl}`,
    initialClusterToken: initialClusterToken ?? 'etcd-cluster',
  };
  const words = splitCommand(kind.cmd);
  if (hasPlaceholders(kind)) {
    return words.map((w) => w.replace(/\{(\w+)\}/g, (all, k) => (k in vars ? String(vars[k]) : all)));
  }
  return [
    ...words,
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', vars.initialCluster,
    ...(initialCluster ? ['--initial-cluster-state', 'new', '--initial-cluster-token', vars.initialClusterToken] : []),
    ...kind.extra,
  ];
}

function nowUnixNs() {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** A spawned server process with its log file. */
export class ServerProcess {
  constructor(kindKey, kind, { name = 'bench', dataDir, clientPort, peerPort, logFile, initialCluster, initialClusterToken }) {
    this.kindKey = kindKey;
    this.kind = kind;
    this.label = kind.label;
    this.name = name;
    this.initialCluster = initialCluster;
    this.initialClusterToken = initialClusterToken;
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.endpoint = `127.0.0.1:${clientPort}`;
    this.logFile = logFile;
    this.exitListeners = new Set();
    this.exited = null;
  }

  start() {
    this.argv = serverArgv(this.kind, {
      name: this.name,
      dataDir: this.dataDir,
      clientPort: this.clientPort,
      peerPort: this.peerPort,
      initialCluster: this.initialCluster,
      initialClusterToken: this.initialClusterToken,
    });
    const fd = fs.openSync(this.logFile, 'a');
    this.spawnedAtNs = nowUnixNs();
    this.spawnedAt = performance.now();
    this.child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    this.exited = null;
    this.exitPromise = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.exited = `spawn error: ${e.message}`;
        for (const l of this.exitListeners) l(this.exited);
        resolve(this.exited);
      });
      this.child.on('exit', (code, signal) => {
        // Whatever else is left in the group (children of a wrapper) goes too.
        killChild(this.child.pid, true, 'SIGKILL');
        liveChildren.delete(this.child.pid);
        this.exited = signal ? `signal ${signal}` : `exit code ${code}`;
        for (const l of this.exitListeners) l(this.exited);
        resolve(this.exited);
      });
    });
    if (this.child.pid) liveChildren.set(this.child.pid, true);
    this.pid = this.child.pid;
    return this;
  }

  onExit(fn) {
    if (this.exited) fn(this.exited);
    else this.exitListeners.add(fn);
  }

  offExit(fn) {
    this.exitListeners.delete(fn);
  }

  logTail(lines = 20) {
    try {
      const text = fs.readFileSync(this.logFile, 'utf8').trimEnd();
      if (!text) return `(no output in ${this.logFile})`;
      return `last lines of ${this.logFile}:\n${text.split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logFile})`;
    }
  }

  /**
   * Polls with linearizable Ranges until one succeeds; resolves with the time
   * from spawn to that first served read, in ms.
   */
  async waitReady(loadgen, timeoutMs = 60_000) {
    if (this.exited) throw new BenchError(`${this.label} failed to start (${this.exited})\n${this.logTail()}`);
    try {
      const r = await runLoadgen(
        loadgen,
        [
          '--op', 'ready',
          '--endpoints', this.endpoint,
          '--since-unix-ns', String(this.spawnedAtNs),
          '--deadline', `${Math.ceil(timeoutMs / 1000)}s`,
        ],
        { killAfterMs: timeoutMs + 5000, server: this },
      );
      if (r.aborted) throw new BenchError(`not ready within ${timeoutMs} ms`);
      return r.ready_ms;
    } catch (e) {
      const why = this.exited ? `exited: ${this.exited}` : e.message.split('\n')[0];
      throw new BenchError(
        `${this.label} did not become ready on ${this.endpoint} (${why})\ncommand: ${this.argv.join(' ')}\n${this.logTail()}`,
      );
    }
  }

  /** Arguments that make the load generator report this server's CPU time. */
  cpuArgs() {
    return this.exited ? [] : ['--server-pid', treePids(this.pid).join(',')];
  }

  /** Resident memory of the server and its descendants, in KiB. */
  rssKiB() {
    return treeRssKiB(this.pid);
  }

  /** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with the stop time in ms. */
  async stop(graceMs = 20_000) {
    if (this.exited) return 0;
    const t0 = performance.now();
    killChild(this.pid, true, 'SIGTERM');
    const timer = new Promise((r) => setTimeout(() => r('timeout'), graceMs));
    const how = await Promise.race([this.exitPromise, timer]);
    if (how === 'timeout') {
      log(`${this.label} (pid ${this.pid}) ignored SIGTERM for ${graceMs} ms; killing`);
      killChild(this.pid, true, 'SIGKILL');
      await this.exitPromise;
    }
    return performance.now() - t0;
  }
}

function readStatusKiB(pid, field) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  const kids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(name));
    } catch {
      // raced with exit
    }
  }
  return kids;
}

/** The process and all its descendants. */
export function treePids(pid) {
  const out = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

export function treeRssKiB(pid) {
  return treePids(pid).reduce((sum, p) => sum + readStatusKiB(p, 'VmRSS'), 0);
}

export function dirSizeBytes(dir) {
  let total = 0;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) total += dirSizeBytes(p);
    else if (ent.isFile()) total += fs.statSync(p).blocks * 512;
  }
  return total;
}

/** Fresh temp dir, free ports, spawned server. Not yet waited for. */
export async function launchServer(kindKey, { dataDir } = {}) {
  const kind = serverKinds()[kindKey];
  if (!kind) throw new BenchError(`unknown server ${kindKey}`);
  const work = makeTempDir(kindKey);
  const s = new ServerProcess(kindKey, kind, {
    dataDir: dataDir ?? path.join(work, 'data'),
    clientPort: await freePort(),
    peerPort: await freePort(),
    logFile: path.join(work, 'server.log'),
  });
  s.workDir = work;
  return s.start();
}

/** Same data dir and ports as `prev`, new process. */
export function relaunchServer(prev) {
  const s = new ServerProcess(prev.kindKey, prev.kind, {
    name: prev.name,
    dataDir: prev.dataDir,
    clientPort: prev.clientPort,
    peerPort: prev.peerPort,
    logFile: prev.logFile,
    initialCluster: prev.initialCluster,
    initialClusterToken: prev.initialClusterToken,
  });
  s.workDir = prev.workDir;
  return s.start();
}

// ---- clusters ----

/** utime + stime of one process (all threads), in seconds; 0 once it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12), in USER_HZ (100).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Several members of one cluster on loopback, each in its own data dir with
 * its own log, started together (`--initial-cluster-state new`). It offers the
 * interface of a ServerProcess that the scripts and runLoadgen use
 * (`endpoint` is the comma-separated list of all client endpoints), plus the
 * per-member views: CPU by member, RSS by member, leader.
 */
export class Cluster {
  constructor(kindKey, kind, members, workDir) {
    this.kindKey = kindKey;
    this.kind = kind;
    this.label = kind.label;
    this.members = members;
    this.workDir = workDir;
    this.endpoints = members.map((m) => m.endpoint);
    this.endpoint = this.endpoints.join(',');
    this.exitWrappers = new Map();
  }

  start() {
    for (const m of this.members) m.start();
    this.pid = this.members[0].pid;
    this.argv = this.members[0].argv;
    return this;
  }

  get pids() {
    return this.members.map((m) => m.pid);
  }

  get exited() {
    const m = this.members.find((x) => x.exited);
    return m ? `${m.name}: ${m.exited}` : null;
  }

  onExit(fn) {
    const wrapped = this.members.map((m) => {
      const w = (desc) => fn(`member ${m.name} (pid ${m.pid}) ${desc}`);
      m.onExit(w);
      return w;
    });
    this.exitWrappers.set(fn, wrapped);
  }

  offExit(fn) {
    const wrapped = this.exitWrappers.get(fn);
    if (!wrapped) return;
    this.members.forEach((m, i) => m.offExit(wrapped[i]));
    this.exitWrappers.delete(fn);
  }

  logTail(lines = 10) {
    return this.members.map((m) => `[${m.name}] ${m.logTail(lines)}`).join('\n');
  }

  /**
   * Waits until every member serves a linearizable Range (so a leader is
   * elected and every member reaches it); resolves with the time from spawn
   * to the last member's first read, in ms.
   */
  async waitReady(loadgen, timeoutMs = 60_000) {
    const settled = await Promise.allSettled(this.members.map((m) => m.waitReady(loadgen, timeoutMs)));
    const bad = settled.find((x) => x.status === 'rejected');
    if (bad) throw bad.reason;
    return Math.max(...settled.map((x) => x.value));
  }

  /** --server-pid with every process of every member; remembers which member owns which PID. */
  cpuArgs() {
    this.pidOwner = new Map();
    const all = [];
    this.members.forEach((m, i) => {
      if (m.exited) return;
      for (const p of treePids(m.pid)) {
        this.pidOwner.set(String(p), i);
        all.push(p);
      }
    });
    return all.length ? ['--server-pid', all.join(',')] : [];
  }

  /** CPU seconds per member (index order) from a load generator result run with cpuArgs(). */
  cpuByMember(result) {
    const out = this.members.map(() => 0);
    for (const [pid, secs] of Object.entries(result?.server_cpu_s_by_pid ?? {})) {
      const i = this.pidOwner?.get(pid);
      if (i != null) out[i] += secs;
    }
    return out;
  }

  /** CPU seconds used so far, per member (process trees). */
  cpuSecondsNow() {
    return this.members.map((m) => treePids(m.pid).reduce((sum, p) => sum + processCpuSeconds(p), 0));
  }

  rssByMemberKiB() {
    return this.members.map((m) => m.rssKiB());
  }

  /** Sum of the members' resident memory, in KiB. */
  rssKiB() {
    return this.rssByMemberKiB().reduce((a, b) => a + b, 0);
  }

  /**
   * Maintenance.Status of every member: { leaderIndex, leaderName, term,
   * revision, statuses }; leaderIndex is -1 when the members disagree or a
   * member did not answer.
   */
  async status(loadgen) {
    const r = await runLoadgen(loadgen, ['--op', 'status', '--endpoints', this.endpoint, '--deadline', '20s'], {
      killAfterMs: 30_000,
    });
    const statuses = r.status ?? [];
    const leaders = new Set(statuses.map((s) => s.leader));
    const leaderId = leaders.size === 1 && !statuses.some((s) => s.error) ? [...leaders][0] : null;
    const leaderIndex = leaderId ? statuses.findIndex((s) => s.member_id === leaderId) : -1;
    return {
      leaderIndex,
      leaderName: leaderIndex >= 0 ? this.members[leaderIndex].name : null,
      term: Math.max(0, ...statuses.map((s) => s.raft_term ?? 0)),
      revision: Math.max(0, ...statuses.map((s) => s.revision ?? 0)),
      statuses,
    };
  }

  /** Stops every member at once (SIGTERM, then SIGKILL after graceMs); resolves with the longest stop time. */
  async stop(graceMs = 20_000) {
    const times = await Promise.all(this.members.map((m) => m.stop(graceMs)));
    return Math.max(0, ...times);
  }
}

/**
 * A fresh cluster of `size` members named m1..mN, every member with its own
 * data dir and log under one temp dir and its own free client and peer ports.
 * Spawned, not yet waited for.
 */
export async function launchCluster(kindKey, size) {
  const kind = serverKinds()[kindKey];
  if (!kind) throw new BenchError(`unknown server ${kindKey}`);
  if (hasPlaceholders(kind) && !/\{initialCluster\}/.test(kind.cmd)) {
    throw new BenchError(`the command for ${kindKey} has placeholders but no {initialCluster}; a cluster needs it`);
  }
  const work = makeTempDir(`${kindKey}-x${size}`);
  const specs = [];
  for (let i = 1; i <= size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const initialClusterToken = `bench-${kindKey}-${path.basename(work).slice(-6)}`;
  const members = specs.map((s) => {
    fs.mkdirSync(path.join(work, s.name));
    const m = new ServerProcess(kindKey, kind, {
      ...s,
      dataDir: path.join(work, s.name, 'data'),
      logFile: path.join(work, s.name, 'server.log'),
      initialCluster,
      initialClusterToken,
    });
    m.label = `${kind.label} ${s.name}`;
    m.workDir = work;
    return m;
  });
  return new Cluster(kindKey, kind, members, work).start();
}

// ---- reporting ----

export function machineInfo() {
  const cpus = os.cpus();
  const etcdVersion = (() => {
    const k = serverKinds().etcd;
    const r = spawnSync(splitCommand(k.cmd)[0], ['--version'], { encoding: 'utf8' });
    return (r.stdout || '').split('\n')[0].replace(/^etcd Version:\s*/, '') || 'unknown';
  })();
  const goVersion = (() => {
    const r = spawnSync('go', ['version'], { encoding: 'utf8' });
    return (r.stdout || '').trim().replace(/^go version /, '') || 'unknown';
  })();
  const tmpBase = process.env.BENCH_TMPDIR || os.tmpdir();
  const dataFs = (() => {
    const r = spawnSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', tmpBase], { encoding: 'utf8' });
    return `${tmpBase} on ${(r.stdout || '').trim().replace(/\s+/, ' ') || 'unknown'}`;
  })();
  return {
    dataFs,
    nproc: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    etcd: etcdVersion,
    go: goVersion,
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

/** The closing lines of every report: machine, data dirs, versions, date, and each server's command. */
export function environmentLines(info, runs) {
  const lines = [
    `- machine: ${info.nproc} CPUs (${info.cpu}), ${info.memGiB} GiB RAM, ${info.kernel}, load average at start ${info.loadavg}`,
    `- data dirs: ${info.dataFs}`,
    `- etcd ${info.etcd}; load generator: Go clientv3 3.4 (${info.go}); node ${info.node}`,
    `- date: ${info.date}`,
  ];
  for (const r of runs) if (r.argv) lines.push(`- ${r.label}: \`${r.argv.join(' ')}\``);
  return lines;
}

export function commandLine() {
  const env = ['ETCD_TS_CMD', 'ETCD_CMD', 'ETCD_BIN', 'BENCH_TMPDIR']
    .filter((k) => process.env[k])
    .map((k) => `${k}=${JSON.stringify(process.env[k])} `)
    .join('');
  const script = path.relative(process.cwd(), process.argv[1]) || process.argv[1];
  return `${env}node ${script} ${process.argv.slice(2).join(' ')}`.trim();
}

export function fmtNum(x, digits = 1) {
  if (x == null || Number.isNaN(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
}

export function ratio(ours, theirs) {
  if (ours == null || theirs == null || !theirs) return 'n/a';
  return `${(ours / theirs).toFixed(2)}x`;
}

export function markdownTable(header, rows, leftColumns = 1) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i < leftColumns ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Parses "--name value" and "--name=value" options against defaults. */
export function parseArgs(argv, defaults, usage) {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new BenchError(`unexpected argument ${a}\n${usage}`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const key = a.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new BenchError(`unknown option --${a}\n${usage}`);
    if (typeof defaults[key] === 'boolean') {
      opts[key] = v === undefined ? true : v !== 'false';
      continue;
    }
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new BenchError(`--${a} needs a value`);
    }
    opts[key] = typeof defaults[key] === 'number' ? Number(v) : v;
    if (typeof defaults[key] === 'number' && Number.isNaN(opts[key])) throw new BenchError(`--${a}: not a number`);
  }
  return opts;
}

/** Go-style duration ("10s", "500ms", "2m") to ms. */
export function durationMs(s) {
  const m = String(s).match(/^(\d+(?:\.\d+)?)(ms|s|m)$/);
  if (!m) throw new BenchError(`bad duration ${s} (use e.g. 500ms, 10s, 2m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2]];
}

export function writeOutputs(markdown, raw, { out, json }) {
  process.stdout.write(`${markdown}\n`);
  if (out) fs.writeFileSync(out, `${markdown}\n`);
  if (json) fs.writeFileSync(json, `${JSON.stringify(raw, null, 2)}\n`);
}
