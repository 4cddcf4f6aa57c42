/**
 * The frame every example runs in: timestamped output, a deadline, and a
 * final machine-checkable line `RESULT ok|fail key=value ...` with exit code
 * 0 (ok) or 1 (fail, error or deadline).
 */

/** Start of the example; forked children inherit it, so every process prints on one time base. */
const T0 = Number(process.env['EXAMPLE_T0'] ?? Date.now());
process.env['EXAMPLE_T0'] = String(T0);

/** Milliseconds since the example started (shared by parent and children). */
export function now(): number {
  return Date.now() - T0;
}

/** `+1.234s`: time since the example started. */
export function stamp(ms: number = now()): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

/** Prints `+1.234s [who] message`. */
export function log(who: string, message: string): void {
  console.log(`${stamp()} [${who}] ${message}`);
}

/** Resolves after ms (at once, without rejecting, when signal aborts). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Waits until cond() is true, checking every pollMs; throws after timeoutMs naming what was awaited. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/**
 * A key prefix of its own for each run, so that runs against a shared etcd
 * never see each other's keys: `examples/<name>/<time>-<pid>`.
 */
export function runPrefix(example: string): string {
  const inherited = process.env['EXAMPLE_PREFIX'];
  if (inherited) return inherited;
  const prefix = `examples/${example}/${T0.toString(36)}-${process.pid}`;
  process.env['EXAMPLE_PREFIX'] = prefix;
  return prefix;
}

export interface Summary {
  readonly ok: boolean;
  /** Printed as key=value in the RESULT line, in this order. */
  readonly fields: Readonly<Record<string, string | number | boolean>>;
}

/** Cleanups run (last registered first) before the RESULT line, whatever the outcome. */
const cleanups: (() => Promise<void> | void)[] = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => Promise<void> | void;
    try {
      await Promise.race([fn(), sleep(5000)]);
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

function resultLine(s: Summary): string {
  const fields = Object.entries(s.fields).map(([k, v]) => `${k}=${String(v).replace(/\s+/g, '_')}`);
  return ['RESULT', s.ok ? 'ok' : 'fail', ...fields].join(' ');
}

/**
 * Runs the example's main function under a deadline, prints the RESULT line
 * and exits (gRPC channels and timers would otherwise keep the process up).
 */
export function runExample(main: () => Promise<Summary>, deadlineMs = 28_000): void {
  const deadline = setTimeout(() => {
    void (async () => {
      console.error(`deadline of ${deadlineMs} ms exceeded`);
      await runCleanups();
      console.log(resultLine({ ok: false, fields: { reason: 'deadline-exceeded' } }));
      process.exit(1);
    })();
  }, deadlineMs);
  void (async () => {
    let summary: Summary;
    try {
      summary = await main();
    } catch (err) {
      console.error(err);
      summary = { ok: false, fields: { reason: (err as Error)?.message ?? String(err) } };
    }
    await runCleanups();
    clearTimeout(deadline);
    console.log(resultLine(summary));
    process.exit(summary.ok ? 0 : 1);
  })();
}
