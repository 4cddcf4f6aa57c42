import { Command, Option } from 'commander';
import { FLAG_DEFINITIONS, FLAG_GROUPS } from './flag-definitions.js';
import type { FlagDefinition } from './flag-definitions.js';

const PROGRAM = 'etcd-ts';

/** The short usage block printed after a flag syntax error (etcd prints its usage line there too). */
export function formatUsageLine(): string {
  return [
    'Usage:',
    '',
    `  ${PROGRAM} [flags]`,
    '    Start an etcd-ts server.',
    '',
    `  ${PROGRAM} --version`,
    '    Show the version of etcd-ts and of the etcd API it serves.',
    '',
    `  ${PROGRAM} -h | --help`,
    '    Show this help.',
    '',
    `  ${PROGRAM} --config-file <path>`,
    '    Read the configuration from a YAML file; other flags and ETCD_* variables are then ignored.',
    '',
  ].join('\n');
}

function shownDefault(def: FlagDefinition): string {
  return `'${def.helpDefault ?? def.defaultValue}'`;
}

/**
 * The full --help text: the usage block, then every visible flag grouped as
 * etcd groups them, each as "--flag 'default'" followed by an indented
 * description, then a note on ETCD_* environment variables.
 */
export function formatUsage(): string {
  const terms = new Map<Option, string>();
  const cmd = new Command(PROGRAM).helpOption(false).usage('[flags]');
  cmd.configureHelp({
    helpWidth: 120,
    optionTerm: (option) => terms.get(option) ?? option.flags,
    optionDescription: (option) => option.description,
    formatItem: (term, _termWidth, description) => `  ${term}\n    ${description}`,
    formatHelp: (command, helper) => {
      const groups = new Map<string, string[]>();
      for (const option of helper.visibleOptions(command)) {
        const heading = option.helpGroupHeading ?? 'Options:';
        const items = groups.get(heading) ?? [];
        items.push(helper.formatItem(helper.optionTerm(option), 0, helper.optionDescription(option), helper));
        groups.set(heading, items);
      }
      return [...groups].map(([heading, items]) => [heading, ...items, ''].join('\n')).join('\n');
    },
  });
  for (const group of FLAG_GROUPS) {
    for (const def of FLAG_DEFINITIONS.values()) {
      if (def.group !== group || def.hidden === true) continue;
      const option = new Option(`--${def.name} <value>`, def.usage).helpGroup(`${group}:`);
      terms.set(option, `--${def.name} ${shownDefault(def)}`);
      cmd.addOption(option);
    }
  }
  const envNote = [
    'Environment:',
    '  Every flag can also be given as an environment variable named ETCD_ followed by the flag name',
    '  in upper case with dashes as underscores (--data-dir is ETCD_DATA_DIR). Giving a flag both ways',
    '  is an error, as it is for etcd.',
    '',
  ].join('\n');
  return `${formatUsageLine()}\n${cmd.helpInformation()}\n${envNote}`;
}
