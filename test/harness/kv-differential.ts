import * as grpc from '@grpc/grpc-js';
import { GrpcCallError, kvClient, type KvClient, type Message } from './kv-client.js';
import { diffPlain, formatDiff, mapObjects, show, toPlain, type Plain } from './normalize.js';
import { spawnServer, type ServerHandle, type ServerKind, type ServerOptions } from './server.js';

/*
 * A differential runner for KV scenarios: every scenario (a list of requests)
 * runs on a reference server (real etcd) and on one or more candidates, and the
 * decoded responses are compared step by step.
 *
 * Exactness of revisions: a scenario either gets servers of its own ("fresh",
 * revisions compared absolutely) or shares a long-lived server per profile with
 * other scenarios. On a shared server each scenario writes only under its own
 * key prefix, and every revision (in requests via R(n), in responses) is taken
 * relative to the revision the server had when the scenario began; two servers
 * agree on a relative revision exactly when they agree on the absolute one
 * given the same history, and a divergence in one scenario cannot cascade
 * into the next.
 */

export type KvOp = 'range' | 'put' | 'deleteRange' | 'txn' | 'compact' | 'leaseGrant' | 'leaseRevoke' | 'hashKV';

export interface Step {
  op: KvOp;
  req: Message;
  /**
   * The exact details string real etcd answers with, when the step is meant to
   * fail; a step without it is meant to succeed. Checked against the reference
   * only, to keep the table honest.
   */
  expectError?: string;
  /** Compare only the gRPC code of an error (for limits enforced by the gRPC library, whose texts differ). */
  codeOnly?: boolean;
}

/** Server configurations scenarios can ask for. */
export type ServerProfile = 'default' | 'maxTxnOps4' | 'maxRequestBytes1024';

export const PROFILES: Readonly<Record<ServerProfile, ServerOptions>> = {
  default: {},
  maxTxnOps4: { maxTxnOps: 4 },
  maxRequestBytes1024: { maxRequestBytes: 1024 },
};

export interface Scenario {
  name: string;
  profile: ServerProfile;
  /** Needs servers of its own: whole-keyspace reads, absolute revisions. */
  fresh: boolean;
  /** Every key the scenario writes starts with this (empty for fresh scenarios). */
  prefix: Buffer;
  steps: Step[];
}

/** A revision relative to the one the server had when the scenario began. */
export class RelRev {
  constructor(readonly offset: number) {}
}

/** `R(n)`: the revision of the n-th revision-creating write of the scenario. */
export function R(n: number): RelRev {
  return new RelRev(n);
}

export interface Target {
  label: string;
  kind: ServerKind;
}

/**
 * The reference (real etcd) and the candidates. By default the candidate is
 * etcd-ts; DIFF_CANDIDATES=etcd-ts,etcd runs several. DIFF_ONLY_ETCD=1 makes
 * the only candidate a second real etcd, which checks that the tables
 * themselves are deterministic; it is announced on stderr.
 */
export function targetsFromEnv(): { reference: Target; candidates: Target[] } {
  const reference: Target = { label: 'etcd', kind: 'etcd' };
  let kinds: ServerKind[] = ['etcd-ts'];
  if (process.env['DIFF_ONLY_ETCD'] === '1') {
    process.stderr.write('DIFF_ONLY_ETCD=1: etcd-ts is NOT tested; the candidate is a second real etcd\n');
    kinds = ['etcd'];
  } else if (process.env['DIFF_CANDIDATES'] !== undefined) {
    kinds = process.env['DIFF_CANDIDATES'].split(',').map((x) => {
      const kind = x.trim();
      if (kind !== 'etcd' && kind !== 'etcd-ts') throw new Error(`DIFF_CANDIDATES: unknown server kind "${kind}"`);
      return kind;
    });
    if (!kinds.includes('etcd-ts')) process.stderr.write(`DIFF_CANDIDATES=${kinds.join(',')}: etcd-ts is NOT tested\n`);
  }
  const seen = new Map<string, number>([['etcd', 1]]);
  const candidates = kinds.map((kind) => {
    const n = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, n);
    return { kind, label: n === 1 ? kind : `${kind}#${n}` };
  });
  return { reference, candidates };
}

interface Side {
  target: Target;
  server: ServerHandle;
  client: KvClient;
}

/** Long-lived servers per profile, plus fresh ones on demand. */
export class ServerPool {
  private readonly shared = new Map<ServerProfile, Promise<Side[]>>();
  private readonly all: Side[] = [];
  /** After this many failed starts, acquire fails at once (a broken server would otherwise cost a start deadline per scenario). */
  private readonly maxStartFailures = 2;
  private startFailures: Error[] = [];

  constructor(readonly targets: readonly Target[]) {}

  private async start(profile: ServerProfile): Promise<Side[]> {
    if (this.startFailures.length >= this.maxStartFailures) {
      throw new Error(`not starting servers again after ${this.startFailures.length} failed starts; the first:\n${this.startFailures[0]!.message}`);
    }
    const started = await Promise.allSettled(
      this.targets.map((t) => spawnServer(t.kind, { readyTimeoutMs: 20_000, ...PROFILES[profile] })),
    );
    const sides: Side[] = [];
    const errors: string[] = [];
    started.forEach((r, i) => {
      const target = this.targets[i]!;
      if (r.status === 'fulfilled') {
        const side = { target, server: r.value, client: kvClient(r.value.endpoint) };
        sides.push(side);
        this.all.push(side);
      } else {
        errors.push(`${target.label}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
      }
    });
    if (errors.length > 0) {
      await Promise.all(sides.map((s) => this.release(s)));
      const err = new Error(`could not start servers (profile ${profile}):\n${errors.join('\n')}`);
      this.startFailures.push(err);
      throw err;
    }
    return sides;
  }

  async acquire(profile: ServerProfile, fresh: boolean): Promise<Side[]> {
    if (fresh) return this.start(profile);
    let p = this.shared.get(profile);
    if (p !== undefined) {
      // A shared pair whose server died is replaced: revisions are relative, so a new pair is as good.
      const sides = await p.catch(() => undefined);
      if (sides === undefined || sides.some((s) => s.server.exited)) {
        this.shared.delete(profile);
        if (sides !== undefined) await Promise.all(sides.map((s) => this.release(s)));
        p = undefined;
      }
    }
    if (p === undefined) {
      p = this.start(profile);
      this.shared.set(profile, p);
    }
    return p;
  }

  /** Disposes fresh sides; shared ones live until disposeAll. */
  async releaseFresh(sides: readonly Side[]): Promise<void> {
    await Promise.all(sides.map((s) => this.release(s)));
  }

  private async release(side: Side): Promise<void> {
    const i = this.all.indexOf(side);
    if (i >= 0) this.all.splice(i, 1);
    side.client.close();
    await side.server.dispose();
  }

  async disposeAll(): Promise<void> {
    this.shared.clear();
    await Promise.all([...this.all].map((s) => this.release(s)));
  }
}

function resolveRel(v: unknown, base: number): unknown {
  if (v instanceof RelRev) return base + v.offset;
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map((x) => resolveRel(x, base));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = resolveRel(x, base);
  return out;
}

/** Header fields that legitimately differ between clusters. */
const VOLATILE_HEADER_FIELDS = ['clusterId', 'memberId', 'raftTerm'];
const REVISION_FIELDS = ['revision', 'createRevision', 'modRevision'];

type Outcome = { ok: true; response: Message } | { ok: false; error: GrpcCallError } | { ok: false; thrown: Error };

function normalize(o: Outcome, base: number, relative: boolean, codeOnly: boolean): Plain | undefined {
  if (!o.ok) {
    if ('thrown' in o) return { thrown: o.thrown.message };
    const code = `${grpc.status[o.error.code] ?? 'UNKNOWN'}(${o.error.code})`;
    return { error: codeOnly ? { code } : { code, details: o.error.details } };
  }
  return mapObjects(toPlain(o.response), (obj) => {
    const out = { ...obj };
    if ('revision' in out || VOLATILE_HEADER_FIELDS.some((f) => f in out)) {
      for (const f of VOLATILE_HEADER_FIELDS) delete out[f];
    }
    if (relative) {
      for (const f of REVISION_FIELDS) {
        const x = out[f];
        if (typeof x === 'number' && x > 0) out[f] = x - base;
      }
    }
    return out;
  });
}

async function execute(client: KvClient, op: KvOp, req: Message): Promise<Outcome> {
  try {
    // Scenario requests are plain data shaped like the codec's Init types.
    const send = client[op] as (r: Message) => Promise<object>;
    return { ok: true, response: (await send.call(client, req)) as Message };
  } catch (err) {
    if (err instanceof GrpcCallError) return { ok: false, error: err };
    return { ok: false, thrown: err instanceof Error ? err : new Error(String(err)) };
  }
}

export interface ScenarioReport {
  name: string;
  /** Differences between the reference and a candidate: server bugs (or deliberate exceptions). */
  mismatches: string[];
  /** The reference did not behave as the table says: table bugs. */
  tableErrors: string[];
  steps: number;
}

/** Runs one scenario on every side and compares each candidate with the reference (sides[0]). */
export async function runScenario(pool: ServerPool, sc: Scenario): Promise<ScenarioReport> {
  const sides = await pool.acquire(sc.profile, sc.fresh);
  const report: ScenarioReport = { name: sc.name, mismatches: [], tableErrors: [], steps: 0 };
  try {
    const relative = !sc.fresh;
    const probeKey = sc.prefix.length > 0 ? sc.prefix : Buffer.from('\0');
    const bases = await Promise.all(
      sides.map(async (s) => {
        const r = await s.client.range({ key: probeKey, countOnly: true });
        const rev = r.header?.revision;
        if (typeof rev !== 'number' || rev <= 0) throw new Error(`${s.target.label}: no header revision in ${show(toPlain(r))}`);
        return rev;
      }),
    );
    const ref = sides[0]!;
    if (!relative) {
      for (let i = 1; i < sides.length; i++) {
        if (bases[i] !== bases[0]) {
          report.mismatches.push(`fresh server starts at revision ${bases[i]} on ${sides[i]!.target.label}, ${bases[0]} on ${ref.target.label}`);
        }
      }
    }

    let sawError = false;
    const steps: Step[] = [...sc.steps];
    const aliveKey = Buffer.concat([sc.prefix, Buffer.from('__alive')]);
    const runStep = async (index: number, step: Step, liveness: boolean): Promise<void> => {
      report.steps++;
      const outcomes = await Promise.all(
        sides.map((s, i) => execute(s.client, step.op, resolveRel(step.req, bases[i]!) as Message)),
      );
      const plains = outcomes.map((o, i) => normalize(o, bases[i]!, relative, step.codeOnly === true));
      const label = `step ${index + 1} ${step.op} ${show(toPlain(resolveRel(step.req, 0)), 300)}`;
      const refOutcome = outcomes[0]!;
      if (process.env['DIFF_DUMP'] === '1') {
        process.stdout.write(`\n[${sc.name}] ${label}\n  ${ref.target.label}: ${show(plains[0], 4000)}\n`);
      }
      if (!refOutcome.ok) sawError = true;
      if (!refOutcome.ok && 'thrown' in refOutcome) {
        report.tableErrors.push(`${label}: the request could not be sent: ${refOutcome.thrown.message}`);
      } else if (liveness && !refOutcome.ok) {
        report.tableErrors.push(`${label}: ${ref.target.label} failed the liveness check: ${show(plains[0])}`);
      } else if (step.expectError !== undefined) {
        if (refOutcome.ok) report.tableErrors.push(`${label}: expected error "${step.expectError}" but ${ref.target.label} succeeded`);
        else if (!step.codeOnly && refOutcome.error.details !== step.expectError) {
          report.tableErrors.push(`${label}: expected error "${step.expectError}" but ${ref.target.label} said ${show(plains[0])}`);
        }
      } else if (!refOutcome.ok) {
        report.tableErrors.push(`${label}: expected success but ${ref.target.label} said ${show(plains[0])}`);
      }
      for (let i = 1; i < sides.length; i++) {
        const diffs = diffPlain(plains[0], plains[i]);
        if (diffs.length > 0) {
          const who = sides[i]!.target.label;
          report.mismatches.push(
            `${liveness ? '[after an error, the server must keep serving] ' : ''}${label}\n` +
              `${formatDiff(diffs, ref.target.label, who)}\n` +
              `    full ${ref.target.label}: ${show(plains[0], 1500)}\n` +
              `    full ${who}: ${show(plains[i], 1500)}`,
          );
        }
      }
    };
    for (let i = 0; i < steps.length; i++) await runStep(i, steps[i]!, false);
    if (sawError) {
      await runStep(steps.length, { op: 'put', req: { key: aliveKey, value: Buffer.from('alive') } }, true);
      await runStep(steps.length + 1, { op: 'range', req: { key: aliveKey } }, true);
    }
  } finally {
    for (const s of sides) {
      if (s.server.exited) {
        report.mismatches.push(`${s.target.label} (pid ${s.server.pid}) exited during the scenario; output tail:\n${s.server.output().slice(-3000)}`);
      }
    }
    if (sc.fresh) await pool.releaseFresh(sides);
  }
  return report;
}

/** Human-readable failure text for a report, or undefined when it is clean. */
export function describeFailures(r: ScenarioReport): string | undefined {
  const parts: string[] = [];
  if (r.tableErrors.length > 0) parts.push(`table expectations not met by the reference:\n  ${r.tableErrors.join('\n  ')}`);
  if (r.mismatches.length > 0) parts.push(`mismatches:\n  ${r.mismatches.join('\n  ')}`);
  return parts.length > 0 ? `${r.name}\n${parts.join('\n')}` : undefined;
}

/**
 * Fails the current test with a multi-line report. The stack is dropped:
 * uvu prints everything after the first line of `stack`, which for a
 * multi-line message would print the report twice.
 */
export function failWith(report: string): never {
  const err = new Error(report);
  err.name = 'DifferentialMismatch';
  err.stack = err.name;
  throw err;
}
