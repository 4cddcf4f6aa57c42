import { ErrRaftInvariant } from './errors.js';
import { ConfChangeType } from './types.js';
import type { ConfChange } from './types.js';

/*
 * ConfChange entries carry raftpb.ConfChange in protobuf wire format:
 * 1: ID (uint64), 2: Type (enum), 3: NodeID (uint64), 4: Context (bytes).
 */

function pushVarint(out: number[], v: bigint): void {
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const head: number[] = [];
  head.push(0x08);
  pushVarint(head, cc.id);
  head.push(0x10);
  pushVarint(head, BigInt(cc.type));
  head.push(0x18);
  pushVarint(head, cc.nodeId);
  if (cc.context.byteLength > 0) {
    head.push(0x22);
    pushVarint(head, BigInt(cc.context.byteLength));
  }
  const out = new Uint8Array(head.length + cc.context.byteLength);
  out.set(head, 0);
  out.set(cc.context, head.length);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = data[pos++];
      if (b === undefined || shift > 63n) throw new ErrRaftInvariant('malformed ConfChange: bad varint');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
  };
  let id = 0n;
  let type: ConfChangeType = ConfChangeType.AddNode;
  let nodeId = 0n;
  let context = new Uint8Array(0);
  while (pos < data.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint();
      if (field === 1) id = v;
      else if (field === 2) {
        const t = Number(v);
        if (t !== 0 && t !== 1 && t !== 2 && t !== 3) throw new ErrRaftInvariant(`malformed ConfChange: type ${t}`);
        type = t;
      } else if (field === 3) nodeId = v;
    } else if (wire === 2) {
      const len = Number(readVarint());
      if (pos + len > data.length) throw new ErrRaftInvariant('malformed ConfChange: truncated bytes');
      if (field === 4) context = data.slice(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new ErrRaftInvariant(`malformed ConfChange: wire type ${wire}`);
    }
  }
  if (pos > data.length) throw new ErrRaftInvariant('malformed ConfChange: truncated');
  return { id, type, nodeId, context };
}
