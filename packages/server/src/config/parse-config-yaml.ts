/** A node of the YAML subset etcd configuration files use. Scalars keep their source text; typing is up to the reader. */
export type YamlNode =
  | { readonly type: 'scalar'; readonly text: string; readonly quoted: boolean; readonly line: number }
  | { readonly type: 'seq'; readonly items: readonly YamlNode[]; readonly line: number }
  | { readonly type: 'map'; readonly entries: ReadonlyMap<string, YamlNode>; readonly line: number };

export class YamlSubsetError extends Error {
  override readonly name = 'YamlSubsetError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

/** Removes a comment: '#' at the start or after whitespace, outside quotes. */
function stripComment(raw: string): string {
  let quote: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[,{-]/.test(raw[i - 1] ?? '')) quote = c;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(raw[i - 1] ?? ''))) return raw.slice(0, i);
  }
  return raw;
}

function unquoteDouble(body: string, line: number): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };
    if (e !== undefined && simple[e] !== undefined) {
      out += simple[e];
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new YamlSubsetError(line, `bad escape \\${e}${hex}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else {
      throw new YamlSubsetError(line, `unknown escape \\${e ?? ''}`);
    }
  }
  return out;
}

function scalar(text: string, line: number): YamlNode {
  const t = text.trim();
  if (t.startsWith('"')) {
    if (t.length < 2 || !t.endsWith('"') || /(^|[^\\])(\\\\)*"/.test(t.slice(1, -1))) {
      throw new YamlSubsetError(line, `unterminated or malformed double-quoted string ${t}`);
    }
    return { type: 'scalar', text: unquoteDouble(t.slice(1, -1), line), quoted: true, line };
  }
  if (t.startsWith("'")) {
    const body = t.slice(1, -1);
    if (t.length < 2 || !t.endsWith("'") || body.replace(/''/g, '').includes("'")) {
      throw new YamlSubsetError(line, `unterminated or malformed single-quoted string ${t}`);
    }
    return { type: 'scalar', text: body.replace(/''/g, "'"), quoted: true, line };
  }
  if (/^[&*!|>{]/.test(t) || t.startsWith('%') || t.startsWith('@') || t.startsWith('`')) {
    throw new YamlSubsetError(line, `unsupported YAML construct ${JSON.stringify(t)} (anchors, aliases, tags, block scalars and flow mappings are not supported)`);
  }
  return { type: 'scalar', text: t, quoted: false, line };
}

function splitFlow(body: string, line: number): string[] {
  const items: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (quote !== null) {
      cur += c;
      if (c === '\\' && quote === '"') cur += body[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    if (c === '[' || c === ']' || c === '{' || c === '}') throw new YamlSubsetError(line, 'nested flow collections are not supported');
    if (c === ',') {
      items.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quote !== null) throw new YamlSubsetError(line, 'unterminated quoted string in flow sequence');
  if (cur.trim() !== '' || items.length > 0) items.push(cur);
  return items;
}

function value(text: string, line: number): YamlNode {
  const t = text.trim();
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlSubsetError(line, 'unterminated flow sequence');
    const body = t.slice(1, -1);
    const items = body.trim() === '' ? [] : splitFlow(body, line).map((s) => scalar(s, line));
    return { type: 'seq', items, line };
  }
  return scalar(t, line);
}

/** Splits "key: value" at the first ': ' (or trailing ':') outside quotes. */
function splitKey(text: string, line: number): [string, string] | undefined {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if ((c === '"' || c === "'") && i === 0) {
      quote = c;
      continue;
    }
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\t')) {
      const rawKey = text.slice(0, i).trim();
      const key = scalar(rawKey, line);
      if (key.type !== 'scalar' || key.text === '') throw new YamlSubsetError(line, 'empty mapping key');
      return [key.text, text.slice(i + 1)];
    }
  }
  return undefined;
}

function parseBlock(lines: readonly Line[], start: number, indent: number): [YamlNode, number] {
  const first = lines[start] as Line;
  if (first.text.startsWith('- ') || first.text === '-') {
    const items: YamlNode[] = [];
    let i = start;
    while (i < lines.length && (lines[i] as Line).indent === indent && /^-( |$)/.test((lines[i] as Line).text)) {
      const l = lines[i] as Line;
      const rest = l.text.slice(1).trim();
      if (rest === '' || splitKey(rest, l.no) !== undefined) {
        throw new YamlSubsetError(l.no, 'only scalar sequence items are supported');
      }
      items.push(value(rest, l.no));
      i++;
    }
    return [{ type: 'seq', items, line: first.no }, i];
  }
  const entries = new Map<string, YamlNode>();
  let i = start;
  while (i < lines.length) {
    const l = lines[i] as Line;
    if (l.indent < indent) break;
    if (l.indent > indent) throw new YamlSubsetError(l.no, 'unexpected indentation');
    const kv = splitKey(l.text, l.no);
    if (kv === undefined) throw new YamlSubsetError(l.no, `expected "key: value", got ${JSON.stringify(l.text)}`);
    const [key, rest] = kv;
    if (entries.has(key)) throw new YamlSubsetError(l.no, `duplicate key ${JSON.stringify(key)}`);
    i++;
    if (rest.trim() !== '') {
      entries.set(key, value(rest, l.no));
      continue;
    }
    const next = lines[i];
    if (next !== undefined && (next.indent > indent || (next.indent === indent && /^-( |$)/.test(next.text)))) {
      const [node, after] = parseBlock(lines, i, next.indent);
      entries.set(key, node);
      i = after;
    } else {
      entries.set(key, { type: 'scalar', text: '', quoted: false, line: l.no });
    }
  }
  return [{ type: 'map', entries, line: first.no }, i];
}

/**
 * Parses the YAML subset found in etcd configuration files: a top-level
 * mapping of plain or quoted scalars, flow sequences ([a, b]), block sequences
 * of scalars, and nested mappings (client-transport-security). Anchors, tags,
 * multi-line scalars and flow mappings are refused with a YamlSubsetError.
 */
export function parseConfigYaml(text: string): YamlNode {
  const lines: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let n = 0; n < raw.length; n++) {
    const source = raw[n] as string;
    if (/^\t/.test(source)) throw new YamlSubsetError(n + 1, 'tabs are not allowed for indentation');
    const content = stripComment(source).trimEnd();
    if (content.trim() === '') continue;
    if (content === '---' && lines.length === 0) continue;
    if (content === '---' || content === '...') throw new YamlSubsetError(n + 1, 'only one YAML document is supported');
    const indent = content.length - content.trimStart().length;
    lines.push({ no: n + 1, indent, text: content.trimStart() });
  }
  if (lines.length === 0) return { type: 'map', entries: new Map(), line: 1 };
  const [node, end] = parseBlock(lines, 0, (lines[0] as Line).indent);
  const rest = lines[end];
  if (rest !== undefined) throw new YamlSubsetError(rest.no, 'unexpected content after the top-level block');
  return node;
}

/** The same node shape from a JSON document (JSON is valid YAML). */
export function jsonToYamlNode(v: unknown, line = 1): YamlNode {
  if (Array.isArray(v)) return { type: 'seq', items: v.map((x) => jsonToYamlNode(x, line)), line };
  if (v !== null && typeof v === 'object') {
    return { type: 'map', entries: new Map(Object.entries(v).map(([k, x]) => [k, jsonToYamlNode(x, line)])), line };
  }
  if (typeof v === 'string') return { type: 'scalar', text: v, quoted: true, line };
  return { type: 'scalar', text: v === null ? 'null' : String(v), quoted: false, line };
}
