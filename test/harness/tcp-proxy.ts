/**
 * A TCP proxy on 127.0.0.1 that stands between a client and a server to inject
 * network faults: break every connection, black-hole traffic, refuse new
 * connections, cut a stream after a number of response bytes, or let requests
 * through while losing their answers.
 *
 * Each accepted connection is a pair (client side, server side). Bytes flow
 * through `deliver`, the one place where faults are applied and counters kept.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /** "host:port" of the server new connections are forwarded to. */
  target: string;
  /** Port to listen on (127.0.0.1). Default: a free port chosen by the kernel. */
  port?: number;
}

export interface TcpProxy {
  /** "127.0.0.1:port", the address clients dial. */
  readonly endpoint: string;
  readonly port: number;
  /** Bytes forwarded client → server. */
  readonly bytesUp: number;
  /** Bytes forwarded server → client. */
  readonly bytesDown: number;
  /** Connections accepted so far (refused ones included). */
  readonly connections: number;
  /** Connection pairs currently open. */
  readonly liveConnections: number;
  /** Bytes received while paused and not forwarded yet (both directions). */
  readonly heldBytes: number;
  /** Forward new connections to `hostPort`; existing ones keep their server (breakAll() moves them). */
  setTarget(hostPort: string): void;
  /** Destroys every live pair, both sides, with a reset. */
  breakAll(): void;
  /**
   * Stops forwarding in both directions without closing anything (a black
   * hole). Bytes received meanwhile are held and delivered in order by resume().
   * New connections are accepted and held too.
   */
  pause(): void;
  resume(): void;
  /** While on, new connections are closed as soon as they are accepted. */
  refuse(on: boolean): void;
  /**
   * Once `n` more bytes went server → client (counted from this call, over all
   * connections), forwards exactly up to that byte, drops the rest and breaks
   * every connection. One-shot; a later call replaces an armed one.
   */
  cutAfterDownstreamBytes(n: number): void;
  /**
   * While on, client → server bytes are forwarded, server → client bytes are
   * discarded, and a connection is broken as soon as an answer arrives on it:
   * the request reaches the server, its answer is lost. On HTTP/2 (gRPC) an
   * answer is a response frame (HEADERS, DATA, RST_STREAM, GOAWAY); control
   * frames (PING, SETTINGS, WINDOW_UPDATE) are discarded without breaking, so
   * the server has handled the request when the connection breaks. On any other
   * protocol, any server byte is an answer. Arm it on an established, idle
   * connection (an HTTP/2 server speaks first on a new one). Turning it off
   * breaks the connections that lost bytes meanwhile.
   */
  dropResponses(on: boolean): void;
  /** Stops listening and destroys every socket. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One direction of a pair. */
interface Flow {
  readonly from: Socket;
  readonly to: Socket;
  readonly down: boolean;
  /** Chunks received while the proxy was paused, in arrival order. Empty unless paused or just resumed. */
  held: Buffer[];
  /** Total length of `held`; past HOLD_LIMIT `from` is paused (TCP flow control takes over). */
  heldBytes: number;
  /** `to` reported backpressure; `from` stays paused until 'drain'. */
  blocked: boolean;
  /** `from` ended; `to` is ended once `held` is flushed. */
  ended: boolean;
}

interface Pair {
  readonly client: Socket;
  readonly server: Socket;
  readonly up: Flow;
  readonly down: Flow;
  /** Frame position in the server → client bytes delivered so far. */
  readonly frames: FrameScan;
  /** Server bytes were discarded by dropResponses: the client's view of the stream is broken. */
  lostBytes: boolean;
}

/**
 * Follows the HTTP/2 frames a server sends (RFC 9113 §4.1: 9-byte header with a
 * 24-bit length, type, flags and stream id) so that dropResponses can tell an
 * answer from control frames. grpc-go (real etcd) sends a PING as soon as a
 * request's DATA arrives, before the handler ran; breaking on it would cancel
 * the request instead of losing its answer.
 */
class FrameScan {
  /** Payload bytes of the current frame still to come. */
  private skip = 0;
  /** The next frame header while incomplete (< 9 bytes). */
  private header = Buffer.alloc(0);
  private frames = 0;
  /** False once the first frame was not a SETTINGS frame on stream 0 (RFC 9113 §3.4): not HTTP/2. */
  private h2 = true;

  /**
   * Advances past `chunk`; true if an answer starts in it (DATA, HEADERS or
   * RST_STREAM on a stream, or GOAWAY), or if the bytes are not known to be HTTP/2.
   */
  answers(chunk: Buffer): boolean {
    let answer = false;
    for (let i = 0; i < chunk.length && this.h2; ) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(9 - this.header.length, chunk.length - i);
      this.header = Buffer.concat([this.header, chunk.subarray(i, i + n)]);
      i += n;
      if (this.header.length < 9) break;
      const h = this.header;
      this.header = Buffer.alloc(0);
      const type = h[3];
      const stream = h.readUInt32BE(5) & 0x7fffffff;
      if (this.frames++ === 0 && (type !== 4 || stream !== 0)) this.h2 = false;
      if (type === 7 || (stream !== 0 && (type === 0 || type === 1 || type === 3))) answer = true;
      this.skip = h.readUIntBE(0, 3);
    }
    return answer || !this.h2 || this.frames === 0;
  }
}

/** Bytes held per direction of a paused pair before reading from its source stops. */
const HOLD_LIMIT = 1 << 20;

function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(hostPort);
  const port = Number(m?.[3]);
  if (m === null || !(port > 0 && port < 65536)) throw new Error(`expected host:port, got ${JSON.stringify(hostPort)}`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Destroys a socket with a TCP reset (plain destroy if it cannot send one). */
function reset(s: Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  let target = parseHostPort(opts.target);
  /** Invariant: holds exactly the pairs whose sockets are not both closed. */
  const pairs = new Set<Pair>();
  /** Sockets accepted but not part of a pair (refused ones being closed). */
  const loose = new Set<Socket>();
  let bytesUp = 0;
  let bytesDown = 0;
  let connections = 0;
  let paused = false;
  let refusing = false;
  let dropping = false;
  let closed = false;
  /** bytesDown value at which to cut; undefined when not armed. */
  let cutAt: number | undefined;
  /** The cut point was reached: downstream bytes are dropped until the break. */
  let cutting = false;

  const breakPair = (p: Pair): void => {
    reset(p.client);
    reset(p.server);
  };
  const breakAll = (): void => {
    for (const p of pairs) breakPair(p);
    cutting = false;
  };

  const finishEnd = (f: Flow): void => {
    if (f.ended && f.held.length === 0 && !f.to.destroyed) f.to.end();
  };

  /** Forwards one chunk of flow `f` of pair `p`, applying the faults in force. */
  const deliver = (p: Pair, f: Flow, chunk: Buffer): void => {
    if (f.to.destroyed) return;
    if (paused) {
      f.held.push(chunk);
      f.heldBytes += chunk.length;
      if (f.heldBytes >= HOLD_LIMIT) f.from.pause();
      return;
    }
    let data = chunk;
    if (f.down) {
      if (cutting) return;
      // Keep the frame position whether dropping or not.
      const answer = p.frames.answers(data);
      if (dropping) {
        if (answer) breakPair(p);
        else p.lostBytes = true;
        return;
      }
      if (cutAt !== undefined && bytesDown + data.length >= cutAt) {
        data = data.subarray(0, cutAt - bytesDown);
        cutAt = undefined;
        cutting = true;
        bytesDown += data.length;
        // Break once the last allowed byte is handed to the kernel.
        f.to.write(data, () => breakAll());
        return;
      }
      bytesDown += data.length;
    } else {
      bytesUp += data.length;
    }
    if (!f.to.write(data) && !f.blocked) {
      f.blocked = true;
      f.from.pause();
      f.to.once('drain', () => {
        f.blocked = false;
        if (!paused) f.from.resume();
      });
    }
  };

  const flow = (p: Pair, f: Flow): void => {
    f.from.on('data', (chunk: Buffer) => deliver(p, f, chunk));
    f.from.on('end', () => {
      f.ended = true;
      finishEnd(f);
    });
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    connections++;
    client.on('error', () => {});
    if (refusing || closed) {
      loose.add(client);
      client.on('close', () => loose.delete(client));
      reset(client);
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    upstream.on('error', () => {});
    // Forward each chunk at once: Nagle's algorithm on a relay adds delayed-ACK stalls (~40 ms) the endpoints never see.
    client.setNoDelay(true);
    const p: Pair = {
      client,
      server: upstream,
      up: { from: client, to: upstream, down: false, held: [], heldBytes: 0, blocked: false, ended: false },
      down: { from: upstream, to: client, down: true, held: [], heldBytes: 0, blocked: false, ended: false },
      frames: new FrameScan(),
      lostBytes: false,
    };
    pairs.add(p);
    let open = 2;
    for (const s of [client, upstream]) {
      s.on('close', (hadError) => {
        // An error (a reset, a failed connect to the target) on one side breaks the other;
        // clean closes travel as 'end' through the flows.
        if (hadError) breakPair(p);
        if (--open === 0) pairs.delete(p);
      });
    }
    flow(p, p.up);
    flow(p, p.down);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: opts.port ?? 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('unexpected listen address');
  const port = addr.port;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    const sockets = [...loose, ...[...pairs].flatMap((p) => [p.client, p.server])];
    // Registered after the pairs' own 'close' listeners: once these resolve, `pairs` is empty.
    const allClosed = sockets.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve()))));
    breakAll();
    for (const s of loose) s.destroy();
    await Promise.all([done, ...allClosed]);
  };

  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    get connections() {
      return connections;
    },
    get liveConnections() {
      return pairs.size;
    },
    get heldBytes() {
      let n = 0;
      for (const p of pairs) n += p.up.heldBytes + p.down.heldBytes;
      return n;
    },
    setTarget(hostPort) {
      target = parseHostPort(hostPort);
    },
    breakAll,
    pause() {
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      for (const p of pairs) {
        for (const f of [p.up, p.down]) {
          const held = f.held;
          f.held = [];
          f.heldBytes = 0;
          for (const c of held) deliver(p, f, c);
          finishEnd(f);
          if (!f.blocked && !f.from.destroyed) f.from.resume();
        }
      }
    },
    refuse(on) {
      refusing = on;
    },
    cutAfterDownstreamBytes(n) {
      if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error(`cutAfterDownstreamBytes: bad byte count ${n}`);
      cutting = false;
      cutAt = bytesDown + n;
      // n = 0: nothing more may pass.
      if (n === 0) {
        cutAt = undefined;
        breakAll();
      }
    },
    dropResponses(on) {
      dropping = on;
      if (!on) for (const p of pairs) if (p.lostBytes) breakPair(p);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
