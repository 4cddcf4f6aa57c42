/*
 * etcdctl 3.4 `lease` sequences (and `put --lease`, and watchers seeing a
 * lease's keys go) for the differential lease suite. Lease IDs are chosen
 * by each server, so grants are captured as {L1}, {L2}, ... and printed IDs
 * compared as <L1>, <L2>, ... Remaining TTLs are truncated seconds: with a
 * TTL of 100 s and commands that take well under a second, both servers
 * print 99.
 */
import { awaitLines, capture, run, start, stop, type CtlScenario } from './etcdctl-runner.js';

const GRANTED = /lease ([0-9a-f]{16}) granted/;

/** etcd lists a lease's keys in Go map order: compare them sorted. */
function sortAttachedKeys(text: string): string {
  return text.replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').filter((k) => k !== '').sort().join(' ')}])`);
}

export const LEASE_ETCDCTL_SCENARIOS: CtlScenario[] = [
  {
    name: 'lease grant, put --lease, timetolive --keys, list, keep-alive --once, revoke',
    normalize: sortAttachedKeys,
    steps: [
      capture('L1', GRANTED, 'lease', 'grant', '100'),
      run('put', 'a', '1', '--lease={L1}'),
      run('put', 'b', '2', '--lease={L1}'),
      run('put', 'c', '3', '--lease={L1}'),
      run('put', 'c', 'no lease any more'),
      run('lease', 'timetolive', '{L1}'),
      run('lease', 'timetolive', '{L1}', '--keys'),
      run('lease', 'timetolive', '{L1}', '-w', 'json'),
      run('lease', 'list'),
      run('lease', 'list', '-w', 'json'),
      run('lease', 'keep-alive', '--once', '{L1}'),
      run('get', '', '--prefix', '-w', 'json'),
      start('w', 'watch', '', '--prefix', '--prev-kv', '--rev=6'),
      run('lease', 'revoke', '{L1}'),
      awaitLines('w', 10),
      run('get', '', '--prefix'),
      run('lease', 'timetolive', '{L1}'),
      run('lease', 'timetolive', '{L1}', '--keys'),
      run('lease', 'list'),
      run('lease', 'revoke', '{L1}'),
      run('lease', 'keep-alive', '--once', '{L1}'),
      run('lease', 'keep-alive', '{L1}'),
      run('put', 'd', '4', '--lease={L1}'),
      stop('w'),
    ],
  },
  {
    name: 'lease grant TTLs: below the minimum, zero, negative, too large, not a number',
    steps: [
      capture('L1', GRANTED, 'lease', 'grant', '1'),
      run('lease', 'timetolive', '{L1}'),
      run('lease', 'grant', '9000000001'),
      run('lease', 'grant', 'abc'),
      run('lease', 'grant'),
      run('lease', 'revoke'),
      run('lease', 'revoke', 'zzz'),
      run('lease', 'timetolive', '1234'),
      run('lease', 'revoke', '1234'),
      run('lease', 'keep-alive', '--once', '1234'),
    ],
  },
  {
    name: 'lease list orders leases by remaining time',
    steps: [
      capture('L1', GRANTED, 'lease', 'grant', '300'),
      capture('L2', GRANTED, 'lease', 'grant', '100'),
      capture('L3', GRANTED, 'lease', 'grant', '200'),
      run('lease', 'list'),
      run('lease', 'revoke', '{L3}'),
      run('lease', 'list'),
    ],
  },
  {
    name: 'lease expiry deletes its three keys in one revision, seen by watchers',
    steps: [
      capture('L1', GRANTED, 'lease', 'grant', '2'),
      run('put', 'e/1', 'a', '--lease={L1}'),
      run('put', 'e/2', 'b', '--lease={L1}'),
      run('put', 'e/3', 'c', '--lease={L1}'),
      run('put', 'e/4', 'stays'),
      start('json', 'watch', 'e/', '--prefix', '--rev=2', '-w', 'json'),
      start('plain', 'watch', 'e/', '--prefix', '--prev-kv', '--rev=6'),
      awaitLines('json', 1),
      awaitLines('json', 2, 15_000),
      awaitLines('plain', 15),
      run('get', 'e/', '--prefix'),
      run('lease', 'timetolive', '{L1}'),
      run('lease', 'list'),
      stop('json'),
      stop('plain'),
    ],
  },
  {
    name: 'lease keep-alive stream keeps a short lease alive',
    steps: [
      capture('L1', GRANTED, 'lease', 'grant', '30'),
      run('put', 'ka', 'v', '--lease={L1}'),
      start('ka', 'lease', 'keep-alive', '{L1}'),
      awaitLines('ka', 1),
      stop('ka'),
      run('lease', 'timetolive', '{L1}', '--keys'),
      run('lease', 'revoke', '{L1}'),
    ],
  },
];
