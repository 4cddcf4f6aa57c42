import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bindHost } from './bind-host.js';
import { createHttpHandler } from './create-http-handler.js';
import type { HttpEndpointsOptions } from './create-http-handler.js';

export interface StartHttpServerOptions extends HttpEndpointsOptions {
  /** IP address or "localhost" (bound as 127.0.0.1, as etcd binds it). */
  readonly host: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
}

export interface HttpServerHandle {
  readonly server: Server;
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** http://host:port of the listener. */
  readonly url: string;
  /** Stops listening and drops open connections; resolves once closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Listens on host:port and serves /metrics, /health and /version (see
 * createHttpHandler); other paths get Go's 404 text. Rejects if the address
 * cannot be bound.
 */
export async function startHttpServer(options: StartHttpServerOptions): Promise<HttpServerHandle> {
  const handle = createHttpHandler(options);
  const server = createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': '19' });
    res.end('404 page not found\n');
  });
  const host = bindHost(options.host);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      server.close();
      reject(e);
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => options.logger.error({ error: e.message }, 'HTTP server error'));
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    server,
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
