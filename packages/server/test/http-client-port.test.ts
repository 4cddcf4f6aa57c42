import * as grpc from '@grpc/grpc-js';
import { request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHttpHandler } from '../src/http/create-http-handler.js';
import { listenClientPort } from '../src/http/listen-client-port.js';
import type { ClientPortHandle } from '../src/http/listen-client-port.js';
import { createServerMetrics } from '../src/http/metrics.js';
import { createLogger } from '../src/util/logger.js';

const logger = createLogger({ level: 'info', outputs: [] });
const identity = (b: Buffer): Buffer => b;
const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

let grpcServer: grpc.Server;
let injector: grpc.ConnectionInjector;
let port: ClientPortHandle;

test.before(async () => {
  grpcServer = new grpc.Server();
  grpcServer.addService(echoService, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])),
  });
  injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const handler = createHttpHandler({
    logger,
    status: () => ({ hasLeader: true, alarms: [] }),
    metrics: createServerMetrics().registry,
    includeDefaultMetrics: false,
  });
  port = await listenClientPort({
    host: '127.0.0.1',
    port: 0,
    logger,
    onHttp2Connection: (socket) => injector.injectConnection(socket),
    onHttp1Request: (req, res) => {
      if (handler(req, res)) return;
      res.writeHead(404);
      res.end();
    },
  });
});

test.after(async () => {
  injector.destroy();
  grpcServer.forceShutdown();
  await port.close();
});

function httpGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: port.port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function echo(client: grpc.Client, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>('/test.Echo/Echo', identity, identity, Buffer.from(text), (err, value) => {
      if (err !== null || value === undefined) reject(err ?? new Error('no response'));
      else resolve(value.toString());
    });
  });
}

test('gRPC and HTTP/1 share the client port', async () => {
  const client = new grpc.Client(`127.0.0.1:${port.port}`, grpc.credentials.createInsecure());
  try {
    assert.is(await echo(client, 'a'), 'echo:a');
    assert.equal(await httpGet('/health'), { status: 200, body: '{"health":"true"}' });
    assert.is(await echo(client, 'b'), 'echo:b');
    assert.is((await httpGet('/version')).status, 200);
    assert.is((await httpGet('/nope')).status, 404);
  } finally {
    client.close();
  }
});

test('a connection that sends its first bytes in pieces is still classified', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(port.port, '127.0.0.1', () => {
      s.write('GE');
      setTimeout(() => s.write('T /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 20);
    });
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (data += c));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 200 OK/, JSON.stringify(reply));
  assert.match(reply, /Content-Length: 17\r\n/, JSON.stringify(reply));
  assert.match(reply, /\r\n\r\n\{"health":"true"\}$/, JSON.stringify(reply));
});

test('a connection closed before sending anything is dropped quietly', async () => {
  await new Promise<void>((resolve) => {
    const s = connect(port.port, '127.0.0.1', () => s.end());
    s.on('close', () => resolve());
  });
  assert.is((await httpGet('/health')).status, 200);
});

test.run();
