/**
 * barrier: coordinate a group of participants.
 *
 *   1. Barrier (a gate): a coordinator raises it; four workers wait at it;
 *      the coordinator finishes its preparation and lowers it: everyone
 *      passes, nobody before the release.
 *   2. DoubleBarrier: the workers arrive at staggered times; enter() lets
 *      them start only once all four have entered; each works for a
 *      different time; leave() lets them go only once all have left.
 *
 * Every participant has its own Client and Session, as separate processes
 * would; the timestamps printed show the ordering.
 *
 *   node examples/dist/barrier/main.js
 */
import { Client } from '@etcd-ts/client';
import { Barrier, DoubleBarrier, Session } from '@etcd-ts/recipes';
import { useEtcd } from '../shared/endpoints.js';
import { log, now, onCleanup, runExample, runPrefix, sleep, stamp, type Summary } from '../shared/run.js';

const PARTICIPANTS = 4;

interface Timeline {
  name: string;
  passedGate: number;
  arrived: number;
  entered: number;
  workDone: number;
  left: number;
}

async function main(): Promise<Summary> {
  const etcd = await useEtcd();
  onCleanup(() => etcd.close());
  log('main', `using ${etcd.description}`);
  const prefix = runPrefix('barrier');

  const coordinatorClient = new Client({ endpoints: etcd.endpoints });
  onCleanup(() => coordinatorClient.close());
  const gate = new Barrier(coordinatorClient, `${prefix}/gate`);
  await gate.hold();
  log('coordinator', 'gate raised; preparing (migrating the database)');

  const waiting = new Set<string>();
  const participant = async (i: number): Promise<Timeline> => {
    const name = `worker-${i}`;
    const client = new Client({ endpoints: etcd.endpoints });
    onCleanup(() => client.close());
    const session = await Session.create(client, { ttl: 5 });
    onCleanup(() => session.close());

    // 1. Wait at the gate.
    waiting.add(name);
    await new Barrier(client, `${prefix}/gate`).wait();
    const passedGate = now();
    log(name, 'passed the gate');

    // 2. Arrive at different times, start together, finish together.
    await sleep(i * 150);
    const barrier = new DoubleBarrier(session, `${prefix}/round`, PARTICIPANTS);
    const arrived = now();
    log(name, 'arrived, entering the double barrier');
    await barrier.enter();
    const entered = now();
    log(name, 'entered: everyone is here, starting work');
    await sleep(100 + ((i * 137) % 400)); // the work, of a different length for each
    const workDone = now();
    log(name, 'work done, leaving');
    await barrier.leave();
    const left = now();
    log(name, 'left: everyone is done');
    return { name, passedGate, arrived, entered, workDone, left };
  };

  const running = Array.from({ length: PARTICIPANTS }, (_, i) => participant(i + 1));
  // Prepare for a while; the workers have queued up at the gate meanwhile.
  await sleep(400);
  const releasedAt = now();
  log('coordinator', `preparation done, releasing the gate (${waiting.size} waiting)`);
  await gate.release();
  const timelines = await Promise.all(running);

  const max = (f: (t: Timeline) => number): number => Math.max(...timelines.map(f));
  const min = (f: (t: Timeline) => number): number => Math.min(...timelines.map(f));
  const gateOk = min((t) => t.passedGate) >= releasedAt;
  const enterOk = min((t) => t.entered) >= max((t) => t.arrived);
  const leaveOk = min((t) => t.left) >= max((t) => t.workDone);
  log('main', `gate released at ${stamp(releasedAt)}; first worker through at ${stamp(min((t) => t.passedGate))}`);
  log('main', `last arrival at ${stamp(max((t) => t.arrived))}; first start at ${stamp(min((t) => t.entered))}`);
  log('main', `last to finish work at ${stamp(max((t) => t.workDone))}; first to leave at ${stamp(min((t) => t.left))}`);
  return {
    ok: gateOk && enterOk && leaveOk,
    fields: {
      participants: PARTICIPANTS,
      gate_ordered: gateOk,
      started_after_all_entered: enterOk,
      left_after_all_done: leaveOk,
    },
  };
}

runExample(main);
