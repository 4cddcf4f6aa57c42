/**
 * The etcd-ts command: parses etcd's flags and ETCD_* variables, runs a member
 * until SIGTERM or SIGINT, then shuts down gracefully. Exit codes: 0 after a
 * clean stop, 2 for a bad flag or value (with the reason on stderr), 1 when the
 * member cannot start.
 */
import { ConfigError } from '../config/config-error.js';
import { formatUsage } from '../config/format-usage.js';
import { parseServerConfig } from '../config/parse-server-config.js';
import { formatVersion } from '../config/version.js';
import { startServer } from '../start-server.js';
import { createLogger } from '../util/logger.js';

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number | undefined> {
  let cfg;
  try {
    cfg = parseServerConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`etcd-ts: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (cfg.action === 'help') {
    process.stdout.write(formatUsage());
    return 0;
  }
  if (cfg.action === 'version') {
    process.stdout.write(formatVersion());
    return 0;
  }
  const log = createLogger({ level: cfg.logLevel, outputs: cfg.logOutputs });
  for (const w of cfg.warnings) log.warn(w);
  let handle;
  try {
    handle = await startServer(cfg, { logger: log });
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    process.stderr.write(`etcd-ts: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const h = handle;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'received signal; shutting down');
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      h.close().then(resolve, (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
