/**
 * config-hot-reload: an application keeps its configuration in one etcd key
 * (JSON) and follows it with a ConfigWatcher: every change is validated by a
 * hand-written parser (validate.ts) and applied after a 150 ms quiet period,
 * so a burst of writes becomes one update. Invalid input (a bad field, text
 * that is not JSON, the key deleted) is rejected and the last good
 * configuration stays live.
 *
 *   node examples/dist/config-hot-reload/main.js
 */
import { Client } from '@etcd-ts/client';
import { ConfigWatcher } from '@etcd-ts/recipes';
import { useEtcd } from '../shared/endpoints.js';
import { log, now, onCleanup, runExample, runPrefix, sleep, until, type Summary } from '../shared/run.js';
import { parseAppConfig, showConfig, type AppConfig } from './validate.js';

const DEBOUNCE_MS = 150;

async function main(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = runPrefix('config-hot-reload');
  const key = `${prefix}/app/config`;
  const client = new Client({ endpoints: etcd.endpoints });
  onCleanup(() => client.close());
  onCleanup(() => client.delete(`${prefix}/`, { prefix: true }).then(() => undefined));

  const write = async (what: string, value: string | AppConfig): Promise<void> => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    await client.put(key, text);
    log('admin', `${what}: put ${text}`);
  };

  await write('initial config', { logLevel: 'info', maxConnections: 100, features: [] });

  // The application's side.
  const config = new ConfigWatcher(client, { key }, { parse: parseAppConfig, debounceMs: DEBOUNCE_MS });
  onCleanup(() => config.close());
  const applied: { at: number; value: AppConfig }[] = [];
  const rejected: string[] = [];
  config.on('change', (value, _previous, revision) => {
    applied.push({ at: now(), value });
    log('app', `applied revision ${revision}: ${showConfig(value)}`);
  });
  config.on('invalid', (err) => {
    rejected.push(err.message);
    log('app', `rejected revision ${err.revision}: ${(err.cause as Error | undefined)?.message ?? err.message}; keeping the last good config`);
  });
  await config.ready;
  const appSees = (): string => showConfig(config.current());
  log('app', `live config: ${appSees()}`);

  // 1. A burst of valid writes: one update, with the last value, once the writes stop.
  let lastWrite = 0;
  for (const maxConnections of [200, 300, 400]) {
    if (lastWrite > 0) await sleep(20);
    await write('burst', { logLevel: 'info', maxConnections, features: [] });
    lastWrite = now();
  }
  await until('the burst to be applied', () => config.current()?.maxConnections === 400);
  const burstUpdates = applied.length - 1;
  const appliedAfter = (applied[applied.length - 1]?.at ?? 0) - lastWrite;
  log('app', `live config: ${appSees()} (${burstUpdates} update for 3 writes, applied ${appliedAfter} ms after the last one)`);

  // 2. Invalid input: each rejected, the app keeps running on the last good config.
  await write('bad value', { logLevel: 'loud' as never, maxConnections: 400, features: [] });
  await until('the bad value to be rejected', () => rejected.length === 1);
  await write('not JSON', '{ maxConnections: 500');
  await until('the non-JSON text to be rejected', () => rejected.length === 2);
  await client.delete(key);
  log('admin', 'deleted the key');
  await until('the deletion to be rejected', () => rejected.length === 3);
  log('app', `live config: ${appSees()}`);

  // 3. A valid update again.
  await write('fix', { logLevel: 'debug', maxConnections: 500, features: ['dark-mode'] });
  await until('the fix to be applied', () => config.current()?.maxConnections === 500);
  log('app', `live config: ${appSees()}`);

  const final = config.current();
  const ok =
    applied.length === 3 &&
    burstUpdates === 1 &&
    appliedAfter >= DEBOUNCE_MS - 20 &&
    rejected.length === 3 &&
    final?.logLevel === 'debug' &&
    final.maxConnections === 500;
  return {
    ok,
    fields: { applied: applied.length, rejected: rejected.length, burst_updates: burstUpdates, maxConnections: final?.maxConnections ?? 0 },
  };
}

runExample(main);
