import { pino } from 'pino';
import type { DestinationStream, Level, Logger as PinoLogger, LoggerOptions, StreamEntry } from 'pino';
/** etcd's --log-level values. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = PinoLogger;

export interface LoggerConfig {
  /** etcd's --log-level; 'panic' logs only fatal entries (etcd-ts never logs at panic). */
  readonly level: LogLevel;
  /**
   * etcd's --log-outputs: 'stderr', 'stdout' or file paths (appended to, parent
   * directories created). 'default' means stderr. An empty list discards logs.
   */
  readonly outputs: readonly string[];
  /** Writes every entry here instead of `outputs` (tests, embedding). */
  readonly destination?: DestinationStream;
}

function pinoLevel(level: LogLevel): Level {
  return level === 'panic' ? 'fatal' : level;
}

function destinationFor(output: string): DestinationStream {
  if (output === 'stderr' || output === 'default') return pino.destination({ dest: 2, sync: true });
  if (output === 'stdout') return pino.destination({ dest: 1, sync: true });
  return pino.destination({ dest: output, append: true, mkdir: true, sync: true });
}

/**
 * A JSON-lines logger shaped like etcd's zap output: `level` as a name
 * ("info"), `ts` as an ISO-8601 time, `msg`, then structured fields; errors
 * go under `error`. Writes are synchronous so entries logged just before a
 * fail-stop exit are not lost.
 */
export function createLogger(config: LoggerConfig): Logger {
  const level = pinoLevel(config.level);
  const options: LoggerOptions = {
    level,
    base: null,
    messageKey: 'msg',
    errorKey: 'error',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (config.destination !== undefined) return pino(options, config.destination);
  const outputs = [...new Set(config.outputs.map((o) => (o === 'default' ? 'stderr' : o)))];
  if (outputs.length === 0) return pino({ ...options, enabled: false });
  if (outputs.length === 1) return pino(options, destinationFor(outputs[0] as string));
  const streams: StreamEntry[] = outputs.map((o) => ({ level, stream: destinationFor(o) }));
  return pino(options, pino.multistream(streams));
}
