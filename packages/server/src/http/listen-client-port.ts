import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../util/logger.js';
import { bindHost } from './bind-host.js';

/** The client connection preface every HTTP/2 (and so every gRPC) connection starts with. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** A connection that has not shown its first bytes within this time is closed. */
const SNIFF_TIMEOUT_MS = 10_000;

export interface ClientPortOptions {
  /** IP address or "localhost" (bound as 127.0.0.1). */
  readonly host: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
  readonly logger: Logger;
  /**
   * Receives every HTTP/2 connection, with its first bytes still unread; pass
   * grpc-js' `server.createConnectionInjector(creds).injectConnection`.
   */
  readonly onHttp2Connection: (socket: Socket) => void;
  /** Serves HTTP/1.x requests: /health, /version, /metrics and the JSON gateway. */
  readonly onHttp1Request: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface ClientPortHandle {
  readonly host: string;
  readonly port: number;
  /**
   * Stops accepting and destroys every connection still open, HTTP/2 ones
   * included (drain the gRPC server first for a graceful stop). Idempotent.
   */
  close(): Promise<void>;
}

/**
 * One listener for an etcd client URL that, like etcd's cmux, serves gRPC and
 * plain HTTP on the same port: a connection opening with the HTTP/2 preface
 * goes to onHttp2Connection, any other to an HTTP/1.1 server.
 */
export async function listenClientPort(options: ClientPortOptions): Promise<ClientPortHandle> {
  const http1 = createHttpServer(options.onHttp1Request);
  const dispatch = (socket: Socket, head: Buffer): void => {
    socket.pause();
    socket.unshift(head);
    const isHttp2 = head.length >= HTTP2_PREFACE.length && head.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE);
    if (isHttp2) {
      options.onHttp2Connection(socket);
    } else {
      http1.emit('connection', socket);
      socket.resume();
    }
  };
  const sockets = new Set<Socket>();
  const listener = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      const decided = head.length >= HTTP2_PREFACE.length || !head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (!decided) return;
      cleanup();
      dispatch(socket, head);
    };
    const onEnd = (): void => {
      cleanup();
      socket.destroy();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
  const host = bindHost(options.host);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      listener.close();
      reject(e);
    };
    listener.once('error', onError);
    listener.listen(options.port, host, () => {
      listener.off('error', onError);
      resolve();
    });
  });
  listener.on('error', (e) => options.logger.error({ error: e.message }, 'client listener error'));
  let closed: Promise<void> | undefined;
  return {
    host,
    port: (listener.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
