import { ConfigError } from './config-error.js';
import { FLAG_DEFINITIONS } from './flag-definitions.js';
import type { FlagDefinition } from './flag-definitions.js';
import { GoFlagSet } from './go-flag-set.js';
import { jsonToYamlNode, parseConfigYaml, YamlSubsetError } from './parse-config-yaml.js';
import type { YamlNode } from './parse-config-yaml.js';
import { FlagValueError } from './parse-flag-value.js';

export interface LoadedConfigFile {
  readonly flags: GoFlagSet;
  readonly warnings: readonly string[];
}

/** Keys of etcd's client-transport-security / peer-transport-security sections and the flags they set. */
const SECURITY_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'client-transport-security': {
    'cert-file': 'cert-file',
    'key-file': 'key-file',
    'client-cert-auth': 'client-cert-auth',
    'trusted-ca-file': 'trusted-ca-file',
    'auto-tls': 'auto-tls',
  },
  'peer-transport-security': {
    'cert-file': 'peer-cert-file',
    'key-file': 'peer-key-file',
    'client-cert-auth': 'peer-client-cert-auth',
    'trusted-ca-file': 'peer-trusted-ca-file',
    'auto-tls': 'peer-auto-tls',
  },
};

const YAML_NULL = new Set(['', '~', 'null', 'Null', 'NULL']);
const YAML_TRUE = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'y', 'Y']);
const YAML_FALSE = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'n', 'N']);

/**
 * The flag text for a configuration file value, or undefined for null (which
 * leaves the default, as decoding JSON null into a Go field does). Durations
 * given as plain integers are nanoseconds (how etcd decodes time.Duration
 * fields); a Go duration string is accepted too.
 */
function flagText(def: FlagDefinition, node: YamlNode, where: string): string | undefined {
  const fail = (why: string): ConfigError => new ConfigError('config-file', `${where}: ${why}`, def.name);
  if (node.type === 'map') throw fail('expected a value, got a mapping');
  if (node.type === 'seq') {
    if (def.kind !== 'urls' && def.kind !== 'strings') throw fail('expected a single value, got a list');
    return node.items.map((item) => (item.type === 'scalar' ? item.text : '')).join(',');
  }
  if (!node.quoted && YAML_NULL.has(node.text)) return undefined;
  if (def.kind === 'bool' && !node.quoted) {
    if (YAML_TRUE.has(node.text)) return 'true';
    if (YAML_FALSE.has(node.text)) return 'false';
  }
  if (def.kind === 'duration' && !node.quoted && /^[+-]?[0-9]+$/.test(node.text)) return `${node.text}ns`;
  return node.text;
}

function setFromNode(fs: GoFlagSet, def: FlagDefinition, node: YamlNode, where: string): void {
  if (def.kind === 'ignored') return;
  const text = flagText(def, node, where);
  if (text === undefined) return;
  try {
    fs.set(def.name, text, 'config-file');
  } catch (e) {
    if (!(e instanceof FlagValueError)) throw e;
    throw new ConfigError('config-file', `${where}: invalid value ${JSON.stringify(text)}: ${e.message}`, def.name);
  }
}

/**
 * Reads an etcd configuration file (YAML, or JSON) into a flag set. Keys are
 * etcd's: the flag names, plus the client-transport-security and
 * peer-transport-security sections. Unknown keys are ignored with a warning,
 * as etcd ignores them.
 */
export function loadConfigFile(path: string, readFile: (path: string) => string): LoadedConfigFile {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError('config-file', `cannot read --config-file ${JSON.stringify(path)}: ${why}`, 'config-file');
  }
  let root: YamlNode;
  try {
    const trimmed = text.trim();
    root = trimmed.startsWith('{') ? jsonToYamlNode(JSON.parse(trimmed)) : parseConfigYaml(text);
  } catch (e) {
    if (e instanceof YamlSubsetError || e instanceof SyntaxError) {
      throw new ConfigError('config-file', `cannot parse --config-file ${JSON.stringify(path)}: ${e.message}`, 'config-file');
    }
    throw e;
  }
  if (root.type !== 'map') {
    throw new ConfigError('config-file', `cannot parse --config-file ${JSON.stringify(path)}: the top level must be a mapping`, 'config-file');
  }
  const fs = new GoFlagSet(FLAG_DEFINITIONS);
  const warnings: string[] = [];
  for (const [key, node] of root.entries) {
    const where = `--config-file ${JSON.stringify(path)} line ${node.line}, key ${JSON.stringify(key)}`;
    const section = SECURITY_KEYS[key];
    if (section !== undefined) {
      if (node.type === 'scalar' && !node.quoted && YAML_NULL.has(node.text)) continue;
      if (node.type !== 'map') throw new ConfigError('config-file', `${where}: expected a mapping`);
      for (const [sub, subNode] of node.entries) {
        const flag = section[sub];
        const def = flag === undefined ? undefined : FLAG_DEFINITIONS.get(flag);
        if (def === undefined) {
          warnings.push(`unknown configuration key "${key}.${sub}" in ${path} is ignored`);
          continue;
        }
        setFromNode(fs, def, subNode, `${where}.${JSON.stringify(sub)}`);
      }
      continue;
    }
    const def = FLAG_DEFINITIONS.get(key);
    if (def === undefined || key === 'config-file' || key === 'version') {
      warnings.push(`unknown configuration key "${key}" in ${path} is ignored`);
      continue;
    }
    setFromNode(fs, def, node, where);
  }
  fs.setValue('config-file', path, 'config-file');
  warnings.push(...fs.warnings);
  fs.warnings.length = 0;
  return { flags: fs, warnings };
}
