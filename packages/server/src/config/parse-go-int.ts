/**
 * Integer parsing with the rules of Go's strconv.ParseInt/ParseUint in base 0,
 * which is what Go's flag package applies to int, int64, uint and uint64 flags:
 * optional sign (signed only), prefixes 0x/0X, 0b/0B, 0o/0O and a bare leading 0
 * for octal, and '_' separators between digits.
 */
export class GoIntError extends Error {
  override readonly name = 'GoIntError';
  constructor(readonly reason: 'syntax' | 'range') {
    super(reason === 'syntax' ? 'parse error' : 'value out of range');
  }
}

function underscoreOk(s: string): boolean {
  // '^' start, '0' after a digit or base prefix, '_' after an underscore, '!' after anything else.
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) i = 1;
  let hex = false;
  if (s.length - i >= 2 && s[i] === '0') {
    const p = (s[i + 1] ?? '').toLowerCase();
    if (p === 'b' || p === 'o' || p === 'x') {
      hex = p === 'x';
      i += 2;
      saw = '0';
    }
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

function parseUnsignedBase0(s: string): bigint {
  if (s === '') throw new GoIntError('syntax');
  let base = 10;
  let digits = s;
  if (s[0] === '0') {
    const p = (s[1] ?? '').toLowerCase();
    if (s.length >= 3 && p === 'x') [base, digits] = [16, s.slice(2)];
    else if (s.length >= 3 && p === 'b') [base, digits] = [2, s.slice(2)];
    else if (s.length >= 3 && p === 'o') [base, digits] = [8, s.slice(2)];
    else [base, digits] = [8, s.slice(1)];
  }
  let sawUnderscore = false;
  let value = 0n;
  const b = BigInt(base);
  for (const c of digits) {
    if (c === '_') {
      sawUnderscore = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) throw new GoIntError('syntax');
    value = value * b + BigInt(d);
  }
  if (sawUnderscore && !underscoreOk(s)) throw new GoIntError('syntax');
  return value;
}

/** Go's strconv.ParseUint(s, 0, bits). */
export function parseGoUint(s: string, bits: 32 | 64): bigint {
  const v = parseUnsignedBase0(s);
  if (v > (1n << BigInt(bits)) - 1n) throw new GoIntError('range');
  return v;
}

/** Go's strconv.ParseInt(s, 0, bits). */
export function parseGoInt(s: string, bits: 32 | 64): bigint {
  if (s === '') throw new GoIntError('syntax');
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    body = s.slice(1);
  }
  const u = parseUnsignedBase0(body);
  const limit = 1n << BigInt(bits - 1);
  if (!neg && u >= limit) throw new GoIntError('range');
  if (neg && u > limit) throw new GoIntError('range');
  return neg ? -u : u;
}
