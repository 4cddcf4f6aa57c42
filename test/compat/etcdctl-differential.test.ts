import { suite } from 'uvu';
import { runEtcdctl, type EtcdctlResult } from '../harness/etcdctl.js';
import { spawnServer, type ServerHandle } from '../harness/server.js';
import { failWith, targetsFromEnv } from '../harness/kv-differential.js';
import { ETCDCTL_SCENARIOS, type EtcdctlCommand } from './etcdctl-scenarios.js';

/*
 * Differential etcdctl suite: the same etcdctl 3.4 commands against real etcd
 * and etcd-ts must give the same exit code, stdout and stderr, after
 * normalising what differs between any two clusters (ids, raft term) or any
 * two runs (client log timestamps, client ids, ports). Every scenario gets a
 * fresh pair of servers, so revisions are compared absolutely.
 * DIFF_FILTER=<substring> runs some scenarios only.
 */

const { reference, candidates } = targetsFromEnv();
const targets = [reference, ...candidates];
const filter = process.env['DIFF_FILTER'];
const started = Date.now();
let commandsRun = 0;
let failedScenarios = 0;

interface Normalized {
  code: number | null;
  stdout: string;
  stderr: string;
}

function normalizeText(s: string, endpoint: string): string {
  return s
    .split(endpoint)
    .join('<endpoint>')
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0')
    .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : 0')
    .replace(/"ts":"[^"]*"/g, '"ts":"<ts>"')
    .replace(/endpoint:\/\/client-[0-9a-f-]+\//g, 'endpoint://client-<id>/');
}

function normalize(r: EtcdctlResult, endpoint: string): Normalized {
  return {
    code: r.timedOut ? -1 : r.code,
    stdout: normalizeText(r.stdout, endpoint),
    stderr: normalizeText(r.stderr, endpoint),
  };
}

function lineDiff(label: string, a: string, b: string, aLabel: string, bLabel: string): string[] {
  if (a === b) return [];
  const al = a.split('\n');
  const bl = b.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(al.length, bl.length) && out.length < 8; i++) {
    if (al[i] !== bl[i]) out.push(`    ${label} line ${i + 1}\n      ${aLabel}: ${JSON.stringify(al[i] ?? '(none)')}\n      ${bLabel}: ${JSON.stringify(bl[i] ?? '(none)')}`);
  }
  return out;
}

function describe(cmd: EtcdctlCommand): string {
  const args = cmd.args.map((a) => (a === '' || /\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return cmd.stdin === undefined ? `etcdctl ${args}` : `etcdctl ${args} <<< ${JSON.stringify(cmd.stdin)}`;
}

const live = new Set<ServerHandle>();
/** Failed starts so far; after two, scenarios fail at once instead of waiting out a start deadline each. */
const startFailures: string[] = [];

const ctl = suite('etcdctl-differential');

ctl.after(async () => {
  await Promise.all([...live].map((s) => s.dispose()));
  process.stdout.write(
    `\netcdctl-differential: ${commandsRun} commands, ${failedScenarios} scenarios with differences, ` +
      `${candidates.map((t) => t.label).join(', ')} vs ${reference.label}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
});

for (const sc of ETCDCTL_SCENARIOS) {
  if (filter !== undefined && !sc.name.includes(filter)) continue;
  ctl(sc.name, async () => {
    if (startFailures.length >= 2) failWith(`not starting servers again after ${startFailures.length} failed starts; the first:\n${startFailures[0]}`);
    const spawned = await Promise.allSettled(targets.map((t) => spawnServer(t.kind, { readyTimeoutMs: 20_000 })));
    const servers: ServerHandle[] = [];
    for (const r of spawned) if (r.status === 'fulfilled') { servers.push(r.value); live.add(r.value); }
    try {
      const failures = spawned.flatMap((r, i) => (r.status === 'rejected' ? [`${targets[i]!.label}: ${String(r.reason)}`] : []));
      if (failures.length > 0) {
        startFailures.push(failures.join('\n'));
        failWith(`could not start servers:\n${failures.join('\n')}`);
      }
      const problems: string[] = [];
      for (const [i, cmd] of sc.commands.entries()) {
        commandsRun++;
        const results = await Promise.all(
          servers.map(async (s) => normalize(await runEtcdctl(s.endpoint, cmd.args, cmd.stdin === undefined ? {} : { stdin: cmd.stdin }), s.endpoint)),
        );
        const ref = results[0]!;
        if (process.env['DIFF_DUMP'] === '1') {
          process.stdout.write(`\n[${sc.name}] ${i + 1}: ${describe(cmd)}\n  exit ${ref.code}\n  stdout: ${JSON.stringify(ref.stdout)}\n  stderr: ${JSON.stringify(ref.stderr)}\n`);
        }
        for (let j = 1; j < results.length; j++) {
          const other = results[j]!;
          const who = targets[j]!.label;
          const diffs = [
            ...(ref.code !== other.code ? [`    exit code\n      ${reference.label}: ${ref.code}\n      ${who}: ${other.code}`] : []),
            ...lineDiff('stdout', ref.stdout, other.stdout, reference.label, who),
            ...lineDiff('stderr', ref.stderr, other.stderr, reference.label, who),
          ];
          if (diffs.length > 0) {
            problems.push(
              `  command ${i + 1}: ${describe(cmd)}\n${diffs.join('\n')}\n` +
                `    full ${reference.label}: exit ${ref.code} stdout ${JSON.stringify(ref.stdout)} stderr ${JSON.stringify(ref.stderr)}\n` +
                `    full ${who}: exit ${other.code} stdout ${JSON.stringify(other.stdout)} stderr ${JSON.stringify(other.stderr)}`,
            );
          }
        }
      }
      for (const [j, s] of servers.entries()) {
        if (s.exited) problems.push(`  ${targets[j]!.label} (pid ${s.pid}) exited during the scenario; output tail:\n${s.output().slice(-3000)}`);
      }
      if (problems.length > 0) {
        failedScenarios++;
        failWith(`${sc.name}\n${problems.join('\n')}`);
      }
    } finally {
      await Promise.all(servers.map(async (s) => { live.delete(s); await s.dispose(); }));
    }
  });
}

ctl.run();
