import { isEtcdError, type etcdserverpb } from '@etcd-ts/api';
import type { Rpc } from './rpc.js';

/** Username and password for etcd's auth (Authenticate → token on every request). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The current auth token, fetched with Authenticate on first use and again
 * after the server refuses it (etcd's simple tokens expire after
 * --auth-token-ttl of inactivity; JWTs after their TTL).
 *
 * Invariant: at most one Authenticate is in flight; every caller waiting for
 * a token shares it. `current` is dropped only when the token it resolved to
 * was refused, or when fetching it failed.
 */
export class TokenSource {
  /** Resolves to the token, or to undefined when the server has auth disabled (no token is sent). */
  private current: Promise<string | undefined> | undefined;
  private settled: string | undefined | null = null;

  constructor(private readonly credentials: Credentials) {}

  token(rpc: Rpc, signal?: AbortSignal): Promise<string | undefined> {
    if (!this.current) {
      const fetching = this.authenticate(rpc, signal);
      this.current = fetching;
      this.settled = null;
      fetching.then(
        (t) => {
          if (this.current === fetching) this.settled = t;
        },
        () => {
          if (this.current === fetching) this.current = undefined;
        },
      );
    }
    return this.current;
  }

  /**
   * Forgets `token` (undefined: the absence of a token, auth having been
   * disabled) if it is the current one, so the next request authenticates again.
   */
  invalidate(token: string | undefined): void {
    if (this.settled === token) {
      this.current = undefined;
      this.settled = null;
    }
  }

  private async authenticate(rpc: Rpc, signal?: AbortSignal): Promise<string | undefined> {
    // With auth disabled, etcd refuses Authenticate; requests then go without a token, as etcd's clients do.
    const res = await rpc.unary<etcdserverpb.AuthenticateResponse>(
      'idempotent',
      signal ? { signal } : undefined,
      (ep, _md, opts, cb) =>
        ep.auth.authenticate({ name: this.credentials.username, password: this.credentials.password }, opts, cb),
      { anonymous: true },
    ).catch((err: unknown) => {
      if (isEtcdError(err, 'AUTH_NOT_ENABLED')) return undefined;
      throw err;
    });
    return res?.token;
  }
}
