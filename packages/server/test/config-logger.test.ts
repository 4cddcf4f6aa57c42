import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/util/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('JSON lines with etcd zap field names', () => {
  const out = capture();
  const log = createLogger({ level: 'info', outputs: ['stderr'], destination: out.stream });
  log.info({ 'local-member-id': '8e9e05c52164694d' }, 'starting server');
  log.error({ error: 'disk full' }, 'failed to save');
  const [first, second] = out.lines();
  assert.is(first?.['level'], 'info');
  assert.is(first?.['msg'], 'starting server');
  assert.is(first?.['local-member-id'], '8e9e05c52164694d');
  assert.match(String(first?.['ts']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.not.ok('pid' in (first ?? {}));
  assert.not.ok('hostname' in (first ?? {}));
  assert.is(second?.['level'], 'error');
  assert.is(second?.['error'], 'disk full');
});

test('levels filter entries; panic keeps only fatal', () => {
  const out = capture();
  const log = createLogger({ level: 'warn', outputs: [], destination: out.stream });
  log.debug('a');
  log.info('b');
  log.warn('c');
  log.error('d');
  assert.equal(out.lines().map((l) => l['msg']), ['c', 'd']);
  const out2 = capture();
  const log2 = createLogger({ level: 'panic', outputs: [], destination: out2.stream });
  log2.error('e');
  log2.fatal('f');
  assert.equal(out2.lines().map((l) => [l['level'], l['msg']]), [['fatal', 'f']]);
});

test('file outputs are appended to, parents created; no outputs means silent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logger-'));
  try {
    const file = join(dir, 'sub', 'etcd.log');
    createLogger({ level: 'info', outputs: [file] }).info('one');
    createLogger({ level: 'info', outputs: [file] }).info('two');
    const msgs = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.equal(msgs, ['one', 'two']);
    const silent = createLogger({ level: 'debug', outputs: [] });
    assert.is(silent.isLevelEnabled('info'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
