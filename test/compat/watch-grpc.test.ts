import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import type { etcdserverpb } from '@etcd-ts/api';
import { GrpcCallError, kvClient, type KvClient } from '../harness/kv-client.js';
import { failWith, targetsFromEnv } from '../harness/kv-differential.js';
import { diffPlain, formatDiff, mapObjects, show, toPlain, type Plain } from '../harness/normalize.js';
import { spawnServer, type ServerHandle } from '../harness/server.js';
import { watchClient, openWatchStream, type WatchStreamClient } from '../harness/watch-client.js';
import { WATCH_GRPC_SCENARIOS, type WatchScenario, type WatchStep } from './watch-grpc-scenarios.js';

/*
 * Differential Watch suite at the gRPC level: every scenario runs against a
 * fresh real etcd and a fresh etcd-ts; the responses of every watch stream
 * (created, canceled, compact_revision, cancel_reason, fragment, events with
 * prev_kv, header revision) and of every KV call are compared, with the
 * header's cluster id, member id and raft term dropped. Before comparing,
 * each open stream is sent a progress request and its answer awaited, so
 * that responses a server sends beyond the expected ones are caught.
 * DIFF_FILTER=<substring> runs some scenarios only.
 */

const { reference, candidates } = targetsFromEnv();
const targets = [reference, ...candidates];
const filter = process.env['DIFF_FILTER'];
const AWAIT_MS = 30_000;

const live = new Set<ServerHandle>();
const startFailures: string[] = [];

function normalize(v: unknown): Plain | undefined {
  return mapObjects(toPlain(v), (obj) => {
    const out = { ...obj };
    delete out['clusterId'];
    delete out['memberId'];
    delete out['raftTerm'];
    return out;
  });
}

interface Side {
  label: string;
  server: ServerHandle;
  kv: KvClient;
  watch: grpc.Client;
  streams: Map<string, WatchStreamClient>;
  /** Streams whose request side was closed (they cannot be fenced). */
  halfClosed: Set<string>;
  kvResults: Plain[];
}

/**
 * A stream's responses grouped by watch ID, each group in arrival order.
 * etcd orders responses of one watcher, but not those of different watchers
 * for the same revision (it walks a Go map), so only the per-watcher order
 * is compared.
 */
function byWatchId(rs: readonly etcdserverpb.WatchResponse[]): Record<string, etcdserverpb.WatchResponse[]> {
  const out: Record<string, etcdserverpb.WatchResponse[]> = {};
  for (const r of rs) (out[`watch ${r.watchId}`] ??= []).push(r);
  return out;
}

async function runKv(side: Side, op: string, req: Record<string, unknown>): Promise<Plain> {
  try {
    const fn = side.kv[op as keyof KvClient] as unknown as (r: Record<string, unknown>) => Promise<unknown>;
    return normalize(await fn.call(side.kv, req)) ?? {};
  } catch (err) {
    if (err instanceof GrpcCallError) return { error: { code: err.code, details: err.details } };
    throw err;
  }
}

async function runStep(side: Side, step: WatchStep): Promise<void> {
  const stream = (name: string): WatchStreamClient => {
    const s = side.streams.get(name);
    if (s === undefined) throw new Error(`stream ${name} is not open`);
    return s;
  };
  switch (step.kind) {
    case 'kv':
      side.kvResults.push(await runKv(side, step.op, step.req));
      return;
    case 'puts':
      for (let i = 0; i < step.count; i++) {
        const value = step.valueBytes === undefined ? Buffer.from(String(i)) : Buffer.alloc(step.valueBytes, 97 + (i % 26));
        await side.kv.put({ key: Buffer.from(step.keySuffix === true || step.key.endsWith('/') ? `${step.key}${i}` : step.key), value });
      }
      return;
    case 'open':
      side.streams.set(step.stream, openWatchStream(side.server.endpoint, { client: side.watch, ...(step.metadata ? { metadata: step.metadata } : {}) }));
      return;
    case 'send':
      stream(step.stream).send(step.req);
      return;
    case 'await':
      await stream(step.stream).until((rs) => rs.length >= step.responses, AWAIT_MS, `${side.label}: ${step.responses} responses on ${step.stream}`);
      return;
    case 'awaitEvents':
      await stream(step.stream).until(
        (rs) => rs.reduce((n, r) => n + r.events.length, 0) >= step.events,
        AWAIT_MS,
        `${side.label}: ${step.events} events on ${step.stream}`,
      );
      return;
    case 'pause':
      stream(step.stream).pause();
      return;
    case 'resume':
      stream(step.stream).resume();
      return;
    case 'halfClose':
      stream(step.stream).end();
      side.halfClosed.add(step.stream);
      return;
  }
}

/** A progress request, answered with watch ID -1, marks the end of what each stream received. */
async function fence(side: Side): Promise<void> {
  for (const [name, s] of side.streams) {
    if (s.isEnded || side.halfClosed.has(name)) continue;
    const before = s.responses.length;
    s.progress();
    await s.until((rs) => rs.slice(before).some((r) => r.watchId === -1 && r.events.length === 0 && !r.created), AWAIT_MS, `${side.label}: fence on ${name}`);
  }
}

function describeResponses(rs: readonly etcdserverpb.WatchResponse[]): string {
  return rs.map((r, i) => `      [${i}] ${show(normalize(r), 600)}`).join('\n');
}

const w = suite('watch-grpc-differential');
let scenariosRun = 0;
const started = Date.now();

w.after(async () => {
  await Promise.all([...live].map((s) => s.dispose()));
  process.stdout.write(
    `\nwatch-grpc-differential: ${scenariosRun} scenarios, ${candidates.map((t) => t.label).join(', ')} vs ${reference.label}, ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
});

async function runScenario(sc: WatchScenario): Promise<void> {
  if (startFailures.length >= 2) failWith(`not starting servers again after ${startFailures.length} failed starts; the first:\n${startFailures[0]}`);
  const spawned = await Promise.allSettled(targets.map((t) => spawnServer(t.kind, { readyTimeoutMs: 20_000, ...(sc.extraArgs ? { extraArgs: sc.extraArgs } : {}) })));
  const sides: Side[] = [];
  spawned.forEach((r, i) => {
    if (r.status !== 'fulfilled') return;
    live.add(r.value);
    sides.push({
      label: targets[i]!.label,
      server: r.value,
      kv: kvClient(r.value.endpoint, { maxMessageBytes: 64 * 1024 * 1024 }),
      watch: watchClient(r.value.endpoint),
      streams: new Map(),
      halfClosed: new Set(),
      kvResults: [],
    });
  });
  try {
    const failures = spawned.flatMap((r, i) => (r.status === 'rejected' ? [`${targets[i]!.label}: ${String(r.reason)}`] : []));
    if (failures.length > 0) {
      startFailures.push(failures.join('\n'));
      failWith(`could not start servers:\n${failures.join('\n')}`);
    }
    scenariosRun++;
    const problems: string[] = [];
    for (const [i, step] of sc.steps.entries()) {
      const results = await Promise.allSettled(sides.map((s) => runStep(s, step)));
      results.forEach((r, j) => {
        if (r.status === 'rejected') problems.push(`  step ${i + 1} (${step.kind}) on ${sides[j]!.label}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
      });
      if (problems.length > 0) break;
    }
    if (problems.length === 0) {
      const fenced = await Promise.allSettled(sides.map((s) => fence(s)));
      fenced.forEach((r, j) => {
        if (r.status === 'rejected') problems.push(`  fence on ${sides[j]!.label}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
      });
    }
    const ref = sides[0]!;
    if (problems.length === 0) {
      for (const other of sides.slice(1)) {
        const kvDiffs = diffPlain(ref.kvResults, other.kvResults);
        if (kvDiffs.length > 0) problems.push(`  KV responses\n${formatDiff(kvDiffs, ref.label, other.label)}`);
        for (const [name, rs] of ref.streams) {
          const theirs = other.streams.get(name)!;
          const pick = (x: WatchStreamClient): etcdserverpb.WatchResponse[] => (sc.select ? sc.select(name, x.responses) : x.responses);
          const a = pick(rs);
          const bb = pick(theirs);
          const diffs = diffPlain(normalize(byWatchId(a)), normalize(byWatchId(bb)));
          if (diffs.length > 0) {
            problems.push(
              `  stream ${name}\n${formatDiff(diffs.slice(0, 12), ref.label, other.label)}\n` +
                `    all ${ref.label}:\n${describeResponses(a)}\n    all ${other.label}:\n${describeResponses(bb)}`,
            );
          }
        }
      }
    }
    if (process.env['DIFF_DUMP'] === '1') {
      for (const [name, rs] of ref.streams) process.stdout.write(`\n[${sc.name}] stream ${name} (${ref.label}):\n${describeResponses(rs.responses)}\n`);
    }
    for (const s of sides) if (s.server.exited) problems.push(`  ${s.label} (pid ${s.server.pid}) exited; output tail:\n${s.server.output().slice(-3000)}`);
    if (problems.length > 0) failWith(`${sc.name}\n${problems.join('\n')}`);
  } finally {
    for (const s of sides) {
      for (const st of s.streams.values()) st.cancel();
      s.watch.close();
      s.kv.close();
    }
    await Promise.all(
      sides.map(async (s) => {
        live.delete(s.server);
        await s.server.dispose();
      }),
    );
  }
}

for (const sc of WATCH_GRPC_SCENARIOS) {
  if (filter !== undefined && !sc.name.includes(filter)) continue;
  w(sc.name, () => runScenario(sc));
}

w.run();
