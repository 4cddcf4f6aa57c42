import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { etcdserverpb } from '@etcd-ts/api';
import { encodeProposal } from '../src/etcd/proposal.js';

test('a proposal decodes as the InternalRaftRequest the generic encoder makes', () => {
  const put = { key: Buffer.from('k'), value: Buffer.from('v'.repeat(300)), lease: 7n, prevKv: true };
  const id = 0xfedcba9876543210n;
  const fast = etcdserverpb.InternalRaftRequest.decode(encodeProposal(id, 'put', etcdserverpb.PutRequest.encode(put)));
  const generic = etcdserverpb.InternalRaftRequest.decode(etcdserverpb.InternalRaftRequest.encode({ put, header: { ID: id } }));
  assert.equal(fast, generic);
  assert.is(fast.header?.ID, id);
  assert.is(fast.put?.lease, 7n);
});

test('every proposal kind lands in its own field', () => {
  const txn = etcdserverpb.TxnRequest.encode({ success: [{ requestPut: { key: Buffer.from('a') } }] });
  const r = etcdserverpb.InternalRaftRequest.decode(encodeProposal(1n, 'txn', txn));
  assert.is(r.txn?.success[0]?.requestPut?.key.toString(), 'a');
  const g = etcdserverpb.InternalRaftRequest.decode(encodeProposal(2n, 'leaseGrant', etcdserverpb.LeaseGrantRequest.encode({ ID: 5n, TTL: 10 })));
  assert.is(g.leaseGrant?.TTL, 10);
  const v2 = etcdserverpb.InternalRaftRequest.decode(encodeProposal(3n, 'v2', etcdserverpb.Request.encode({ Method: 'PUT', Path: '/0/members/1/attributes' })));
  assert.is(v2.v2?.Path, '/0/members/1/attributes');
});

test.run();
