/**
 * The application's configuration and its validator: a hand-written parser
 * that checks a decoded JSON value field by field and returns a typed
 * AppConfig, or throws a message naming the first bad field.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface AppConfig {
  readonly logLevel: LogLevel;
  /** 1..10000 */
  readonly maxConnections: number;
  /** Feature flags that are on. */
  readonly features: readonly string[];
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const FIELDS = new Set(['logLevel', 'maxConnections', 'features']);

export function parseAppConfig(input: unknown): AppConfig {
  if (input === undefined) throw new Error('no configuration stored');
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new Error('configuration must be a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new Error(`unknown field "${k}"`);

  const logLevel = o['logLevel'] ?? 'info';
  if (typeof logLevel !== 'string' || !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`logLevel must be one of ${LOG_LEVELS.join('|')}, got ${JSON.stringify(logLevel)}`);
  }
  const maxConnections = o['maxConnections'];
  if (typeof maxConnections !== 'number' || !Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 10_000) {
    throw new Error(`maxConnections must be an integer in 1..10000, got ${JSON.stringify(maxConnections)}`);
  }
  const features = o['features'] ?? [];
  if (!Array.isArray(features) || !features.every((f): f is string => typeof f === 'string' && f.length > 0)) {
    throw new Error('features must be an array of non-empty strings');
  }
  return { logLevel: logLevel as LogLevel, maxConnections, features: [...features] };
}

export function showConfig(c: AppConfig | undefined): string {
  return c ? `logLevel=${c.logLevel} maxConnections=${c.maxConnections} features=[${c.features.join(',')}]` : '(none)';
}
