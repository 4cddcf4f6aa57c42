import * as grpc from '@grpc/grpc-js';
import { etcdserverpb, WatchService } from '@etcd-ts/api';
import { waitFor } from './wait-for.js';

export interface WatchStreamOptions {
  /** Share this client's channel (several streams on one connection). */
  client?: grpc.Client;
  /** Max message size the client accepts. Default 64 MiB. */
  maxMessageBytes?: number;
  /** gRPC metadata sent with the call (e.g. { hasleader: 'true' }). */
  metadata?: Readonly<Record<string, string>>;
}

export interface StreamEnd {
  code: grpc.status;
  details: string;
}

/**
 * One Watch stream over a raw gRPC client (etcd's wire messages, nothing in
 * between): requests are written as given, every response is recorded in
 * arrival order. pause() stops reading (HTTP/2 flow control then pushes back
 * on the server); resume() reads again.
 */
export interface WatchStreamClient {
  readonly endpoint: string;
  readonly responses: etcdserverpb.WatchResponse[];
  /** Resolves with the call's status once the stream ended (server status or cancel()). */
  readonly ended: Promise<StreamEnd>;
  readonly isEnded: boolean;
  send(req: etcdserverpb.WatchRequestInit): void;
  create(req: etcdserverpb.WatchCreateRequestInit): void;
  cancelWatch(watchId: number): void;
  progress(): void;
  pause(): void;
  resume(): void;
  /** Waits until pred holds for the responses so far (polling, with a deadline). */
  until<T>(pred: (rs: etcdserverpb.WatchResponse[]) => T | undefined | false, timeoutMs: number, what: string): Promise<T>;
  /** Half-closes the request side. */
  end(): void;
  /** Cancels the call. */
  cancel(): void;
  /** Called for every response as it arrives. */
  onResponse?: (r: etcdserverpb.WatchResponse) => void;
}

export function watchClient(endpoint: string, maxMessageBytes = 64 * 1024 * 1024): grpc.Client {
  const Ctor = grpc.makeGenericClientConstructor(WatchService as unknown as grpc.ServiceDefinition, 'Watch');
  return new Ctor(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
}

export function openWatchStream(endpoint: string, opts: WatchStreamOptions = {}): WatchStreamClient {
  const owned = opts.client === undefined;
  const client = opts.client ?? watchClient(endpoint, opts.maxMessageBytes);
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  const fn = (client as unknown as Record<string, (md: grpc.Metadata) => grpc.ClientDuplexStream<etcdserverpb.WatchRequestInit, etcdserverpb.WatchResponse>>)['watch'];
  if (fn === undefined) throw new Error('watch client has no watch method');
  const call = fn.call(client, md);
  const responses: etcdserverpb.WatchResponse[] = [];
  let isEnded = false;
  let resolveEnded!: (e: StreamEnd) => void;
  const ended = new Promise<StreamEnd>((r) => (resolveEnded = r));
  const stream: WatchStreamClient = {
    endpoint,
    responses,
    ended,
    get isEnded() {
      return isEnded;
    },
    send: (req) => {
      call.write(req);
    },
    create: (req) => call.write({ createRequest: req }),
    cancelWatch: (watchId) => call.write({ cancelRequest: { watchId } }),
    progress: () => call.write({ progressRequest: {} }),
    pause: () => call.pause(),
    resume: () => call.resume(),
    until: (pred, timeoutMs, what) =>
      waitFor(() => pred(responses), { timeoutMs, intervalMs: 5, what: `${what} (${responses.length} responses so far)` }),
    end: () => call.end(),
    cancel: () => call.cancel(),
  };
  call.on('data', (r: etcdserverpb.WatchResponse) => {
    responses.push(r);
    stream.onResponse?.(r);
  });
  call.on('status', (s: grpc.StatusObject) => {
    isEnded = true;
    if (owned) client.close();
    resolveEnded({ code: s.code, details: s.details });
  });
  call.on('error', () => {
    // the status event reports it
  });
  return stream;
}

/** The events of all responses for watchId, flattened. */
export function eventsOf(rs: readonly etcdserverpb.WatchResponse[], watchId?: number): etcdserverpb.WatchResponse['events'] {
  return rs.filter((r) => watchId === undefined || r.watchId === watchId).flatMap((r) => r.events);
}
