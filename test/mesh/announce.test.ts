// Which of its addresses a node tells the mesh about: never link-local or docker0 ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiaddr } from '@multiformats/multiaddr';
import { announceable } from '../../src/mesh/host.ts';

test('link-local and docker0 addresses are not announced; LAN and loopback ones are', () => {
  assert.equal(announceable(multiaddr('/ip4/192.168.1.20/tcp/4002')), true);
  assert.equal(announceable(multiaddr('/ip4/127.0.0.1/tcp/4002')), true);
  assert.equal(announceable(multiaddr('/ip6/fd00::1/tcp/4002')), true);
  assert.equal(announceable(multiaddr('/ip4/169.254.10.2/tcp/4002')), false);
  assert.equal(announceable(multiaddr('/ip6/fe80::1/tcp/4002')), false);
  assert.equal(announceable(multiaddr('/ip4/172.17.0.1/tcp/4002')), false);
});
