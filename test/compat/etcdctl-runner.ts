/*
 * Runs etcdctl command sequences against several servers side by side, for
 * the differential watch and lease suites. Besides commands that run to
 * completion, a sequence can start long-running etcdctl processes (watch,
 * lease keep-alive) in the background, wait until their output reaches a
 * given number of lines or they exit, and stop them; their whole output is
 * compared when they end. Values a command prints that differ between
 * servers by design (lease IDs) can be captured and used in later commands
 * as {NAME}; they are replaced by <NAME> before outputs are compared.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import { runEtcdctl } from '../harness/etcdctl.js';
import { failWith, targetsFromEnv } from '../harness/kv-differential.js';
import { registerPid, unregisterPid } from '../harness/process-registry.js';
import { spawnServer, type ServerHandle } from '../harness/server.js';
import { waitFor, WaitAborted } from '../harness/wait-for.js';

export type CtlStep =
  /** Runs etcdctl to completion; exit code, stdout and stderr are compared. */
  | { kind: 'run'; args: string[]; stdin?: string; capture?: { name: string; pattern: RegExp } }
  /** Starts etcdctl in the background under a name. */
  | { kind: 'start'; name: string; args: string[] }
  /** Waits until the named process printed at least `lines` lines of stdout (or `stderrLines` of stderr), or exited when `exit` is set. */
  | { kind: 'await'; name: string; lines?: number; stderrLines?: number; exit?: boolean; timeoutMs?: number }
  /** Stops the named process (SIGTERM) if it still runs; its output is compared. */
  | { kind: 'stop'; name: string };

export interface CtlScenario {
  name: string;
  steps: CtlStep[];
  /** Extra server flags. */
  extraArgs?: string[];
  /** Rewrites an output before comparison (e.g. sorting what etcd prints in map order). */
  normalize?: (text: string) => string;
}

export interface CtlOutput {
  step: string;
  code: number | null | 'running';
  stdout: string;
  stderr: string;
}

export const run = (...args: string[]): CtlStep => ({ kind: 'run', args });
export const runIn = (stdin: string, ...args: string[]): CtlStep => ({ kind: 'run', args, stdin });
export const capture = (name: string, pattern: RegExp, ...args: string[]): CtlStep => ({ kind: 'run', args, capture: { name, pattern } });
export const start = (name: string, ...args: string[]): CtlStep => ({ kind: 'start', name, args });
export const awaitLines = (name: string, lines: number, timeoutMs?: number): CtlStep => ({ kind: 'await', name, lines, ...(timeoutMs ? { timeoutMs } : {}) });
export const awaitExit = (name: string, timeoutMs?: number): CtlStep => ({ kind: 'await', name, exit: true, ...(timeoutMs ? { timeoutMs } : {}) });
export const stop = (name: string): CtlStep => ({ kind: 'stop', name });

interface Background {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
  code: number | null | undefined;
  label: string;
}

function etcdctlEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ETCDCTL_API: '3' };
  for (const k of Object.keys(env)) if (k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API') delete env[k];
  return env;
}

function spawnBackground(endpoint: string, args: readonly string[], label: string): Background {
  const file = process.env['ETCDCTL_BIN'] ?? '/usr/bin/etcdctl';
  const child = spawn(file, [`--endpoints=${endpoint}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: etcdctlEnv() });
  if (child.pid === undefined) throw new Error(`failed to start ${file}`);
  const pid = child.pid;
  registerPid(pid);
  const bg: Background = { child, stdout: '', stderr: '', exit: Promise.resolve(null), code: undefined, label };
  child.stdout?.on('data', (d: Buffer) => (bg.stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (bg.stderr += d.toString('utf8')));
  bg.exit = new Promise((resolve) => {
    child.once('close', (code) => {
      unregisterPid(pid);
      bg.code = code;
      resolve(code);
    });
  });
  return bg;
}

/** One server's view of a scenario: its variables and background processes. */
export class CtlSide {
  readonly vars = new Map<string, string>();
  readonly background = new Map<string, Background>();
  readonly outputs: CtlOutput[] = [];

  constructor(
    readonly label: string,
    readonly server: ServerHandle,
  ) {}

  #subst(args: readonly string[]): string[] {
    return args.map((a) => a.replace(/\{([A-Z0-9_]+)\}/g, (m, name: string) => this.vars.get(name) ?? m));
  }

  /** Replaces captured values (hex, and decimal as in JSON output) by <NAME>, plus what differs between any two clusters. */
  normalize(s: string): string {
    let out = s.split(this.server.endpoint).join('<endpoint>');
    for (const [name, v] of this.vars) {
      out = out.split(v).join(`<${name}>`);
      if (/^[0-9a-f]{16}$/.test(v)) {
        const dec = BigInt(`0x${v}`);
        out = out.split(dec.toString()).join(`<${name}>`);
        // JSON output carries IDs as signed 64-bit integers.
        const signed = BigInt.asIntN(64, dec);
        if (signed !== dec) out = out.split(signed.toString()).join(`<${name}>`);
      }
    }
    return out
      .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0')
      .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : 0')
      .replace(/"ts":"[^"]*"/g, '"ts":"<ts>"')
      .replace(/endpoint:\/\/client-[0-9a-f-]+\//g, 'endpoint://client-<id>/');
  }

  async step(step: CtlStep, index: number): Promise<void> {
    const label = `${index + 1}: ${describe(step)}`;
    switch (step.kind) {
      case 'run': {
        const r = await runEtcdctl(this.server.endpoint, this.#subst(step.args), step.stdin === undefined ? {} : { stdin: step.stdin });
        if (step.capture !== undefined) {
          const m = step.capture.pattern.exec(r.stdout);
          if (m?.[1] === undefined) throw new Error(`${this.label}: step ${label}: nothing to capture in ${JSON.stringify(r.stdout)} ${JSON.stringify(r.stderr)}`);
          this.vars.set(step.capture.name, m[1]);
        }
        this.outputs.push({ step: label, code: r.timedOut ? -1 : r.code, stdout: r.stdout, stderr: r.stderr });
        return;
      }
      case 'start':
        this.background.set(step.name, spawnBackground(this.server.endpoint, this.#subst(step.args), label));
        return;
      case 'await': {
        const bg = this.#bg(step.name);
        const lines = (s: string): number => s.split('\n').length - 1;
        await waitFor(
          () => {
            if (step.exit === true) return bg.code !== undefined;
            if (step.lines !== undefined && lines(bg.stdout) >= step.lines) return true;
            if (step.stderrLines !== undefined && lines(bg.stderr) >= step.stderrLines) return true;
            if (bg.code !== undefined) throw new WaitAborted(`${this.label}: ${step.name} exited (${bg.code}) with ${JSON.stringify(bg.stdout)} ${JSON.stringify(bg.stderr)}`);
            return false;
          },
          { timeoutMs: step.timeoutMs ?? 20_000, intervalMs: 10, what: `${this.label}: ${label} (stdout so far ${JSON.stringify(bg.stdout.slice(-2000))})` },
        );
        return;
      }
      case 'stop': {
        const bg = this.#bg(step.name);
        await this.#finish(step.name, bg);
        return;
      }
    }
  }

  #bg(name: string): Background {
    const bg = this.background.get(name);
    if (bg === undefined) throw new Error(`no background process ${name}`);
    return bg;
  }

  async #finish(name: string, bg: Background): Promise<void> {
    const wasRunning = bg.code === undefined;
    if (wasRunning) {
      bg.child.kill('SIGTERM');
      const t = setTimeout(() => bg.child.kill('SIGKILL'), 5000);
      await bg.exit;
      clearTimeout(t);
    }
    this.background.delete(name);
    this.outputs.push({ step: `${bg.label} (${name})`, code: wasRunning ? 'running' : (bg.code ?? null), stdout: bg.stdout, stderr: bg.stderr });
  }

  /** Stops whatever still runs (their output is recorded too). */
  async stopAll(): Promise<void> {
    for (const [name, bg] of [...this.background]) await this.#finish(name, bg);
  }
}

export function describe(step: CtlStep): string {
  const show = (args: readonly string[]): string => args.map((a) => (a === '' || /\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  switch (step.kind) {
    case 'run':
      return `etcdctl ${show(step.args)}${step.stdin === undefined ? '' : ` <<< ${JSON.stringify(step.stdin)}`}`;
    case 'start':
      return `etcdctl ${show(step.args)} & (${step.name})`;
    case 'await':
      return `await ${step.name} ${step.exit === true ? 'exit' : `${step.lines ?? step.stderrLines} lines`}`;
    case 'stop':
      return `stop ${step.name}`;
  }
}

/** Line-by-line differences between two texts, at most `max` of them. */
export function lineDiff(what: string, a: string, b: string, aLabel: string, bLabel: string, max = 8): string[] {
  if (a === b) return [];
  const al = a.split('\n');
  const bl = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(al.length, bl.length) && out.length < max; i++) {
    if (al[i] !== bl[i]) out.push(`    ${what} line ${i + 1}\n      ${aLabel}: ${JSON.stringify(al[i] ?? '(none)')}\n      ${bLabel}: ${JSON.stringify(bl[i] ?? '(none)')}`);
  }
  return out;
}

/**
 * Registers every scenario as a test of an uvu suite and runs it: each
 * scenario on fresh servers of every target, steps in lockstep, outputs
 * compared with the reference's after normalisation.
 * DIFF_FILTER=<substring> runs some scenarios only; DIFF_DUMP=1 prints the
 * reference's outputs.
 */
export function runCtlSuite(name: string, scenarios: readonly CtlScenario[]): void {
  const { reference, candidates } = targetsFromEnv();
  const targets = [reference, ...candidates];
  const filter = process.env['DIFF_FILTER'];
  const live = new Set<ServerHandle>();
  const startFailures: string[] = [];
  const started = Date.now();
  let count = 0;
  const s = suite(name);
  s.after(async () => {
    await Promise.all([...live].map((x) => x.dispose()));
    process.stdout.write(`\n${name}: ${count} scenarios, ${candidates.map((t) => t.label).join(', ')} vs ${reference.label}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
  for (const sc of scenarios) {
    if (filter !== undefined && !sc.name.includes(filter)) continue;
    s(sc.name, async () => {
      if (startFailures.length >= 2) failWith(`not starting servers again after ${startFailures.length} failed starts; the first:\n${startFailures[0]}`);
      const spawned = await Promise.allSettled(targets.map((t) => spawnServer(t.kind, { readyTimeoutMs: 20_000, ...(sc.extraArgs ? { extraArgs: sc.extraArgs } : {}) })));
      const sides: CtlSide[] = [];
      spawned.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          live.add(r.value);
          sides.push(new CtlSide(targets[i]!.label, r.value));
        }
      });
      try {
        const failures = spawned.flatMap((r, i) => (r.status === 'rejected' ? [`${targets[i]!.label}: ${String(r.reason)}`] : []));
        if (failures.length > 0) {
          startFailures.push(failures.join('\n'));
          failWith(`could not start servers:\n${failures.join('\n')}`);
        }
        count++;
        const problems: string[] = [];
        for (const [i, step] of sc.steps.entries()) {
          const results = await Promise.allSettled(sides.map((x) => x.step(step, i)));
          results.forEach((r, j) => {
            if (r.status === 'rejected') problems.push(`  step ${i + 1} (${describe(step)}) on ${sides[j]!.label}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
          });
          if (problems.length > 0) break;
        }
        await Promise.all(sides.map((x) => x.stopAll()));
        const norm = (side: CtlSide, text: string): string => {
          const t = side.normalize(text);
          return sc.normalize ? sc.normalize(t) : t;
        };
        const ref = sides[0]!;
        if (process.env['DIFF_DUMP'] === '1') {
          for (const o of ref.outputs) {
            process.stdout.write(`\n[${sc.name}] ${o.step}\n  exit ${o.code}\n  stdout: ${JSON.stringify(norm(ref, o.stdout))}\n  stderr: ${JSON.stringify(norm(ref, o.stderr))}\n`);
          }
        }
        if (problems.length === 0) {
          for (const other of sides.slice(1)) {
            ref.outputs.forEach((o, k) => {
              const t = other.outputs[k];
              if (t === undefined) {
                problems.push(`  ${o.step}: no output from ${other.label}`);
                return;
              }
              const a = { code: o.code, stdout: norm(ref, o.stdout), stderr: norm(ref, o.stderr) };
              const bo = { code: t.code, stdout: norm(other, t.stdout), stderr: norm(other, t.stderr) };
              const diffs = [
                ...(a.code !== bo.code ? [`    exit code\n      ${ref.label}: ${a.code}\n      ${other.label}: ${bo.code}`] : []),
                ...lineDiff('stdout', a.stdout, bo.stdout, ref.label, other.label),
                ...lineDiff('stderr', a.stderr, bo.stderr, ref.label, other.label),
              ];
              if (diffs.length > 0) {
                problems.push(
                  `  ${o.step}\n${diffs.join('\n')}\n` +
                    `    full ${ref.label}: exit ${a.code} stdout ${JSON.stringify(a.stdout.slice(0, 3000))} stderr ${JSON.stringify(a.stderr)}\n` +
                    `    full ${other.label}: exit ${bo.code} stdout ${JSON.stringify(bo.stdout.slice(0, 3000))} stderr ${JSON.stringify(bo.stderr)}`,
                );
              }
            });
          }
        }
        for (const x of sides) if (x.server.exited) problems.push(`  ${x.label} (pid ${x.server.pid}) exited; output tail:\n${x.server.output().slice(-3000)}`);
        if (problems.length > 0) failWith(`${sc.name}\n${problems.join('\n')}`);
      } finally {
        await Promise.all(sides.map((x) => x.stopAll()));
        await Promise.all(
          sides.map(async (x) => {
            live.delete(x.server);
            await x.server.dispose();
          }),
        );
      }
    });
  }
  s.run();
}
