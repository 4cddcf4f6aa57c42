import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdUrlError, parseEtcdUrl, parseEtcdUrls } from '../src/config/parse-etcd-urls.js';
import { parseGoBool } from '../src/config/parse-go-bool.js';
import { GoDurationError, parseGoDuration } from '../src/config/parse-go-duration.js';
import { GoIntError, parseGoInt, parseGoUint } from '../src/config/parse-go-int.js';
import { parseInitialCluster } from '../src/config/parse-initial-cluster.js';

function throwsWith(fn: () => unknown, type: new (...a: never[]) => Error, message: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, type);
    assert.is((e as Error).message, message);
    return;
  }
  assert.unreachable(`expected ${message}`);
}

test('Go unsigned integers in base 0', () => {
  const ok: [string, bigint][] = [
    ['0', 0n], ['10', 10n], ['0x1F', 31n], ['0X1f', 31n], ['0b11', 3n], ['0o17', 15n], ['017', 15n],
    ['1_000_000', 1000000n], ['0x_ff', 255n], ['18446744073709551615', 18446744073709551615n],
  ];
  for (const [s, v] of ok) assert.is(parseGoUint(s, 64), v, s);
  for (const s of ['', '-1', '+1', '1_', '_1', '1__0', '08', '0x', '0b2', '1e3', ' 1', '1.0']) {
    throwsWith(() => parseGoUint(s, 64), GoIntError, 'parse error');
  }
  throwsWith(() => parseGoUint('18446744073709551616', 64), GoIntError, 'value out of range');
  throwsWith(() => parseGoUint('4294967296', 32), GoIntError, 'value out of range');
});

test('Go signed integers in base 0', () => {
  assert.is(parseGoInt('-1', 64), -1n);
  assert.is(parseGoInt('+0x10', 64), 16n);
  assert.is(parseGoInt('-9223372036854775808', 64), -9223372036854775808n);
  throwsWith(() => parseGoInt('9223372036854775808', 64), GoIntError, 'value out of range');
  throwsWith(() => parseGoInt('--1', 64), GoIntError, 'parse error');
  throwsWith(() => parseGoInt('-', 64), GoIntError, 'parse error');
});

test('Go booleans', () => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.is(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.is(parseGoBool(s), false, s);
  for (const s of ['', 'yes', 'on', 'tRUE', '2']) assert.is(parseGoBool(s), undefined, s);
});

test('Go durations in milliseconds', () => {
  const ok: [string, number][] = [
    ['0', 0], ['0s', 0], ['5s', 5000], ['1m30s', 90000], ['1h30m', 5400000], ['2h', 7200000], ['100ms', 100],
    ['1.5s', 1500], ['.5s', 500], ['1.s', 1000], ['1000us', 1], ['1000µs', 1], ['1000μs', 1], ['1000000ns', 1],
    ['-1.5h', -5400000], ['+5m', 300000],
  ];
  for (const [s, ms] of ok) assert.is(parseGoDuration(s), ms, s);
  throwsWith(() => parseGoDuration(''), GoDurationError, 'time: invalid duration ""');
  throwsWith(() => parseGoDuration('abc'), GoDurationError, 'time: invalid duration "abc"');
  throwsWith(() => parseGoDuration('.s'), GoDurationError, 'time: invalid duration ".s"');
  throwsWith(() => parseGoDuration('-'), GoDurationError, 'time: invalid duration "-"');
  throwsWith(() => parseGoDuration('5'), GoDurationError, 'time: missing unit in duration "5"');
  throwsWith(() => parseGoDuration('1h5'), GoDurationError, 'time: missing unit in duration "1h5"');
  throwsWith(() => parseGoDuration('5d'), GoDurationError, 'time: unknown unit "d" in duration "5d"');
  throwsWith(() => parseGoDuration('3000000h'), GoDurationError, 'time: invalid duration "3000000h"');
});

test('URLs as etcd accepts them', () => {
  assert.equal(parseEtcdUrl(' http://127.0.0.1:2379 '), { href: 'http://127.0.0.1:2379', scheme: 'http', hostname: '127.0.0.1', port: 2379 });
  assert.equal(parseEtcdUrl('HTTPS://Etcd.Example:443'), { href: 'https://Etcd.Example:443', scheme: 'https', hostname: 'Etcd.Example', port: 443 });
  assert.equal(parseEtcdUrl('http://[fe80::1]:0'), { href: 'http://[fe80::1]:0', scheme: 'http', hostname: 'fe80::1', port: 0 });
  assert.equal(parseEtcdUrl('http://user@10.0.0.1:2380').href, 'http://10.0.0.1:2380');
  assert.equal(parseEtcdUrl('http://:2379').hostname, '');
  throwsWith(() => parseEtcdUrl('localhost:2379'), EtcdUrlError, 'URL scheme must be http, https, unix, or unixs: localhost:2379');
  throwsWith(() => parseEtcdUrl(''), EtcdUrlError, 'URL scheme must be http, https, unix, or unixs: ');
  throwsWith(() => parseEtcdUrl('http://::1:2379'), EtcdUrlError, 'URL address does not have the form "host:port": http://::1:2379');
  throwsWith(() => parseEtcdUrl('http://[::1]'), EtcdUrlError, 'URL address does not have the form "host:port": http://[::1]');
  throwsWith(() => parseEtcdUrl('http://h:2379/'), EtcdUrlError, 'URL must not contain a path: http://h:2379/');
  throwsWith(() => parseEtcdUrl('http://h:port'), EtcdUrlError, 'URL port must be a number between 0 and 65535: http://h:port');
  throwsWith(() => parseEtcdUrl('http://h:'), EtcdUrlError, 'URL port must be a number between 0 and 65535: http://h:');
  assert.equal(
    parseEtcdUrls('http://b:1, http://a:1,http://b:1').map((u) => u.href),
    ['http://a:1', 'http://b:1'],
  );
});

test('initial cluster strings', () => {
  const members = parseInitialCluster('infra1=http://10.0.1.11:2380,infra0=http://10.0.1.10:2380,infra0=http://10.0.1.9:2380');
  assert.equal(
    members.map((m) => [m.name, m.peerUrls.map((u) => u.href)]),
    [
      ['infra0', ['http://10.0.1.10:2380', 'http://10.0.1.9:2380']],
      ['infra1', ['http://10.0.1.11:2380']],
    ],
  );
  assert.equal(parseInitialCluster(''), []);
  throwsWith(() => parseInitialCluster('infra0'), EtcdUrlError, 'URL scheme must be http, https, unix, or unixs: ');
});

test.run();
