import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { FLAG_DEFINITIONS } from './flag-definitions.js';
import { flagToEnv } from './flag-to-env.js';
import { GoFlagSet } from './go-flag-set.js';
import { loadConfigFile } from './load-config-file.js';
import { FlagValueError } from './parse-flag-value.js';
import { resolveServerConfig } from './resolve-server-config.js';
import type { ServerConfig } from './server-config.js';

export interface ParseServerConfigOptions {
  /**
   * What to do when an ETCD_* variable and the command-line flag it belongs to
   * are both given. etcd 3.4 refuses to start ('error', the default); 'flag-wins'
   * uses the flag and reports a warning instead.
   */
  readonly envConflict?: 'error' | 'flag-wins';
  /** Reads the --config-file; defaults to reading it as UTF-8 from disk. */
  readonly readFile?: (path: string) => string;
}

/** ETCD_* variables etcd reads outside its flag set, which must not be reported as unrecognized. */
const ENV_READ_ELSEWHERE = new Set(['ETCD_UNSUPPORTED_ARCH']);

/** etcd's SetFlagsFromEnv followed by its verifyEnv check. */
function applyEnv(
  fs: GoFlagSet,
  env: Readonly<Record<string, string | undefined>>,
  envConflict: 'error' | 'flag-wins',
  warnings: string[],
): void {
  const shadowed = new Set<string>();
  for (const name of fs.definitions.keys()) if (fs.isSet(name)) shadowed.add(flagToEnv(name));
  const used = new Set<string>();
  let firstError: ConfigError | undefined;
  const names = [...fs.definitions.keys()].sort();
  for (const name of names) {
    const key = flagToEnv(name);
    if (shadowed.has(key)) continue;
    const val = env[key];
    if (val === undefined || val === '') continue;
    used.add(key);
    try {
      fs.set(name, val, 'env');
    } catch (e) {
      if (!(e instanceof FlagValueError)) throw e;
      firstError ??= new ConfigError('invalid-config', `invalid value ${JSON.stringify(val)} for ${key}: ${e.message}`, name);
    }
  }
  for (const key of Object.keys(env).sort()) {
    const val = env[key];
    if (val === undefined || used.has(key)) continue;
    if (shadowed.has(key)) {
      if (envConflict === 'error') {
        throw new ConfigError(
          'env-conflict',
          `conflicting environment variable ${JSON.stringify(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
        );
      }
      warnings.push(`environment variable ${key} is shadowed by the command-line flag; using the flag`);
      continue;
    }
    if (key.startsWith('ETCD_') && !ENV_READ_ELSEWHERE.has(key)) {
      warnings.push(`unrecognized environment variable ${key}=${val}`);
    }
  }
  if (firstError !== undefined) throw firstError;
}

function defaultsWithAction(action: 'help' | 'version'): ServerConfig {
  return resolveServerConfig(new GoFlagSet(FLAG_DEFINITIONS), 'cli', action, []);
}

/**
 * Reads an etcd 3.4 command line and environment into a ServerConfig, the way
 * etcd's main does: flags first (Go flag syntax), then ETCD_* variables for the
 * flags not given, then validation. With --config-file (or ETCD_CONFIG_FILE),
 * the file alone configures the server and other flags and variables are
 * ignored. --help and --version return a config whose `action` says so.
 * `argv` holds the arguments only (process.argv.slice(2)).
 * Throws ConfigError.
 */
export function parseServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: ParseServerConfigOptions = {},
): ServerConfig {
  const fs = new GoFlagSet(FLAG_DEFINITIONS);
  const { help, args } = fs.parse(argv);
  if (help) return defaultsWithAction('help');
  if (args.length > 0) throw new ConfigError('invalid-config', `'${args[0] as string}' is not a valid flag`);
  if (fs.bool('version')) return defaultsWithAction('version');

  const warnings: string[] = [];
  let configFile = fs.string('config-file');
  if (configFile === '') configFile = env['ETCD_CONFIG_FILE'] ?? '';
  if (configFile !== '') {
    const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    const fileFlags = loadConfigFile(configFile, readFile);
    warnings.push(
      `loaded server configuration from ${JSON.stringify(configFile)}; other command line flags and environment variables are ignored`,
    );
    return resolveServerConfig(fileFlags.flags, 'file', 'serve', [...warnings, ...fileFlags.warnings]);
  }
  applyEnv(fs, env, options.envConflict ?? 'error', warnings);
  return resolveServerConfig(fs, 'cli', 'serve', warnings);
}
