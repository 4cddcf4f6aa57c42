/**
 * stm-bank-transfer: five accounts in etcd; four tellers, each with its own
 * Client, make random transfers between them at the same time. Each
 * transfer is an stm() transaction (serializable snapshot isolation): it
 * reads both balances, refuses to overdraw, and writes both; when another
 * teller committed a change to one of those accounts first, the commit
 * fails and stm() runs the transfer again on fresh balances. The total
 * stays the same, no balance goes negative, and the retries are counted.
 *
 *   node examples/dist/stm-bank-transfer/main.js
 */
import { Client } from '@etcd-ts/client';
import { stm } from '@etcd-ts/recipes';
import { useEtcd } from '../shared/endpoints.js';
import { log, onCleanup, runExample, runPrefix, type Summary } from '../shared/run.js';

const ACCOUNTS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const OPENING_BALANCE = 100;
const TELLERS = 4;
const TRANSFERS_PER_TELLER = 25;

/** A small deterministic generator, so that every run makes the same transfers. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = `${runPrefix('stm-bank-transfer')}/accounts/`;
  const account = (name: string): string => `${prefix}${name}`;

  const bank = new Client({ endpoints: etcd.endpoints });
  onCleanup(() => bank.close());
  onCleanup(() => bank.delete(prefix, { prefix: true }).then(() => undefined));
  for (const a of ACCOUNTS) await bank.put(account(a), String(OPENING_BALANCE));
  const expected = ACCOUNTS.length * OPENING_BALANCE;
  log('bank', `opened ${ACCOUNTS.length} accounts with ${OPENING_BALANCE} each (total ${expected})`);

  const teller = async (n: number): Promise<{ done: number; refused: number; retries: number }> => {
    const client = new Client({ endpoints: etcd.endpoints });
    onCleanup(() => client.close());
    const rnd = random(n);
    let done = 0;
    let refused = 0;
    let retries = 0;
    for (let i = 0; i < TRANSFERS_PER_TELLER; i++) {
      const from = ACCOUNTS[Math.floor(rnd() * ACCOUNTS.length)] as string;
      let to = ACCOUNTS[Math.floor(rnd() * (ACCOUNTS.length - 1))] as string;
      if (to === from) to = ACCOUNTS[ACCOUNTS.length - 1] as string;
      const amount = 1 + Math.floor(rnd() * 40);
      // The function may run several times: it only reads and writes through tx.
      const r = await stm(client, async (tx) => {
        const fromBalance = Number(await tx.get(account(from)));
        const toBalance = Number(await tx.get(account(to)));
        if (fromBalance < amount) return false;
        tx.put(account(from), String(fromBalance - amount));
        tx.put(account(to), String(toBalance + amount));
        return true;
      });
      if (r.value) done++;
      else refused++;
      retries += r.retries;
    }
    log(`teller-${n}`, `${done} transfers made, ${refused} refused (insufficient funds), ${retries} conflicts retried`);
    return { done, refused, retries };
  };

  const results = await Promise.all(Array.from({ length: TELLERS }, (_, i) => teller(i + 1)));

  const balances = await Promise.all(ACCOUNTS.map(async (a) => Number(await bank.get(account(a)).string())));
  const total = balances.reduce((s, b) => s + b, 0);
  log('bank', `balances: ${ACCOUNTS.map((a, i) => `${a}=${balances[i]}`).join(' ')} (total ${total})`);
  const transfers = results.reduce((s, r) => s + r.done, 0);
  const conflicts = results.reduce((s, r) => s + r.retries, 0);
  const negative = balances.filter((b) => b < 0).length;
  return {
    ok: total === expected && negative === 0,
    fields: { total, expected, transfers, refused: results.reduce((s, r) => s + r.refused, 0), conflicts_retried: conflicts, negative_balances: negative },
  };
}

runExample(main);
