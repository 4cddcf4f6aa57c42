/** The dependency rules of ARCHITECTURE.md hold: no import cycles, server layers point downwards. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('no import cycles and no upward imports between server layers', () => {
  const script = fileURLToPath(new URL('../../../scripts/check-layers.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr + r.stdout);
});

test.run();
