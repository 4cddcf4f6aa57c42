/**
 * Why a configuration was rejected.
 * - `flag-syntax`: the command line itself is malformed (unknown flag, missing
 *   argument, bad value for a typed flag). etcd exits with status 2 and prints
 *   its usage line for these.
 * - `invalid-config`: every flag parsed but the combination is invalid
 *   (etcd exits with status 1).
 * - `env-conflict`: an ETCD_* variable is shadowed by a command-line flag.
 * - `unsupported`: a valid etcd setting that etcd-ts does not implement and
 *   cannot safely ignore (TLS, discovery, v2 proxy, ...).
 * - `config-file`: the --config-file could not be read or parsed.
 */
export type ConfigErrorCode = 'flag-syntax' | 'invalid-config' | 'env-conflict' | 'unsupported' | 'config-file';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  /** The flag the error is about, without dashes, when there is one. */
  readonly flag: string | undefined;

  constructor(code: ConfigErrorCode, message: string, flag?: string) {
    super(message);
    this.code = code;
    this.flag = flag;
  }

  /** The exit status etcd uses for the same failure: 2 for flag syntax, 1 otherwise. */
  get exitCode(): 1 | 2 {
    return this.code === 'flag-syntax' ? 2 : 1;
  }
}
