/** Username and password for etcd's auth (Authenticate → token on every request). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Fetches a token for credentials (Authenticate, sent without a token).
 * Resolves to undefined when the server has auth disabled.
 */
export type Authenticate = (credentials: Credentials, signal?: AbortSignal) => Promise<string | undefined>;

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

  constructor(readonly credentials: Credentials) {}

  token(authenticate: Authenticate, signal?: AbortSignal): Promise<string | undefined> {
    if (!this.current) {
      const fetching = authenticate(this.credentials, signal);
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
}
