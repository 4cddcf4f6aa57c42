/** Thrown with the same text as Go's time.ParseDuration errors. */
export class GoDurationError extends Error {
  override readonly name = 'GoDurationError';
}

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_DURATION_NS = 2 ** 63 - 1;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Go's time.ParseDuration ("300ms", "-1.5h", "2h45m"), returning milliseconds.
 * A duration is a sequence of decimal numbers, each with an optional fraction and
 * a required unit; the bare string "0" is also accepted.
 */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  const invalid = (): GoDurationError => new GoDurationError(`time: invalid duration ${quoted}`);
  let s = text;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let totalNs = 0;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    let i = 0;
    while (isDigit(s[i])) i++;
    const intPart = s.slice(0, i);
    s = s.slice(i);
    let fracPart = '';
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      while (isDigit(s[j])) j++;
      fracPart = s.slice(0, j);
      s = s.slice(j);
      if (intPart === '' && fracPart === '') throw invalid();
    } else if (intPart === '') {
      throw invalid();
    }
    let k = 0;
    while (k < s.length && !(s[k] === '.' || isDigit(s[k]))) k++;
    if (k === 0) throw new GoDurationError(`time: missing unit in duration ${quoted}`);
    const unit = s.slice(0, k);
    s = s.slice(k);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new GoDurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    const value = Number(`${intPart === '' ? '0' : intPart}.${fracPart === '' ? '0' : fracPart}`);
    totalNs += value * scale;
    if (totalNs > MAX_DURATION_NS) throw invalid();
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}
