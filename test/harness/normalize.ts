import { createHash } from 'node:crypto';

/** A JSON-like value that compares structurally and prints readably. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

const PRINTABLE = /^[\x20-\x7e]*$/;

/** How bytes are shown: printable ASCII as is, else hex; long values by length and digest. */
export function bytesToPlain(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length > 256) return `<${buf.length} bytes sha256:${createHash('sha256').update(buf).digest('hex').slice(0, 16)}>`;
  const s = buf.toString('latin1');
  return PRINTABLE.test(s) ? s : `0x${buf.toString('hex')}`;
}

/**
 * Converts a decoded protobuf message into a Plain value, dropping proto3
 * default values (undefined, null, 0, false, '', empty bytes, empty lists),
 * since the wire cannot tell them from absent. Sub-messages are kept even when
 * all their fields are defaults: presence of a message field is on the wire.
 * bigint becomes the string "<n>n" so that it never equals a number.
 */
export function toPlain(v: unknown): Plain | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'bigint') return v === 0n ? undefined : `${v}n`;
  if (typeof v === 'number') return v === 0 ? undefined : v;
  if (typeof v === 'boolean') return v ? true : undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (v instanceof Uint8Array) return v.length === 0 ? undefined : bytesToPlain(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    return v.map((x) => toPlain(x) ?? {});
  }
  if (typeof v === 'object') {
    const out: { [key: string]: Plain } = {};
    for (const key of Object.keys(v as object).sort()) {
      const x = toPlain((v as Record<string, unknown>)[key]);
      if (x !== undefined) out[key] = x;
    }
    return out;
  }
  return String(v);
}

export interface Difference {
  path: string;
  expected: Plain | undefined;
  actual: Plain | undefined;
}

/** Every place where `actual` differs from `expected`, with a JSONPath-like path. */
export function diffPlain(expected: Plain | undefined, actual: Plain | undefined, path = '$'): Difference[] {
  if (expected === actual) return [];
  const isObj = (x: Plain | undefined): x is { [key: string]: Plain } =>
    x !== null && x !== undefined && typeof x === 'object' && !Array.isArray(x);
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: Difference[] = [];
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const d = diffPlain(expected[i], actual[i], `${path}[${i}]`);
      // A wholly different element (e.g. a shifted list) reads better as one line than field by field.
      if (d.length > 2) out.push({ path: `${path}[${i}]`, expected: expected[i], actual: actual[i] });
      else out.push(...d);
    }
    return out;
  }
  if (isObj(expected) && isObj(actual)) {
    const out: Difference[] = [];
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const k of keys) out.push(...diffPlain(expected[k], actual[k], `${path}.${k}`));
    return out;
  }
  return [{ path, expected, actual }];
}

export function show(v: Plain | undefined, max = 400): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}...(${s.length} chars)` : s;
}

/** Multi-line report of differences, naming the two sides. */
export function formatDiff(diffs: readonly Difference[], expectedLabel: string, actualLabel: string, indent = '    '): string {
  return diffs
    .map((d) => `${indent}${d.path}\n${indent}  ${expectedLabel}: ${show(d.expected)}\n${indent}  ${actualLabel}: ${show(d.actual)}`)
    .join('\n');
}

/** Applies `fn` to every object in a Plain tree (depth first), returning a new tree. */
export function mapObjects(v: Plain | undefined, fn: (o: { [key: string]: Plain }) => { [key: string]: Plain }): Plain | undefined {
  if (v === undefined || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => mapObjects(x, fn) ?? null);
  const out: { [key: string]: Plain } = {};
  for (const [k, x] of Object.entries(v)) {
    const m = mapObjects(x, fn);
    if (m !== undefined) out[k] = m;
  }
  return fn(out);
}
