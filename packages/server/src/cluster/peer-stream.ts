/**
 * The one long-lived outgoing Stream call to a peer (etcd's streamWriter, with
 * the dialing loop of its streamReader). Each attempt dials, waits for the
 * peer's acceptance, then writes the peer's queue in frames: every message
 * queued during one turn of the event loop goes out in one frame (bounded by
 * maxFrameBytes), and while gRPC's write buffer is full messages accumulate
 * in the bounded queue. A failed attempt ends the stream; the peer then
 * drops what is queued and reports itself unreachable, and the loop redials
 * after a backoff. Invariant: at most one attempt exists at a time, so frames
 * reach the peer in queue order.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ClientDuplexStream, ServiceError, StatusObject } from '@grpc/grpc-js';
import { PreEncoded } from '@etcd-ts/api';
import type { PeerClient, etcdtspeerpb } from '@etcd-ts/api';
import { Backoff } from './backoff.js';
import type { PeerContext } from './peer-context.js';
import { PeerClusterMismatchError, PeerRecipientMismatchError, PeerUnavailableError, fromPeerStatus } from './peer-errors.js';
import type { PeerError } from './peer-errors.js';
import { identityMetadata } from './peer-identity.js';
import type { PeerQueue } from './peer-queue.js';
import type { PeerStatus } from './peer-status.js';

export interface PeerStreamHost {
  readonly id: bigint;
  readonly ctx: PeerContext;
  readonly status: PeerStatus;
  readonly queue: PeerQueue;
  /** The URL to dial next and its client. */
  pick(): { readonly url: string; readonly client: PeerClient };
  urlFailed(url: string): void;
  /** The stream failed (never called after stop). */
  streamFailed(err: PeerError): void;
  /** One frame of `messages` messages totalling `bytes` encoded bytes was handed to gRPC. */
  framed(messages: number, bytes: number): void;
}

type AttemptEnd = { readonly kind: 'failed'; readonly err: PeerError } | { readonly kind: 'restart' } | { readonly kind: 'stopped' };

type StreamCall = ClientDuplexStream<etcdtspeerpb.StreamRequestInit, etcdtspeerpb.StreamResponse>;

export class PeerStream {
  private stopped = false;
  private readonly backoff: Backoff;
  /** Ends the current attempt; set while one exists. */
  private endAttempt: ((end: AttemptEnd) => void) | undefined;
  /** Ends the current backoff sleep early; set while sleeping. */
  private wakeSleep: (() => void) | undefined;
  /** The accepted call that frames are written to; undefined while dialing or between attempts. */
  private call: StreamCall | undefined;
  /** False while gRPC's write buffer is full (until 'drain'). */
  private writable = false;
  private flushScheduled = false;
  readonly done: Promise<void>;

  constructor(private readonly host: PeerStreamHost) {
    const { backoffMinMs, backoffMaxMs } = host.ctx.limits;
    this.backoff = new Backoff(backoffMinMs, backoffMaxMs);
    this.done = this.run();
  }

  /** Messages were queued: write them once the current turn's sends are done, so they share a frame. */
  notify(): void {
    if (this.flushScheduled || this.call === undefined) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Ends the current attempt (or backoff) and dials again at once, without counting a failure. */
  restart(): void {
    if (this.endAttempt !== undefined) this.endAttempt({ kind: 'restart' });
    else this.wakeSleep?.();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.endAttempt?.({ kind: 'stopped' });
    this.wakeSleep?.();
    return this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const { url, client } = this.host.pick();
      const end = await this.attempt(client);
      if (this.stopped || end.kind === 'stopped') break;
      if (end.kind === 'restart') continue;
      this.host.urlFailed(url);
      this.host.streamFailed(end.err);
      await this.sleep(this.backoff.next());
    }
  }

  private attempt(client: PeerClient): Promise<AttemptEnd> {
    const { ctx, id } = this.host;
    return new Promise<AttemptEnd>((resolve) => {
      const call: StreamCall = client.stream(
        identityMetadata({ memberId: ctx.localId, clusterId: ctx.clusterId, to: id, peerUrls: ctx.localUrls }),
      );
      let settled = false;
      const end = (e: AttemptEnd): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.endAttempt = undefined;
        if (this.call === call) {
          this.call = undefined;
          this.writable = false;
        }
        call.cancel();
        resolve(e);
      };
      const fail = (err: PeerError): void => end({ kind: 'failed', err });
      const timer = setTimeout(
        () => fail(new PeerUnavailableError(`peer ${id.toString(16)} did not accept the stream within ${ctx.limits.dialTimeoutMs} ms`)),
        ctx.limits.dialTimeoutMs,
      );
      this.endAttempt = end;
      call.on('data', (res: etcdtspeerpb.StreamResponse) => {
        if (settled || this.call === call) return;
        if (res.memberId !== id) {
          fail(new PeerRecipientMismatchError(`peer URL of ${id.toString(16)} is served by member ${res.memberId.toString(16)}`));
          return;
        }
        if (res.clusterId !== ctx.clusterId) {
          fail(new PeerClusterMismatchError(ctx.clusterId, res.clusterId));
          return;
        }
        clearTimeout(timer);
        this.call = call;
        this.writable = true;
        this.backoff.reset();
        this.host.status.activate();
        this.flush();
      });
      call.on('drain', () => {
        if (this.call !== call) return;
        this.writable = true;
        this.flush();
      });
      call.on('error', (err: ServiceError) => fail(fromPeerStatus(err)));
      call.on('status', (s: StatusObject) => {
        fail(s.code === GrpcStatus.OK ? new PeerUnavailableError(`peer ${id.toString(16)} closed the stream`) : fromPeerStatus(s));
      });
    });
  }

  private flush(): void {
    const call = this.call;
    if (call === undefined) return;
    const { queue, ctx } = this.host;
    while (this.writable && queue.length > 0) {
      const batch = queue.take(ctx.limits.maxFrameBytes);
      let bytes = 0;
      for (const b of batch) bytes += b.length;
      this.host.framed(batch.length, bytes);
      if (!call.write({ messages: batch.map((b) => new PreEncoded(b)) })) this.writable = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakeSleep = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeSleep = wake;
    });
  }
}
