#!/usr/bin/env node
// Generates packages/api/src/gen/*.ts from packages/api/proto/**/*.proto.
//
// protobufjs is used here only to parse the .proto files; the emitted code
// depends on nothing but our own runtime in src/codec/. Output is a pure
// function of the .proto files and this script, and a file is rewritten only
// when its content changes (so incremental tsc builds stay incremental).
//
// Mapping (see packages/api/README.md):
//   decoded shape `Foo`: every field present, proto3 defaults; singular
//     message fields `Bar | undefined`; oneof members optional, at most one set.
//   encoder input `FooInit`: every field optional; message-typed fields also
//     accept PreEncoded; bytes accept strings (UTF-8); bigint fields accept
//     numbers too.
//   64-bit integers: bigint when the field name is in BIGINT_FIELDS, else a
//     number checked to be a safe integer.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIR = path.resolve(here, '../proto');
const OUT_DIR = path.resolve(here, '../src/gen');

/**
 * 64-bit integer fields decoded as bigint, by .proto field name, in every
 * message of every package. These hold identifiers (random or structured
 * 64-bit values that routinely exceed 2^53) or nanosecond timestamps. Every
 * other int64/uint64/sint64/fixed64/sfixed64 field is a number, and decoding
 * throws CodecError('INTEGER_RANGE') if its value is not a safe integer.
 */
export const BIGINT_FIELDS = new Map([
  ['ID', 'member, lease, request and proposal IDs'],
  ['id', 'raftpb.ConfChange proposal ID'],
  ['lease', 'lease ID (int64) in KeyValue, PutRequest, Compare, LockRequest, CampaignRequest, LeaderKey'],
  ['leader', 'StatusResponse leader member ID'],
  ['cluster_id', 'ResponseHeader cluster ID'],
  ['member_id', 'ResponseHeader member ID'],
  ['targetID', 'MoveLeaderRequest target member ID'],
  ['memberID', 'AlarmRequest / AlarmMember member ID'],
  ['to', 'raftpb.Message destination node ID'],
  ['from', 'raftpb.Message source node ID'],
  ['vote', 'raftpb.HardState node voted for'],
  ['lead', 'raft leader node ID'],
  ['node_id', 'raftpb.ConfChange / ConfChangeSingle node ID'],
  ['voters', 'raftpb.ConfState node IDs'],
  ['learners', 'raftpb.ConfState node IDs'],
  ['voters_outgoing', 'raftpb.ConfState node IDs'],
  ['learners_next', 'raftpb.ConfState node IDs'],
  ['NodeID', 'etcdserverpb.Metadata member ID'],
  ['ClusterID', 'etcdserverpb.Metadata cluster ID'],
  ['Expiration', 'etcdserverpb.Request Unix nanoseconds'],
  ['Time', 'etcdserverpb.Request Unix nanoseconds'],
]);

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Per scalar type: wire type, writer method(s), reader method(s), TS type, default. */
const SCALARS = {
  double: { wt: 1, w: 'double', r: 'double', ts: 'number', def: '0', size: '8' },
  float: { wt: 5, w: 'float', r: 'float', ts: 'number', def: '0', size: '4' },
  int32: { wt: 0, w: 'int32', r: 'int32', ts: 'number', def: '0', size: '$size.int32Size' },
  uint32: { wt: 0, w: 'uint32', r: 'uint32', ts: 'number', def: '0', size: '$size.varint32Size' },
  sint32: { wt: 0, w: 'sint32', r: 'sint32', ts: 'number', def: '0', size: '$size.sint32Size' },
  fixed32: { wt: 5, w: 'fixed32', r: 'fixed32', ts: 'number', def: '0', size: '4' },
  sfixed32: { wt: 5, w: 'sfixed32', r: 'sfixed32', ts: 'number', def: '0', size: '4' },
  int64: {
    wt: 0,
    w: 'int64Number',
    wBig: 'int64',
    r: 'int64Number',
    rBig: 'int64Big',
    size: '$size.int64NumberSize',
    sizeBig: '$size.int64Size',
  },
  uint64: {
    wt: 0,
    w: 'uint64Number',
    wBig: 'uint64',
    r: 'uint64Number',
    rBig: 'uint64Big',
    size: '$size.uint64NumberSize',
    sizeBig: '$size.uint64Size',
  },
  sint64: {
    wt: 0,
    w: 'sint64Number',
    wBig: 'sint64',
    r: 'sint64Number',
    rBig: 'sint64Big',
    size: '$size.sint64NumberSize',
    sizeBig: '$size.sint64Size',
  },
  fixed64: { wt: 1, w: 'fixed64', wBig: 'fixed64', r: 'fixed64Number', rBig: 'fixed64Big', size: '8', sizeBig: '8' },
  sfixed64: { wt: 1, w: 'fixed64', wBig: 'fixed64', r: 'sfixed64Number', rBig: 'sfixed64Big', size: '8', sizeBig: '8' },
  bool: { wt: 0, w: 'bool', r: 'bool', ts: 'boolean', def: 'false', size: '1' },
  string: { wt: 2, w: 'string', r: 'string', ts: 'string', def: "''", size: '$size.stringSize' },
  bytes: { wt: 2, w: 'bytes', r: 'bytes', ts: 'Buffer', def: '$EMPTY_BUFFER', size: '$size.bytesSize' },
};

// ---------------------------------------------------------------------------
// Loading

function listProtoFiles(dir) {
  const out = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...listProtoFiles(p));
    else if (ent.name.endsWith('.proto')) out.push(p);
  }
  return out;
}

function loadRoot() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  root.loadSync(listProtoFiles(PROTO_DIR), { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** protobufjs's field-name conversion: `_x` -> `X` for lowercase x, first character kept. */
function camelCase(s) {
  return s.substring(0, 1) + s.substring(1).replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
}

function lowerFirst(s) {
  return s.substring(0, 1).toLowerCase() + s.substring(1);
}

/** Package of a reflection object: the first segment of its full name. */
function packageOf(obj) {
  return obj.fullName.replace(/^\./, '').split('.')[0];
}

/** TS name of a type inside its package module: nested names joined by `_`. */
function localName(obj) {
  return obj.fullName.replace(/^\./, '').split('.').slice(1).join('_');
}

function collect(ns, pkgs) {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type || n instanceof protobuf.Enum || n instanceof protobuf.Service) {
      const pkg = packageOf(n);
      if (!pkgs.has(pkg)) pkgs.set(pkg, { types: [], enums: [], services: [] });
      const entry = pkgs.get(pkg);
      if (n instanceof protobuf.Type) entry.types.push(n);
      else if (n instanceof protobuf.Enum) entry.enums.push(n);
      else entry.services.push(n);
    }
    if (n.nestedArray && !(n instanceof protobuf.Enum)) collect(n, pkgs);
  }
}

// ---------------------------------------------------------------------------
// Field model

function describeField(f, pkg, refs) {
  if (f.map) throw new Error(`${f.fullName}: map fields are not supported`);
  const name = camelCase(f.name);
  const d = {
    proto: f,
    name,
    prop: /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name),
    id: f.id,
    repeated: f.repeated,
    oneof: f.partOf && f.partOf.oneof.length > 0 && !f.partOf.name.startsWith('_') ? f.partOf : null,
    comment: f.comment,
  };
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    d.kind = 'message';
    d.ref = typeRef(rt, pkg, refs, true);
    d.wt = 2;
  } else if (rt instanceof protobuf.Enum) {
    d.kind = 'enum';
    d.ref = typeRef(rt, pkg, refs, false);
    d.wt = 0;
    d.size = '$size.int32Size';
    const first = Object.values(rt.values)[0];
    d.def = String(first ?? 0);
  } else {
    const s = SCALARS[f.type];
    if (!s) throw new Error(`${f.fullName}: unsupported type ${f.type}`);
    d.kind = 'scalar';
    d.scalar = f.type;
    d.wt = s.wt;
    if (INT64_TYPES.has(f.type)) {
      d.big = BIGINT_FIELDS.has(f.name);
      d.w = d.big ? s.wBig : s.w;
      d.r = d.big ? s.rBig : s.r;
      d.ts = d.big ? 'bigint' : 'number';
      d.def = d.big ? '0n' : '0';
      d.size = d.big ? s.sizeBig : s.size;
    } else {
      d.w = s.w;
      d.r = s.r;
      d.ts = s.ts;
      d.def = s.def;
      d.size = s.size;
    }
  }
  d.packed = d.repeated && d.kind !== 'message' && d.wt !== 2 ? f.packed : false;
  d.tag = ((d.id << 3) | d.wt) >>> 0;
  return d;
}

function typeRef(t, pkg, refs, isValue) {
  const p = packageOf(t);
  const n = localName(t);
  if (p === pkg) return { local: true, name: n, full: n };
  if (!refs.has(p)) refs.set(p, false);
  if (isValue) refs.set(p, true);
  return { local: false, name: n, full: `${p}.${n}`, pkg: p };
}

// ---------------------------------------------------------------------------
// Emission helpers

function docComment(text, indent) {
  if (!text) return '';
  const lines = text.split('\n').map((l) => l.replace(/\*\//g, '*\\/'));
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} *${l ? ' ' + l : ''}`).join('\n')}\n${indent} */\n`;
}

function decodedType(d) {
  let t;
  if (d.kind === 'message') t = d.ref.full;
  else if (d.kind === 'enum') t = d.ref.full;
  else t = d.ts;
  if (d.repeated) return `${t}[]`;
  if (d.kind === 'message' && !d.oneof) return `${t} | undefined`;
  return t;
}

function initType(d) {
  let t;
  if (d.kind === 'message') {
    const init = d.ref.local ? `${d.ref.name}Init` : `${d.ref.pkg}.${d.ref.name}Init`;
    t = `${init} | $PreEncoded`;
  } else if (d.kind === 'enum') t = d.ref.full;
  else if (d.scalar === 'bytes') t = 'Uint8Array | string';
  else if (d.ts === 'bigint') t = 'bigint | number';
  else t = d.ts;
  if (d.repeated) return `readonly (${t})[] | undefined`;
  return `${t} | undefined`;
}

/** Expression that writes the tag of d. */
function writeTag(tag) {
  return tag < 128 ? `w.u8(${tag});` : `w.uint32(${tag});`;
}

/** Statements writing one non-repeated value `v` (already known to be present). */
function writeValue(d, v, indent) {
  if (d.kind === 'message') {
    const enc = d.ref.local ? `encode$${d.ref.name}` : `${d.ref.full}.encodeTo`;
    return (
      `${indent}if (${v} instanceof $PreEncoded) w.bytes(${v}.bytes);\n` +
      `${indent}else {\n` +
      `${indent}  w.uint32(${sizeFn(d)}(${v}));\n` +
      `${indent}  ${enc}(${v}, w);\n` +
      `${indent}}\n`
    );
  }
  if (d.kind === 'enum') return `${indent}w.int32(${v});\n`;
  return `${indent}w.${d.w}(${v});\n`;
}

/** Name of the size function of a message-typed field. */
function sizeFn(d) {
  return d.ref.local ? `size$${d.ref.name}` : `${d.ref.full}.encodedSize`;
}

/** Expression for the encoded size of one value `v` (no tag). */
function valueSize(d, v) {
  if (d.kind === 'message') {
    return `(${v} instanceof $PreEncoded ? $size.delimitedSize(${v}.bytes.length) : $size.delimitedSize(${sizeFn(d)}(${v})))`;
  }
  return /^[0-9]+$/.test(d.size) ? d.size : `${d.size}(${v})`;
}

function tagSize(tag) {
  return tag < 0x80 ? 1 : tag < 0x4000 ? 2 : tag < 0x200000 ? 3 : tag < 0x10000000 ? 4 : 5;
}

/** Condition under which a non-oneof singular value `v` differs from its default. */
function presentCond(d, v) {
  if (d.kind === 'message') return `${v} != null`;
  if (d.kind === 'enum') return `${v} != null && ${v} !== 0`;
  switch (d.scalar) {
    case 'bool':
      return `${v} === true`;
    case 'string':
      return `${v} != null && ${v} !== ''`;
    case 'bytes':
      return `${v} != null && ${v}.length !== 0`;
    default:
      return d.ts === 'bigint' ? `${v} != null && ${v} !== 0 && ${v} !== 0n` : `${v} != null && ${v} !== 0`;
  }
}

function readExpr(d) {
  if (d.kind === 'message') return d.ref.local ? `decode$${d.ref.name}(r, r.end())` : `${d.ref.full}.decodeFrom(r, r.end())`;
  if (d.kind === 'enum') return `r.int32() as ${d.ref.full}`;
  return `r.${d.r}()`;
}

function createExpr(d, v) {
  if (d.kind === 'message') {
    const codec = d.ref.local ? null : d.ref.full;
    const create = codec ? `${codec}.create` : `create$${d.ref.name}`;
    const decode = codec ? `${codec}.decode` : `${d.ref.name}.decode`;
    return `${v} instanceof $PreEncoded ? ${decode}(${v}.bytes) : ${create}(${v})`;
  }
  if (d.kind === 'scalar' && d.scalar === 'bytes') return `$toBuffer(${v})`;
  if (d.kind === 'scalar' && d.ts === 'bigint') return `BigInt(${v})`;
  return v;
}

// ---------------------------------------------------------------------------
// Messages

function emitEnum(e) {
  const name = localName(e);
  let s = docComment(e.comment, '');
  s += `export const ${name} = {\n`;
  for (const [k, v] of Object.entries(e.values)) {
    s += docComment(e.comments?.[k], '  ');
    s += `  ${k}: ${v},\n`;
  }
  s += `} as const;\n`;
  s += `export type ${name} = (typeof ${name})[keyof typeof ${name}];\n`;
  return s;
}

function emitMessage(t, pkg, refs) {
  const name = localName(t);
  const fields = t.fieldsArray.map((f) => describeField(f, pkg, refs));
  const byNumber = [...fields].sort((a, b) => a.id - b.id);
  const oneofs = t.oneofsArray.filter((o) => o.fieldsArray.length > 0 && !o.name.startsWith('_'));
  let s = '';

  // Decoded shape.
  s += docComment(t.comment, '');
  s += `export interface ${name} {\n`;
  for (const d of fields) {
    s += docComment(d.comment, '  ');
    s += `  ${d.prop}${d.oneof ? '?' : ''}: ${decodedType(d)};\n`;
  }
  s += `}\n\n`;

  // Encoder input.
  s += `/** Encoder input for {@link ${name}}: every field optional. */\n`;
  s += `export interface ${name}Init {\n`;
  for (const d of fields) s += `  ${d.prop}?: ${initType(d)};\n`;
  s += `}\n\n`;

  // Encoder.
  s += `function encode$${name}(m: ${name}Init, w: $Writer): void {\n`;
  for (const o of oneofs) {
    const members = fields.filter((d) => d.oneof === o);
    if (members.length > 1) {
      s += `  if (${members.map((d) => `(m.${d.name} != null ? 1 : 0)`).join(' + ')} > 1) {\n`;
      s += `    throw new $CodecError('ONEOF_CONFLICT', '${t.fullName.replace(/^\./, '')}.${o.name}: more than one member set');\n`;
      s += `  }\n`;
    }
  }
  for (const d of byNumber) {
    const v = `f${d.id}`;
    s += `  const ${v} = m.${d.name};\n`;
    if (d.repeated) {
      if (d.packed) {
        s += `  if (${v} != null && ${v}.length !== 0) {\n`;
        s += `    ${writeTag(((d.id << 3) | 2) >>> 0)}\n`;
        s += `    let size = 0;\n`;
        s += `    for (let i = 0; i < ${v}.length; i++) size += ${valueSize(d, `${v}[i]!`)};\n`;
        s += `    w.uint32(size);\n`;
        s += `    for (let i = 0; i < ${v}.length; i++) ${d.kind === 'enum' ? 'w.int32' : `w.${d.w}`}(${v}[i]!);\n`;
        s += `  }\n`;
      } else {
        s += `  if (${v} != null) {\n`;
        s += `    for (let i = 0; i < ${v}.length; i++) {\n`;
        s += `      const x = ${v}[i]!;\n`;
        s += `      ${writeTag(d.tag)}\n`;
        s += writeValue(d, 'x', '      ');
        s += `    }\n`;
        s += `  }\n`;
      }
    } else {
      const cond = d.oneof ? `${v} != null` : presentCond(d, v);
      s += `  if (${cond}) {\n`;
      s += `    ${writeTag(d.tag)}\n`;
      s += writeValue(d, v, '    ');
      s += `  }\n`;
    }
  }
  if (fields.length === 0) s += `  void m;\n  void w;\n`;
  s += `}\n\n`;

  // Size.
  s += `function size$${name}(m: ${name}Init): number {\n`;
  s += `  let n = 0;\n`;
  for (const d of byNumber) {
    const v = `f${d.id}`;
    s += `  const ${v} = m.${d.name};\n`;
    if (d.repeated) {
      if (d.packed) {
        s += `  if (${v} != null && ${v}.length !== 0) {\n`;
        s += `    let size = 0;\n`;
        s += `    for (let i = 0; i < ${v}.length; i++) size += ${valueSize(d, `${v}[i]!`)};\n`;
        s += `    n += ${tagSize(((d.id << 3) | 2) >>> 0)} + $size.delimitedSize(size);\n`;
        s += `  }\n`;
      } else {
        s += `  if (${v} != null) {\n`;
        s += `    n += ${tagSize(d.tag)} * ${v}.length;\n`;
        s += `    for (let i = 0; i < ${v}.length; i++) {\n`;
        s += `      const x = ${v}[i]!;\n`;
        s += `      n += ${valueSize(d, 'x')};\n`;
        s += `    }\n`;
        s += `  }\n`;
      }
    } else {
      const cond = d.oneof ? `${v} != null` : presentCond(d, v);
      s += `  if (${cond}) n += ${tagSize(d.tag)} + ${valueSize(d, v)};\n`;
    }
  }
  if (fields.length === 0) s += `  void m;\n`;
  s += `  return n;\n`;
  s += `}\n\n`;

  // Decoder.
  const literal = fields
    .filter((d) => !d.oneof)
    .map((d) => `${d.prop}: ${d.repeated ? '[]' : d.kind === 'message' ? 'undefined' : d.def}`)
    .join(', ');
  s += `function decode$${name}(r: $Reader, end: number): ${name} {\n`;
  s += `  const m: ${name} = ${literal ? `{ ${literal} }` : '{}'};\n`;
  s += `  while (r.pos < end) {\n`;
  s += `    const t = r.uint32();\n`;
  if (fields.length === 0) {
    s += `    r.skipTag(t);\n`;
  } else {
    s += `    switch (t) {\n`;
    for (const d of byNumber) {
      if (d.repeated) {
        if (d.wt !== 2) {
          const packedTag = ((d.id << 3) | 2) >>> 0;
          s += `      case ${packedTag}: {\n`;
          s += `        const e = r.end();\n`;
          s += `        while (r.pos < e) m.${d.name}.push(${readExpr(d)});\n`;
          s += `        r.checkEnd(e);\n`;
          s += `        break;\n`;
          s += `      }\n`;
        }
        s += `      case ${d.tag}:\n`;
        s += `        m.${d.name}.push(${readExpr(d)});\n`;
        s += `        break;\n`;
      } else {
        s += `      case ${d.tag}:\n`;
        if (d.oneof) {
          for (const o of fields.filter((x) => x.oneof === d.oneof && x !== d)) {
            s += `        if (m.${o.name} !== undefined) delete m.${o.name};\n`;
          }
        }
        s += `        m.${d.name} = ${readExpr(d)};\n`;
        s += `        break;\n`;
      }
    }
    s += `      default:\n`;
    s += `        r.skipTag(t);\n`;
    s += `    }\n`;
  }
  s += `  }\n`;
  s += `  r.checkEnd(end);\n`;
  s += `  return m;\n`;
  s += `}\n\n`;

  // create().
  s += `function create$${name}(i?: ${name}Init): ${name} {\n`;
  if (fields.length === 0) {
    s += `  void i;\n  return {};\n`;
  } else {
    const plain = fields.filter((d) => !d.oneof);
    const parts = plain.map((d) => {
      const v = `i.${d.name}`;
      if (d.repeated) {
        const needsMap = d.kind === 'message' || (d.kind === 'scalar' && (d.scalar === 'bytes' || d.ts === 'bigint'));
        return `${d.prop}: ${v} == null ? [] : ${needsMap ? `${v}.map((x) => ${createExpr(d, 'x')})` : `[...${v}]`}`;
      }
      if (d.kind === 'message') return `${d.prop}: ${v} == null ? undefined : ${createExpr(d, v)}`;
      const ce = createExpr(d, v);
      if (ce === v) return `${d.prop}: ${v} ?? ${d.def}`;
      return `${d.prop}: ${v} == null ? ${d.def} : ${ce}`;
    });
    s += `  if (i === undefined) return ${literal ? `{ ${literal} }` : '{}'};\n`;
    s += parts.length > 0 ? `  const m: ${name} = {\n${parts.map((p) => `    ${p},\n`).join('')}  };\n` : `  const m: ${name} = {};\n`;
    for (const d of fields.filter((x) => x.oneof)) {
      s += `  if (i.${d.name} != null) m.${d.name} = ${createExpr(d, `i.${d.name}`)};\n`;
    }
    s += `  return m;\n`;
  }
  s += `}\n\n`;

  // Codec object.
  s += `export const ${name}: $MessageType<${name}, ${name}Init> = {\n`;
  s += `  fullName: '${t.fullName.replace(/^\./, '')}',\n`;
  s += `  create: create$${name},\n`;
  s += `  encode: (m) => $encodeExact(m, size$${name}(m), encode$${name}),\n`;
  s += `  encodedSize: size$${name},\n`;
  s += `  encodeTo: encode$${name},\n`;
  s += `  decode: (b) => {\n`;
  s += `    const r = new $Reader(b);\n`;
  s += `    return decode$${name}(r, r.len);\n`;
  s += `  },\n`;
  s += `  decodeFrom: decode$${name},\n`;
  s += `};\n`;
  return { code: s, fields };
}

const HEADER = '// Generated by packages/api/scripts/gen-codecs.mjs from packages/api/proto. Do not edit.\n';

function emitPackage(pkg, entry) {
  const refs = new Map();
  const parts = [];
  for (const e of entry.enums) parts.push(emitEnum(e));
  for (const t of entry.types) parts.push(emitMessage(t, pkg, refs).code);
  const body = parts.join('\n');
  const uses = (id) => body.includes(id);
  let head = HEADER;
  head += `/* eslint-disable */\n`;
  if (uses('$CodecError')) head += `import { CodecError as $CodecError } from '../codec/codec-error.js';\n`;
  head += `import type { MessageType as $MessageType } from '../codec/message-type.js';\n`;
  if (uses('$PreEncoded')) head += `import { PreEncoded as $PreEncoded } from '../codec/pre-encoded.js';\n`;
  head += `import { Reader as $Reader } from '../codec/reader.js';\n`;
  if (uses('$size.')) head += `import * as $size from '../codec/sizes.js';\n`;
  const buf = [uses('$EMPTY_BUFFER') && 'EMPTY_BUFFER as $EMPTY_BUFFER', uses('$toBuffer') && 'toBuffer as $toBuffer'].filter(Boolean);
  if (buf.length > 0) head += `import { ${buf.join(', ')} } from '../codec/to-buffer.js';\n`;
  head += `import { encodeExact as $encodeExact, type Writer as $Writer } from '../codec/writer.js';\n`;
  for (const [p, isValue] of [...refs.entries()].sort()) {
    head += isValue ? `import * as ${p} from './${p}.js';\n` : `import type * as ${p} from './${p}.js';\n`;
  }
  return `${head}\n${body}`;
}

// ---------------------------------------------------------------------------
// Services

function emitServices(pkgs) {
  const imports = new Set();
  let body = '';
  const index = [];
  for (const [pkg, entry] of [...pkgs.entries()].sort()) {
    for (const svc of entry.services) {
      const svcName = svc.name;
      const full = svc.fullName.replace(/^\./, '');
      const ids = `${svcName}`;
      index.push(ids);
      const methods = svc.methodsArray.map((m) => {
        const req = m.resolvedRequestType;
        const res = m.resolvedResponseType;
        const reqPkg = packageOf(req);
        const resPkg = packageOf(res);
        imports.add(reqPkg);
        imports.add(resPkg);
        return {
          key: lowerFirst(m.name),
          name: m.name,
          comment: m.comment,
          reqStream: !!m.requestStream,
          resStream: !!m.responseStream,
          req: `${reqPkg}.${localName(req)}`,
          res: `${resPkg}.${localName(res)}`,
        };
      });
      body += docComment(svc.comment, '');
      body += `export type ${svcName}ServiceDefinition = {\n`;
      for (const m of methods) {
        body += `  readonly ${m.key}: EtcdMethodDefinition<${m.req}Init, ${m.req}, ${m.res}Init, ${m.res}, ${m.reqStream}, ${m.resStream}>;\n`;
      }
      body += `};\n\n`;
      body += `/** Service definition of ${full}, for grpc-js Server.addService and makeGenericClientConstructor. */\n`;
      body += `export const ${svcName}Service: ${svcName}ServiceDefinition = {\n`;
      for (const m of methods) {
        body += docComment(m.comment, '  ');
        body += `  ${m.key}: {\n`;
        body += `    path: '/${full}/${m.name}',\n`;
        body += `    requestStream: ${m.reqStream},\n`;
        body += `    responseStream: ${m.resStream},\n`;
        body += `    requestSerialize: ${m.req}.encode,\n`;
        body += `    requestDeserialize: ${m.req}.decode,\n`;
        body += `    responseSerialize: ${m.res}.encode,\n`;
        body += `    responseDeserialize: ${m.res}.decode,\n`;
        body += `    originalName: '${m.name}',\n`;
        body += `  },\n`;
      }
      body += `};\n\n`;
      body += `/** Server implementation of ${full}: requests arrive decoded, responses may use PreEncoded fields. */\n`;
      body += `export interface ${svcName}Server extends grpc.UntypedServiceImplementation {\n`;
      for (const m of methods) {
        const h = m.reqStream
          ? m.resStream
            ? 'handleBidiStreamingCall'
            : 'handleClientStreamingCall'
          : m.resStream
            ? 'handleServerStreamingCall'
            : 'handleUnaryCall';
        body += `  ${m.key}: grpc.${h}<${m.req}, ${m.res}Init>;\n`;
      }
      body += `}\n\n`;
      body += `/** Client stub of ${full}, as built by makeGenericClientConstructor(${svcName}Service, '${svcName}'). */\n`;
      body += `export interface ${svcName}Client extends grpc.Client {\n`;
      for (const m of methods) {
        const t = m.reqStream
          ? m.resStream
            ? 'BidiStreamClientMethod'
            : 'ClientStreamClientMethod'
          : m.resStream
            ? 'ServerStreamClientMethod'
            : 'UnaryClientMethod';
        body += `  ${m.key}: ${t}<${m.req}Init, ${m.res}>;\n`;
      }
      body += `}\n\n`;
      body += `export type ${svcName}ClientConstructor = ClientConstructor<${svcName}Client>;\n\n`;
    }
  }
  let head = HEADER;
  head += `/* eslint-disable */\n`;
  head += `import type * as grpc from '@grpc/grpc-js';\n`;
  head += `import type {\n  BidiStreamClientMethod,\n  ClientConstructor,\n  ClientStreamClientMethod,\n  EtcdMethodDefinition,\n  ServerStreamClientMethod,\n  UnaryClientMethod,\n} from '../service-types.js';\n`;
  for (const p of [...imports].sort()) head += `import * as ${p} from './${p}.js';\n`;
  return `${head}\n${body.trimEnd()}\n`;
}

// ---------------------------------------------------------------------------

function writeIfChanged(file, content) {
  let old = null;
  try {
    old = fs.readFileSync(file, 'utf8');
  } catch {
    // absent
  }
  if (old === content) return false;
  fs.writeFileSync(file, content);
  return true;
}

function main() {
  const root = loadRoot();
  const pkgs = new Map();
  collect(root, pkgs);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const expected = new Set();
  let changed = 0;
  for (const [pkg, entry] of [...pkgs.entries()].sort()) {
    if (pkg.includes('.')) throw new Error(`nested package names are not supported: ${pkg}`);
    const file = path.join(OUT_DIR, `${pkg}.ts`);
    expected.add(path.basename(file));
    if (writeIfChanged(file, emitPackage(pkg, entry))) changed++;
  }
  const svcFile = path.join(OUT_DIR, 'services.ts');
  expected.add('services.ts');
  if (writeIfChanged(svcFile, emitServices(pkgs))) changed++;
  for (const f of fs.readdirSync(OUT_DIR)) {
    if (f.endsWith('.ts') && !expected.has(f)) fs.rmSync(path.join(OUT_DIR, f));
  }
  if (process.env.GEN_CODECS_VERBOSE) console.log(`gen-codecs: ${expected.size} files, ${changed} changed`);
}

main();
