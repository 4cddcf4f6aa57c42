import * as grpc from '@grpc/grpc-js';
import type { etcdserverpb } from '@etcd-ts/api';
import pRetry, { AbortError as StopRetrying } from 'p-retry';
import type { EndpointPool } from './balancer/endpoint-pool.js';
import type { Endpoint } from './balancer/endpoint.js';
import { deadlineOf, sleep, type CallOptions } from './call-options.js';
import {
  callAborted,
  ClientClosedError,
  DeadlineExceededError,
  fromStatus,
  isEtcdError,
  TransportError,
  type EtcdClientError,
} from './errors.js';
import { DEFAULT_RETRY, isRetryable, type RetryKind, type RetryPolicy } from './retry.js';
import type { Credentials, TokenSource } from './token-source.js';

/** Issues one unary call on an endpoint (the shape of every generated client method). */
export type UnaryIssuer<Res> = (
  endpoint: Endpoint,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

export interface RpcOptions {
  readonly callTimeoutMs: number;
  /** Longest wait for a connection to one endpoint before trying the next. */
  readonly dialTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** Adds `hasleader: true` to stream metadata (the member refuses streams while it has no leader). */
  readonly requireLeader: boolean;
}

/** How one unary call is sent, beyond its retry kind and call options. */
export interface UnaryHow {
  /** No auth token (Authenticate itself). */
  readonly anonymous?: boolean;
  /** Every attempt goes to this endpoint (Status, Defragment, ... of one member). */
  readonly endpoint?: Endpoint;
  /** Stops retrying on errors it returns true for, even retryable ones. */
  readonly giveUp?: (err: unknown) => boolean;
}

/**
 * Sends requests: picks an endpoint, waits for its connection, attaches the
 * auth token, applies the deadline and the caller's AbortSignal, maps the
 * status to a typed error, and retries as `RetryKind` allows.
 */
export class Rpc {
  private closed = false;

  constructor(
    readonly pool: EndpointPool,
    readonly opts: RpcOptions,
    private readonly tokens: TokenSource | undefined,
  ) {}

  /**
   * Authenticate (without a token). With auth disabled etcd refuses it;
   * requests then go without a token, as etcd's clients do.
   */
  private readonly authenticate = async (c: Credentials, signal?: AbortSignal): Promise<string | undefined> => {
    try {
      const res = await this.unary<etcdserverpb.AuthenticateResponse>(
        'idempotent',
        signal ? { signal } : undefined,
        (ep, _md, opts, cb) => ep.auth.authenticate({ name: c.username, password: c.password }, opts, cb),
        { anonymous: true },
      );
      return res.token;
    } catch (err) {
      if (isEtcdError(err, 'AUTH_NOT_ENABLED')) return undefined;
      throw err;
    }
  };

  /** Metadata for a call or stream: the auth token, and `hasleader` for streams when required. */
  async metadata(stream: boolean, signal?: AbortSignal, anonymous = false): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (stream && this.opts.requireLeader) md.set('hasleader', 'true');
    if (anonymous) return md;
    const token = await this.tokens?.token(this.authenticate, signal);
    if (token !== undefined) md.set('token', token);
    return md;
  }

  /** Drops a token the server refused (or the lack of one), so that the next call authenticates again. */
  invalidateToken(md: grpc.Metadata): void {
    const t = md.get('token')[0];
    this.tokens?.invalidate(typeof t === 'string' ? t : undefined);
  }

  /**
   * Whether err says the request carried no user while this client has
   * credentials: auth was enabled after the client last authenticated (etcd's
   * clients authenticate again on "user name is empty").
   */
  needsToken(err: unknown): boolean {
    return this.tokens !== undefined && isEtcdError(err, 'USER_EMPTY');
  }

  /**
   * One unary request with retries. `issue` is called once per attempt, with
   * a freshly picked endpoint.
   */
  unary<Res>(
    kind: RetryKind,
    opts: CallOptions | undefined,
    issue: UnaryIssuer<Res>,
    how?: UnaryHow,
  ): Promise<Res> {
    const deadline = deadlineOf(opts, this.opts.callTimeoutMs);
    const signal = opts?.signal;
    let last: Endpoint | undefined;
    let lastError: unknown;
    const attempt = async (): Promise<Res> => {
      if (this.closed) throw new StopRetrying(new ClientClosedError());
      if (signal?.aborted) throw callAborted(signal, false);
      if (Date.now() >= deadline) {
        // The cause is the failure that used up the budget (e.g. the member's own error).
        throw new DeadlineExceededError('etcd call deadline exceeded before sending', false, { cause: lastError });
      }
      const ep = how?.endpoint ?? this.pool.pick(last);
      last = ep;
      if (!ep.ready) {
        const ready = await ep.waitReady(Math.min(deadline, Date.now() + this.opts.dialTimeoutMs), signal);
        if (!ready) {
          if (signal?.aborted) throw callAborted(signal, false);
          ep.markUnhealthy();
          throw new TransportError(grpc.status.UNAVAILABLE, 'connection not ready', ep.address, false);
        }
      }
      const md = this.tokens ? await this.metadata(false, signal, how?.anonymous === true) : new grpc.Metadata();
      return await this.send(ep, md, deadline, signal, issue);
    };
    const policy = { ...DEFAULT_RETRY, ...this.opts.retry };
    const again = (error: unknown): boolean => {
      lastError = error;
      return (
        !this.closed &&
        !signal?.aborted &&
        Date.now() + policy.minDelayMs < deadline &&
        (isRetryable(kind, error) || this.needsToken(error)) &&
        how?.giveUp?.(error) !== true
      );
    };
    // The first attempt goes out directly; p-retry (and its per-call set-up) only after a retryable failure.
    return attempt().catch(async (error: unknown) => {
      if (error instanceof StopRetrying) throw error.originalError;
      if (policy.retries <= 0 || !again(error)) throw error;
      await sleep(policy.minDelayMs, signal).catch(() => {
        throw callAborted(signal, false);
      });
      return pRetry(attempt, {
        retries: policy.retries - 1,
        minTimeout: policy.minDelayMs,
        maxTimeout: policy.maxDelayMs,
        randomize: true,
        shouldRetry: ({ error: e }) => again(e),
      });
    });
  }

  /** One attempt on one endpoint. Rejects with an EtcdClientError. */
  private send<Res>(
    ep: Endpoint,
    md: grpc.Metadata,
    deadline: number,
    signal: AbortSignal | undefined,
    issue: UnaryIssuer<Res>,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        call.cancel();
        reject(callAborted(signal, true));
      };
      const call = issue(ep, md, { deadline }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) {
          const e: EtcdClientError = fromStatus(err.code, err.details, ep.address, true);
          if (e instanceof TransportError && e.transient) ep.markUnhealthy();
          if (('reauth' in e && e.reauth) || this.needsToken(e)) this.invalidateToken(md);
          reject(e);
        } else {
          ep.markHealthy();
          resolve(res as Res);
        }
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
  }
}
