/**
 * Calls `fn` (a user callback, or an emit that runs listeners); what it throws
 * is rethrown on the next tick, as an uncaught exception, instead of into the
 * recipe's own loop.
 */
export function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
