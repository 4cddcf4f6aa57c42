import { GoDurationError, parseGoDuration } from './parse-go-duration.js';
import type { AuthTokenType } from './server-config.js';

export class AuthTokenError extends Error {
  override readonly name = 'AuthTokenError';
}

export interface AuthTokenSpec {
  readonly type: AuthTokenType;
  readonly options: Readonly<Record<string, string>>;
}

/** Signing methods etcd's JWT provider accepts for sign-method. */
export const JWT_SIGN_METHODS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
] as const;

/**
 * Splits an --auth-token value the way etcd's auth store does: the token type,
 * then comma-separated key=value options, each key at most once. A jwt token
 * needs a known sign-method, and its ttl, when given, must be a Go duration.
 * Key files are not read here.
 */
export function parseAuthToken(text: string): AuthTokenSpec {
  const invalid = (why: string): AuthTokenError =>
    new AuthTokenError(`invalid --auth-token ${JSON.stringify(text)}: ${why} (auth: invalid auth options)`);
  const parts = text.split(',');
  const type = parts[0] ?? '';
  const options: Record<string, string> = {};
  for (const opt of parts.slice(1)) {
    const pair = opt.split('=');
    if (pair.length !== 2) throw invalid(`option ${JSON.stringify(opt)} is not key=value`);
    const [k, v] = pair as [string, string];
    if (Object.hasOwn(options, k)) throw invalid(`option ${JSON.stringify(k)} is given twice`);
    options[k] = v;
  }
  if (type !== 'simple' && type !== 'jwt' && type !== '') throw invalid(`unknown token type ${JSON.stringify(type)}`);
  if (type === 'jwt') {
    const method = options['sign-method'] ?? '';
    if (!(JWT_SIGN_METHODS as readonly string[]).includes(method)) {
      throw new AuthTokenError(
        `invalid --auth-token ${JSON.stringify(text)}: sign-method must be one of ${JWT_SIGN_METHODS.join(', ')} (auth: invalid auth signature method)`,
      );
    }
    const ttl = options['ttl'];
    if (ttl !== undefined && ttl !== '') {
      try {
        parseGoDuration(ttl);
      } catch (e) {
        if (e instanceof GoDurationError) throw invalid(e.message);
        throw e;
      }
    }
  }
  return { type, options };
}
