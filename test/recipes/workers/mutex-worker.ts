/**
 * A Mutex contender in its own process. argv[2] is JSON:
 *   { endpoints: string[], name: string, ttl: number, mode: 'count' | 'hold', iterations?: number, counter?: string }
 *
 * - count: `iterations` times: lock, read the counter key, write counter + 1
 *   with a fenced (guarded) txn, unlock. The read and the write are
 *   deliberately separate requests: only the lock makes the increment safe.
 *   Prints "done <increments>".
 * - hold: locks, prints "locked <fencing token> <key>", then obeys stdin lines:
 *   "write <key> <value>" (a guarded put; prints "written" or "rejected"),
 *   "unlock" (prints "unlocked"), "exit".
 */
import { createInterface } from 'node:readline';
import { Client, op } from '@etcd-ts/client';
import { Mutex } from '@etcd-ts/recipes';
import { Session } from '@etcd-ts/recipes';

interface Args {
  endpoints: string[];
  name: string;
  ttl: number;
  mode: 'count' | 'hold';
  iterations?: number;
  counter?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const client = new Client({ endpoints: args.endpoints, callTimeoutMs: 5000 });
const session = await Session.create(client, { ttl: args.ttl });
const mutex = new Mutex(session, args.name);

if (args.mode === 'count') {
  const counter = args.counter ?? `${args.name}-counter`;
  let done = 0;
  for (let i = 0; i < (args.iterations ?? 10); i++) {
    await mutex.lock({ timeoutMs: 60_000 });
    const current = Number((await client.get(counter).string()) ?? '0');
    await mutex.guard(op.put(counter, String(current + 1)));
    done++;
    await mutex.unlock();
  }
  console.log(`done ${done}`);
  await session.close();
  await client.close();
  process.exit(0);
} else {
  const token = await mutex.lock();
  console.log(`locked ${token} ${mutex.key}`);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, key, value] = line.trim().split(' ');
    if (cmd === 'write' && key !== undefined) {
      try {
        await mutex.guard(op.put(key, value ?? ''));
        console.log('written');
      } catch (err) {
        console.log((err as Error).name === 'NotLockOwnerError' ? 'rejected' : `error ${(err as Error).message}`);
      }
    } else if (cmd === 'unlock') {
      await mutex.unlock();
      console.log('unlocked');
    } else if (cmd === 'exit') {
      break;
    }
  }
  session.orphan();
  await client.close();
  process.exit(0);
}
