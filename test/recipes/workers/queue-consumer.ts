/**
 * A queue consumer in its own process, for at-least-once tests. argv[2] is JSON:
 *   { endpoints: string[], prefix: string, ttl: number, priority?: boolean }
 * Claims one item (blocking) with a session of `ttl` seconds, prints
 * "claimed <item key> <lease ID hex>", and never acknowledges it: it stays
 * until killed.
 */
import { Client } from '@etcd-ts/client';
import { PriorityQueue } from '@etcd-ts/recipes';
import { Queue } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';

interface Args {
  endpoints: string[];
  prefix: string;
  ttl: number;
  priority?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const client = new Client({ endpoints: args.endpoints, callTimeoutMs: 5000 });
const session = await Session.create(client, { ttl: args.ttl });
const queue = args.priority ? new PriorityQueue(client, args.prefix, { session }) : new Queue(client, args.prefix, { session });
const item = await queue.dequeue({ signal: AbortSignal.timeout(60_000) });
console.log(`claimed ${item.key} ${item.leaseId.toString(16)}`);
// Hold the claim until killed (bounded, in case the parent is gone).
setTimeout(() => process.exit(3), 120_000);
