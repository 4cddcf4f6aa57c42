#!/usr/bin/env node
// Checks the dependency rules of docs/architecture: no import cycles between
// modules of any package, and, inside the server, imports only point from a
// layer to the layers below it (ARCHITECTURE.md, "Layout"). Exits 1 on a
// violation, listing every one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);

/** Server layer -> the layers it may import (itself always allowed). */
const SERVER_LAYERS = {
  raft: [],
  util: [],
  wal: ['util', 'raft'],
  snap: ['util', 'raft'],
  backend: ['util'],
  mvcc: ['backend', 'util'],
  watch: ['mvcc', 'backend', 'util'],
  lease: ['mvcc', 'backend', 'util'],
  auth: ['mvcc', 'backend', 'util'],
  cluster: ['raft', 'backend', 'util'],
  'raft-node': ['raft', 'wal', 'cluster', 'util'],
  apply: ['mvcc', 'lease', 'auth', 'cluster', 'watch', 'backend', 'util'],
  config: ['util'],
  http: ['config', 'util'],
  etcd: ['raft', 'raft-node', 'wal', 'snap', 'backend', 'mvcc', 'watch', 'lease', 'auth', 'apply', 'cluster', 'config', 'util'],
  api: ['etcd', 'raft', 'raft-node', 'wal', 'snap', 'backend', 'mvcc', 'watch', 'lease', 'auth', 'apply', 'cluster', 'config', 'http', 'util'],
  bin: ['*'],
  '.': ['*'],
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file) {
  const src = readFileSync(file, 'utf8');
  const out = [];
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (spec === undefined || !spec.startsWith('.')) continue;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

const problems = [];
const packagesDir = join(root, 'packages');
for (const pkg of readdirSync(packagesDir)) {
  const src = join(packagesDir, pkg, 'src');
  let files;
  try {
    files = walk(src);
  } catch {
    continue;
  }
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));

  // Cycles: Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) problems.push(`cycle: ${scc.map((f) => relative(root, f)).join(' -> ')}`);
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);

  if (pkg !== 'server') continue;
  const layerOf = (f) => {
    const rel = relative(src, f);
    return rel.includes('/') ? rel.split('/')[0] : '.';
  };
  for (const [from, tos] of graph) {
    const a = layerOf(from);
    const allowed = SERVER_LAYERS[a];
    if (allowed === undefined) {
      problems.push(`unknown layer ${a} (${relative(root, from)}): add it to scripts/check-layers.mjs`);
      continue;
    }
    for (const to of tos) {
      const b = layerOf(to);
      if (a === b || allowed.includes('*') || allowed.includes(b)) continue;
      problems.push(`layering: ${relative(root, from)} (${a}) imports ${relative(root, to)} (${b})`);
    }
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} dependency rule violation(s)`);
  process.exit(1);
}
console.log('dependency rules hold: no cycles, server layers point downwards');
