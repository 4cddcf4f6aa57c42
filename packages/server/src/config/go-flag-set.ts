import { ConfigError } from './config-error.js';
import type { FlagDefinition } from './flag-definitions.js';
import { FlagValueError, parseFlagValue } from './parse-flag-value.js';
import type { FlagValue } from './parse-flag-value.js';
import type { ConfigSource, EtcdUrl } from './server-config.js';

export interface GoFlagParseResult {
  /** -h or -help was given (and is not a defined flag); parsing stopped there. */
  readonly help: boolean;
  /** Arguments left after the first non-flag argument or after "--". */
  readonly args: readonly string[];
}

/**
 * A set of typed flags parsed with the exact rules of Go's flag package:
 * "-flag", "--flag", "-flag=value", "-flag value" (non-boolean flags only; a
 * boolean flag takes a value only after '='), "--" ends the flags, the first
 * non-flag argument stops parsing, a repeated flag keeps its last value.
 *
 * Invariant: `values` holds a value for every defined flag (its default until set).
 */
export class GoFlagSet {
  private readonly values = new Map<string, FlagValue>();
  private readonly sources = new Map<string, ConfigSource>();
  /** Warnings raised while setting flags (ignored flags). */
  readonly warnings: string[] = [];

  constructor(readonly definitions: ReadonlyMap<string, FlagDefinition>) {
    for (const def of definitions.values()) {
      const v = parseFlagValue(def, def.defaultValue);
      this.values.set(def.name, v ?? (def.kind === 'urls' ? [] : ''));
    }
  }

  parse(argv: readonly string[]): GoFlagParseResult {
    const args = [...argv];
    while (args.length > 0) {
      const s = args[0] as string;
      if (s.length < 2 || s[0] !== '-') break;
      let minuses = 1;
      if (s[1] === '-') {
        minuses = 2;
        if (s.length === 2) {
          args.shift();
          break;
        }
      }
      let name = s.slice(minuses);
      if (name.length === 0 || name[0] === '-' || name[0] === '=') {
        throw new ConfigError('flag-syntax', `bad flag syntax: ${s}`);
      }
      args.shift();
      let value: string | undefined;
      const eq = name.indexOf('=', 1);
      if (eq > 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const def = this.definitions.get(name);
      if (def === undefined) {
        if (name === 'help' || name === 'h') return { help: true, args };
        throw new ConfigError('flag-syntax', `flag provided but not defined: -${name}`, name);
      }
      if (def.kind === 'bool' || def.kind === 'ignored') {
        try {
          this.set(name, value ?? 'true', 'flag');
        } catch (e) {
          if (!(e instanceof FlagValueError)) throw e;
          const msg =
            value === undefined
              ? `invalid boolean flag ${name}: ${e.message}`
              : `invalid boolean value ${JSON.stringify(value)} for -${name}: ${e.message}`;
          throw new ConfigError('flag-syntax', msg, name);
        }
        continue;
      }
      if (value === undefined) {
        if (args.length === 0) throw new ConfigError('flag-syntax', `flag needs an argument: -${name}`, name);
        value = args.shift() as string;
      }
      try {
        this.set(name, value, 'flag');
      } catch (e) {
        if (!(e instanceof FlagValueError)) throw e;
        throw new ConfigError('flag-syntax', `invalid value ${JSON.stringify(value)} for flag -${name}: ${e.message}`, name);
      }
    }
    return { help: false, args };
  }

  /** Sets a flag from text, like flag.FlagSet.Set; throws FlagValueError on a bad value. */
  set(name: string, raw: string, source: ConfigSource): void {
    const def = this.definitions.get(name);
    if (def === undefined) throw new FlagValueError(`no such flag -${name}`);
    const v = parseFlagValue(def, raw);
    if (def.kind === 'ignored') this.warnings.push(`flag -${name} is ignored: etcd no longer supports it`);
    if (v !== undefined) this.values.set(name, v);
    this.sources.set(name, source);
  }

  /** Sets a flag to an already typed value (used for configuration files). */
  setValue(name: string, value: FlagValue, source: ConfigSource): void {
    if (!this.definitions.has(name)) throw new FlagValueError(`no such flag -${name}`);
    this.values.set(name, value);
    this.sources.set(name, source);
  }

  isSet(name: string): boolean {
    return this.sources.has(name);
  }

  sourceOf(name: string): ConfigSource | undefined {
    return this.sources.get(name);
  }

  /** Flags set explicitly, with where their value came from. */
  setFlags(): Record<string, ConfigSource> {
    return Object.fromEntries(this.sources);
  }

  private get(name: string): FlagValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`flag -${name} is not defined`);
    return v;
  }

  string(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string') throw new Error(`flag -${name} is not a string flag`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') throw new Error(`flag -${name} is not a boolean flag`);
    return v;
  }

  number(name: string): number {
    const v = this.get(name);
    if (typeof v !== 'number') throw new Error(`flag -${name} is not a numeric flag`);
    return v;
  }

  urls(name: string): readonly EtcdUrl[] {
    const v = this.get(name);
    if (!Array.isArray(v) || this.definitions.get(name)?.kind !== 'urls') throw new Error(`flag -${name} is not a URL list flag`);
    return v as readonly EtcdUrl[];
  }

  strings(name: string): readonly string[] {
    const v = this.get(name);
    if (!Array.isArray(v) || this.definitions.get(name)?.kind !== 'strings') throw new Error(`flag -${name} is not a string list flag`);
    return v as readonly string[];
  }
}
