/**
 * service-registry: three instances of service "api" register themselves
 * with a TTL lease kept alive by heartbeats; a client discovers them as a
 * live list and picks one per request, round-robin. Then:
 *
 *   - api-2 shuts down cleanly (deregister): it leaves the list at once;
 *   - api-3's lease is revoked behind its back (as when etcd expires a lease
 *     of a process that stopped heartbeating): it drops out of the list, and
 *     its Registration notices the loss and registers again under a new lease.
 *
 * Each instance has its own Client, as separate processes would.
 *
 *   node examples/dist/service-registry/main.js
 */
import { Client } from '@etcd-ts/client';
import { ServiceRegistry, type DiscoveredInstance, type Registration } from '@etcd-ts/recipes';
import { useEtcd } from '../shared/endpoints.js';
import { log, onCleanup, runExample, runPrefix, until, type Summary } from '../shared/run.js';

const SERVICE = 'api';
const TTL_SECONDS = 3;

const describe = (list: readonly DiscoveredInstance[]): string =>
  list.length === 0 ? '(none)' : list.map((i) => `${i.id}@${i.address} lease=${i.leaseId.toString(16)}`).join(', ');

async function main(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = `${runPrefix('service-registry')}/services`;

  const clients: Client[] = [];
  const newClient = (): Client => {
    const c = new Client({ endpoints: etcd.endpoints });
    clients.push(c);
    return c;
  };
  onCleanup(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  // The consumer side: a live list of "api" instances.
  const consumer = newClient();
  const discovery = new ServiceRegistry(consumer, prefix).discover(SERVICE);
  onCleanup(() => discovery.close());
  discovery.on('change', (list) => log('discovery', `live list: ${describe(list)}`));
  await discovery.ready;

  // The providers: one registration per instance, each on its own connection.
  const registrations = new Map<string, Registration>();
  for (const n of [1, 2, 3]) {
    const id = `api-${n}`;
    const reg = await new ServiceRegistry(newClient(), prefix).register(
      SERVICE,
      { id, address: `10.0.0.${n}:8080`, meta: { zone: n === 1 ? 'a' : 'b' } },
      { ttl: TTL_SECONDS },
    );
    reg.on('lost', (err) => log(id, `lease lost (${err.reason}); registering again`));
    reg.on('registered', (lease, count) => {
      if (count > 1) log(id, `registered again under lease ${lease.toString(16)} (registration #${count})`);
    });
    registrations.set(id, reg);
    onCleanup(() => reg.deregister());
    log(id, `registered with a ${TTL_SECONDS} s lease ${reg.leaseId?.toString(16)} (heartbeat every ${TTL_SECONDS / 3} s)`);
  }
  const ids = (): string => discovery.instances().map((i) => i.id).join(',');
  await until('3 instances in the live list', () => discovery.instances().length === 3);

  const pickRound = (n: number): string[] => Array.from({ length: n }, () => discovery.pick('round-robin')?.id ?? '-');
  const picks1 = pickRound(6);
  log('client', `6 requests, round-robin: ${picks1.join(' ')}`);

  // 1. A clean shutdown.
  log('api-2', 'shutting down: deregister');
  await registrations.get('api-2')?.deregister();
  await until('api-2 to leave the list', () => ids() === 'api-1,api-3');

  // 2. A lease that ends without the instance's consent.
  const api3 = registrations.get('api-3') as Registration;
  const oldLease = api3.leaseId as bigint;
  log('admin', `revoking api-3's lease ${oldLease.toString(16)}`);
  await consumer.lease.revoke(oldLease);
  await until('api-3 to drop out of the list', () => !discovery.instances().some((i) => i.id === 'api-3' && i.leaseId === oldLease));
  await until('api-3 to come back under a new lease', () => discovery.instances().some((i) => i.id === 'api-3' && i.leaseId !== oldLease), 10_000);
  const newLease = discovery.instances().find((i) => i.id === 'api-3')?.leaseId;

  const picks2 = pickRound(4);
  log('client', `4 requests, round-robin: ${picks2.join(' ')}`);

  const final = ids();
  discovery.removeAllListeners('change'); // the shutdown below empties the list: not part of the story
  const ok =
    new Set(picks1).size === 3 &&
    final === 'api-1,api-3' &&
    api3.registrations === 2 &&
    newLease !== undefined &&
    newLease !== oldLease &&
    picks2.join(',') !== '' &&
    new Set(picks2).size === 2;
  return {
    ok,
    fields: { instances: final, reregistered: api3.registrations - 1, picks: picks1.join(','), picks_after: picks2.join(',') },
  };
}

runExample(main);
