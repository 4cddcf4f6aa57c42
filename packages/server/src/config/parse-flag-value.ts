import type { FlagDefinition } from './flag-definitions.js';
import { GoDurationError, parseGoDuration } from './parse-go-duration.js';
import { parseGoBool } from './parse-go-bool.js';
import { GoIntError, parseGoInt, parseGoUint } from './parse-go-int.js';
import { EtcdUrlError, parseEtcdUrls } from './parse-etcd-urls.js';
import type { EtcdUrl } from './server-config.js';

export type FlagValue = string | boolean | number | readonly EtcdUrl[] | readonly string[];

/** A value a flag's type rejects; the message is the reason Go's flag package would print. */
export class FlagValueError extends Error {
  override readonly name = 'FlagValueError';
}

function toSafeNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new FlagValueError('value out of range');
  }
  return Number(v);
}

function goInt(fn: () => bigint): number {
  try {
    return toSafeNumber(fn());
  } catch (e) {
    if (e instanceof GoIntError) throw new FlagValueError(e.message);
    throw e;
  }
}

/**
 * Parses one flag value the way the Go flag type behind `def` does. Returns
 * undefined when the value leaves the flag unchanged (an empty string given to
 * a URL list flag, as etcd's UniqueURLs does).
 * Integers beyond 2^53 - 1 are reported as out of range.
 */
export function parseFlagValue(def: FlagDefinition, raw: string): FlagValue | undefined {
  switch (def.kind) {
    case 'string':
      return raw;
    case 'bool': {
      const b = parseGoBool(raw);
      if (b === undefined) throw new FlagValueError('parse error');
      return b;
    }
    case 'uint':
    case 'uint64':
      return goInt(() => parseGoUint(raw, 64));
    case 'int':
    case 'int64':
      return goInt(() => parseGoInt(raw, 64));
    case 'uint32':
      try {
        return Number(parseGoUint(raw, 32));
      } catch (e) {
        if (!(e instanceof GoIntError)) throw e;
        const why = e.reason === 'syntax' ? 'invalid syntax' : 'value out of range';
        throw new FlagValueError(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${why}`);
      }
    case 'duration':
      try {
        return parseGoDuration(raw);
      } catch (e) {
        if (e instanceof GoDurationError) throw new FlagValueError('parse error');
        throw e;
      }
    case 'urls':
      if (raw === '') return undefined;
      try {
        return parseEtcdUrls(raw);
      } catch (e) {
        if (e instanceof EtcdUrlError) throw new FlagValueError(e.message);
        throw e;
      }
    case 'strings':
      return [...new Set(raw.split(',').filter((s) => s !== ''))].sort();
    case 'choice':
      if (def.choices?.includes(raw) !== true) throw new FlagValueError('invalid value');
      return raw;
    case 'ignored':
      return '';
  }
}
