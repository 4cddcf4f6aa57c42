import { toBuffer, type Bytes } from './codec.js';
import { KV } from './kv.js';
import type { KVTransport } from './kv-transport.js';
import { NamespaceTransport } from './namespace-transport.js';
import { KVView } from './kv-view.js';
import type { Watch } from './watch/index.js';

/**
 * The client seen from inside a key prefix: keys, ranges, txns (compares
 * included) and watches are prefixed on the way out and stripped on the way
 * back. Leases are not namespaced (they are not keys).
 */
export class Namespace extends KVView {
  readonly kv: KV;
  readonly prefix: Buffer;
  protected readonly watchView: Watch;

  constructor(outer: KVTransport, watch: Watch, prefix: Buffer) {
    super();
    const transport = new NamespaceTransport(outer, prefix);
    this.prefix = transport.prefix;
    this.kv = new KV(transport);
    this.watchView = watch.withPrefix(this.prefix);
  }

  /** A namespace nested in this one. */
  namespace(prefix: Bytes): Namespace {
    return new Namespace(this.kv.transport, this.watchView, toBuffer(prefix));
  }
}
