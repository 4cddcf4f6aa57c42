/*
 * etcdctl 3.4 command sequences for the differential etcdctl suite. Each
 * scenario runs on a fresh pair of servers, so revisions in arguments and
 * outputs are absolute and must match exactly.
 */

export interface EtcdctlCommand {
  args: string[];
  stdin?: string;
}

export interface EtcdctlScenario {
  name: string;
  commands: EtcdctlCommand[];
}

const c = (...args: string[]): EtcdctlCommand => ({ args });
const withStdin = (stdin: string, ...args: string[]): EtcdctlCommand => ({ args, stdin });

/** c(3), a(2, "v0"), d(3, "v6"), b(1, "v4"): every sort target orders them differently. */
const sortSetup: EtcdctlCommand[] = [
  c('put', 's/c', 'v2'),
  c('put', 's/a', 'v3'),
  c('put', 's/d', 'v1'),
  c('put', 's/b', 'v4'),
  c('put', 's/a', 'v0'),
  c('put', 's/d', 'v5'),
  c('put', 's/d', 'v6'),
];

const SORT_TARGETS = ['CREATE', 'KEY', 'MODIFY', 'VALUE', 'VERSION'] as const;
const ORDERS = ['ASCEND', 'DESCEND'] as const;

export const ETCDCTL_SCENARIOS: EtcdctlScenario[] = [
  {
    name: 'put: simple, --prev-kv, -w json, --ignore-value, errors',
    commands: [
      c('put', 'a', '1'),
      c('put', 'a', '2', '--prev-kv'),
      c('put', 'b', 'hello world', '-w', 'json'),
      c('put', 'b', 'again', '--prev-kv', '-w', 'json'),
      c('put', 'a', '--ignore-value'),
      c('get', 'a', '-w', 'json'),
      c('put', 'missing', '--ignore-value'),
      c('put', 'c', '1', '--lease=1234'),
      c('put', '', 'x'),
      c('put', 'a', '3', '-w', 'fields'),
      withStdin('from stdin', 'put', 'd'),
      c('get', 'd'),
    ],
  },
  {
    name: 'get: plain, --prefix, --from-key, ranges, -w json',
    commands: [
      c('put', 'foo', '1'),
      c('put', 'foo/bar', '2'),
      c('put', 'foo/baz', '3'),
      c('put', 'fop', '4'),
      c('put', 'zoo', '5'),
      c('get', 'foo'),
      c('get', 'foo', '--prefix'),
      c('get', 'foo/', '--prefix', '-w', 'json'),
      c('get', 'fop', '--from-key'),
      c('get', '', '--from-key', '--keys-only'),
      c('get', '', '--prefix', '-w', 'json'),
      c('get', 'foo', 'zoo'),
      c('get', 'missing'),
      c('get', 'missing', '-w', 'json'),
      c('get', 'foo', '--prefix', '-w', 'fields'),
      c('get', 'foo', '--consistency=s'),
      c('get', 'foo', '--prefix', '--hex'),
      c('get', 'foo', '--prefix', '--hex', '-w', 'json'),
    ],
  },
  {
    name: 'get: --rev history, after delete and recreate, beyond current',
    commands: [
      c('put', 'a', '1'),
      c('put', 'a', '2'),
      c('del', 'a'),
      c('put', 'a', '3'),
      c('get', 'a', '--rev=1'),
      c('get', 'a', '--rev=2'),
      c('get', 'a', '--rev=3'),
      c('get', 'a', '--rev=4'),
      c('get', 'a', '--rev=5', '-w', 'json'),
      c('get', 'a', '--rev=3', '-w', 'json'),
      c('get', 'a', '--rev=6'),
      c('get', 'a', '--rev=100', '-w', 'json'),
      c('get', 'a'),
    ],
  },
  {
    name: 'get: --sort-by x --order',
    commands: [
      ...sortSetup,
      ...SORT_TARGETS.flatMap((t) => ORDERS.map((o) => c('get', 's/', '--prefix', `--sort-by=${t}`, `--order=${o}`))),
      c('get', 's/', '--prefix', '--order=DESCEND'),
      c('get', 's/', '--prefix', '--sort-by=MODIFY'),
      c('get', 's/', '--prefix', '--sort-by=VALUE', '--order=DESCEND', '--limit=2', '-w', 'json'),
    ],
  },
  {
    name: 'get: --limit, --keys-only, --print-value-only, --count-only',
    commands: [
      c('put', 'k1', 'v1'),
      c('put', 'k2', 'v2'),
      c('put', 'k3', 'v3'),
      c('put', 'k4', ''),
      c('get', 'k', '--prefix', '--limit=2'),
      c('get', 'k', '--prefix', '--limit=2', '-w', 'json'),
      c('get', 'k', '--prefix', '--keys-only'),
      c('get', 'k', '--prefix', '--keys-only', '-w', 'json'),
      c('get', 'k', '--prefix', '--print-value-only'),
      c('get', 'k1', '--print-value-only'),
      c('get', 'k', '--prefix', '--keys-only', '--limit=1', '--sort-by=KEY', '--order=DESCEND'),
      // etcdctl 3.4 has no --count-only (it came with 3.5); the client rejects it either way.
      c('get', 'k', '--prefix', '--count-only'),
      c('get', 'k', '--prefix', '--limit=1', '-w', 'fields'),
    ],
  },
  {
    name: 'del: single, --prev-kv, --prefix, --from-key, range, missing',
    commands: [
      c('put', 'a', '1'),
      c('put', 'b', '2'),
      c('put', 'p/1', '3'),
      c('put', 'p/2', '4'),
      c('put', 'q', '5'),
      c('put', 'r', '6'),
      c('del', 'a'),
      c('del', 'a'),
      c('del', 'b', '--prev-kv'),
      c('del', 'p/', '--prefix', '--prev-kv', '-w', 'json'),
      c('del', 'missing', '--prev-kv'),
      c('del', 'q', 'r'),
      c('del', 'q', '--from-key', '--prev-kv'),
      c('get', '', '--from-key'),
      c('del', ''),
    ],
  },
  {
    name: 'txn -i: compares true, success branch',
    commands: [
      c('put', 'key1', '1'),
      c('put', 'key2', 'x'),
      withStdin('mod("key1") > "0"\nvalue("key2") = "x"\n\nput key1 "overwrote-key1"\nget key2\nget key1\n\nput key1 "created-key1"\ndel key2\n\n', 'txn', '-i'),
      c('get', 'key', '--prefix', '-w', 'json'),
    ],
  },
  {
    name: 'txn -i: compares false, failure branch',
    commands: [
      c('put', 'key1', '1'),
      c('put', 'key2', 'x'),
      withStdin('version("key1") = "5"\ncreate("key2") > "0"\n\nput key1 "then"\n\nput key1 "else"\ndel key2 --prev-kv\nget key --prefix\n\n', 'txn', '-i'),
      c('get', 'key', '--prefix'),
    ],
  },
  {
    name: 'txn: stdin without -i, -w json, version and value compares',
    commands: [
      c('put', 'a', '1'),
      withStdin('version("a") = "1"\nvalue("a") != "2"\n\nput b "2"\nget a\n\nget b\n\n', 'txn', '-w', 'json'),
      withStdin('value("missing") = ""\n\nput c "then"\n\nput c "else"\n\n', 'txn'),
      withStdin('version("c") = "1"\n\nget c\nput c "again"\n\n\n', 'txn', '-w', 'fields'),
      withStdin('create("a") = "2"\nmod("a") < "3"\n\ndel a --prev-kv\nget --prefix ""\n\n\n', 'txn', '-w', 'json'),
      c('get', '', '--prefix'),
    ],
  },
  {
    name: 'txn: errors (duplicate key, compare on empty key)',
    commands: [
      withStdin('\nput a "1"\nput a "2"\n\n\n', 'txn'),
      withStdin('\nput a "1"\ndel a\n\n\n', 'txn'),
      withStdin('version("") = "0"\n\nput a "1"\n\n\n', 'txn'),
      c('get', 'a'),
    ],
  },
  {
    name: 'compaction: then reads below, at and above it',
    commands: [
      c('put', 'a', '1'),
      c('put', 'a', '2'),
      c('put', 'a', '3'),
      c('compaction', '3'),
      c('get', 'a', '--rev=2'),
      c('get', 'a', '--rev=3'),
      c('get', 'a', '--rev=4'),
      c('compaction', '3'),
      c('compaction', '2'),
      c('compaction', '100'),
      c('compaction', '--physical', '4'),
      c('get', 'a', '--rev=3', '-w', 'json'),
      c('put', 'a', '5'),
      c('get', 'a', '-w', 'json'),
    ],
  },
  {
    name: 'errors: future revision, empty keys, unknown lease',
    commands: [
      c('get', 'a', '--rev=2'),
      c('put', 'a', '1'),
      c('get', 'a', '--rev=3', '-w', 'json'),
      c('del', ''),
      c('get', ''),
      c('put', 'b', '1', '--lease=ff'),
      c('get', 'a'),
    ],
  },
];
