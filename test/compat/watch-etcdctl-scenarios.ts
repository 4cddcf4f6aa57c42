/*
 * etcdctl 3.4 `watch` sequences for the differential watch suite. Every
 * scenario runs on fresh servers, so revisions are absolute. Watchers start
 * from an explicit --rev (past or next), which makes what they print
 * independent of when the watch reaches the server; `await` steps wait for
 * the output of history before writing more, so batches match too.
 * Line counts: an event prints 3 lines (type, key, value), 5 with a previous
 * key-value; -w json prints one line per response.
 */
import { awaitExit, awaitLines, run, runIn, start, stop, type CtlScenario } from './etcdctl-runner.js';

export const WATCH_ETCDCTL_SCENARIOS: CtlScenario[] = [
  {
    name: 'watch --rev: history of one key, then live events',
    steps: [
      run('put', 'a', '1'),
      run('put', 'a', '2'),
      run('put', 'b', 'x'),
      run('del', 'a'),
      run('put', 'a', '3'),
      start('w', 'watch', 'a', '--rev=1'),
      awaitLines('w', 12),
      run('put', 'a', '4'),
      run('put', 'b', 'y'),
      run('del', 'a'),
      awaitLines('w', 18),
      stop('w'),
    ],
  },
  {
    name: 'watch --prefix --rev -w json: history batch, live puts and a txn',
    steps: [
      run('put', 'p/1', 'a'),
      run('put', 'p/2', 'b'),
      run('put', 'q', 'outside'),
      run('del', 'p/1'),
      start('w', 'watch', 'p/', '--prefix', '--rev=2', '-w', 'json'),
      awaitLines('w', 1),
      run('put', 'p/3', 'c'),
      awaitLines('w', 2),
      runIn('\nput p/4 d\nput p/5 e\ndel p/2\nput q zz\n\n\n', 'txn'),
      awaitLines('w', 3),
      stop('w'),
    ],
  },
  {
    name: 'watch --prev-kv from the next revision: create, modify, delete',
    steps: [
      run('put', 'other', '1'),
      start('w', 'watch', 'k', '--prev-kv', '--rev=3'),
      run('put', 'k', 'v1'),
      run('put', 'k', 'v2'),
      run('del', 'k'),
      run('put', 'k', 'v3'),
      awaitLines('w', 16),
      stop('w'),
    ],
  },
  {
    name: 'watch --prefix --prev-kv --rev=1 -w json replays everything with previous values',
    steps: [
      run('put', 'x/a', '1'),
      run('put', 'x/b', '2'),
      run('put', 'x/a', '3'),
      run('del', 'x/', '--prefix'),
      run('put', 'x/b', '4'),
      start('w', 'watch', 'x/', '--prefix', '--prev-kv', '--rev=1', '-w', 'json'),
      awaitLines('w', 1),
      run('put', 'x/b', '5'),
      awaitLines('w', 2),
      stop('w'),
    ],
  },
  {
    name: 'watch key range_end, and the whole keyspace with an empty prefix',
    steps: [
      run('put', 'a', '1'),
      run('put', 'b', '2'),
      run('put', 'bb', '3'),
      run('put', 'c', '4'),
      run('put', 'd', '5'),
      start('range', 'watch', 'a', 'c', '--rev=1'),
      start('all', 'watch', '', '--prefix', '--rev=1'),
      awaitLines('range', 9),
      awaitLines('all', 15),
      run('put', 'bc', '6'),
      run('put', 'c', '7'),
      awaitLines('range', 12),
      awaitLines('all', 21),
      stop('range'),
      stop('all'),
    ],
  },
  {
    name: 'watch -w fields and --hex',
    steps: [
      run('put', 'f', 'one'),
      run('put', 'f', 'two'),
      start('fields', 'watch', 'f', '--rev=2', '--prev-kv', '-w', 'fields'),
      start('hex', 'watch', 'f', '--rev=2', '--hex'),
      awaitLines('hex', 6),
      awaitLines('fields', 20),
      stop('fields'),
      stop('hex'),
    ],
  },
  {
    name: 'watch below the compacted revision is canceled; at it replays',
    steps: [
      run('put', 'k', '1'),
      run('put', 'k', '2'),
      run('put', 'k', '3'),
      run('put', 'k', '4'),
      run('compact', '4'),
      start('below', 'watch', 'k', '--rev=2'),
      awaitExit('below'),
      start('json', 'watch', 'k', '--rev=3', '-w', 'json'),
      awaitExit('json'),
      start('at', 'watch', 'k', '--rev=4'),
      awaitLines('at', 6),
      stop('at'),
      stop('below'),
      stop('json'),
    ],
  },
  {
    name: 'watch -- exec command gets the event in its environment',
    steps: [
      run('put', 'e', 'first'),
      run('put', 'e', 'second'),
      run('del', 'e'),
      start('w', 'watch', 'e', '--rev=2', '--', 'sh', '-c', 'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_REVISION"'),
      awaitLines('w', 12),
      stop('w'),
    ],
  },
  {
    name: 'watch argument errors',
    steps: [
      run('watch'),
      run('watch', 'a', 'b', '--prefix'),
      run('watch', 'a', '--'),
    ],
  },
  {
    name: 'watch of an inverted range is canceled by the server',
    steps: [
      run('put', 'a', '1'),
      start('w', 'watch', 'b', 'a'),
      awaitExit('w'),
      stop('w'),
    ],
  },
];
