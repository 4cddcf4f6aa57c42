import { ConfigError } from './config-error.js';
import type { GoFlagSet } from './go-flag-set.js';

export interface LoadedConfigFile {
  readonly flags: GoFlagSet;
  readonly warnings: readonly string[];
}

export function loadConfigFile(path: string, readFile: (path: string) => string): LoadedConfigFile {
  void readFile;
  throw new ConfigError('config-file', `--config-file ${JSON.stringify(path)}: configuration files are not supported yet`);
}
