import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InlineWritePolicy } from '../src/wal/inline-write-policy.js';

const opts = { idleMs: 2, maxWriteMs: 1 };

test('no write is inline before one was measured', () => {
  assert.is(new InlineWritePolicy(opts).inline(1_000), false);
});

test('a fast disk and an idle WAL: inline', () => {
  const p = new InlineWritePolicy(opts);
  p.wrote(0, 0.3);
  assert.is(p.inline(0.3 + opts.idleMs + 0.1), true);
});

test('back-to-back batches (load) go to the thread pool', () => {
  const p = new InlineWritePolicy(opts);
  p.wrote(0, 0.3);
  assert.is(p.inline(0.3 + opts.idleMs / 2), false);
});

test('a slow disk never blocks the event loop, and a fast one is trusted again once it recovers', () => {
  const p = new InlineWritePolicy(opts);
  let t = 0;
  for (let i = 0; i < 5; i++) p.wrote(t, (t += 10));
  assert.is(p.inline(t + 100), false, 'writes of 10 ms');
  for (let i = 0; i < 40; i++) {
    t += 100;
    p.wrote(t, (t += 0.2));
  }
  assert.is(p.inline(t + 100), true, 'writes of 0.2 ms again');
});

test.run();
