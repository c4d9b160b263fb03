// What a member holding the mesh secret can make another member hold through the limits gossip: bounded however it
// writes its messages (new runs every message, thousands of key ids, seconds far ahead), while normal counts still merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMBER_BOUNDS, Peers } from '../../src/tenancy/shared/peers.ts';
import { parseLimitsMessage, type LimitsMessage } from '../../src/tenancy/shared/wire.ts';

const NOW = 1_800_000_000_000;
const NOW_S = NOW / 1000;
const self = { id: 'me', epoch: 1 };
const keyId = (i: number) => i.toString(16).padStart(16, '0');

function message(epoch: number, keys: number, firstKey: number, secs: number[]): LimitsMessage {
  const msg = parseLimitsMessage({
    v: 1,
    e: epoch,
    hears: [],
    keys: Array.from({ length: keys }, (_, i) => ({ k: keyId(firstKey + i), a: 1, h: 0, r: secs.map((s) => [s, 1, 10, 0]) })),
  });
  assert.ok(msg, 'the flood is made of well-formed messages');
  return msg;
}

function cellsHeld(peers: Peers, id: string): number {
  let n = 0;
  for (const pk of peers.all.get(id)!.keys.values()) for (const cells of pk.cells.values()) n += cells.size;
  return n;
}

test("a member's flood of runs, key ids and seconds is held within the member bounds, and pruned back to nothing", () => {
  // None of the flood's key ids is a key this node holds or counts.
  const peers = new Peers({ held: () => false, counted: () => false });
  const minute = Array.from({ length: 60 }, (_, i) => NOW_S - i);
  // 400 messages of 200 keys, each message a new run, with a minute of seconds and one second far ahead.
  for (let m = 0; m < 400; m++) peers.merge('hostile', message(1 + m, 200, m * 200, [...minute, NOW_S + 86_400]), NOW, self, 3000);
  const p = peers.all.get('hostile')!;
  assert.ok(p.keys.size <= MEMBER_BOUNDS.unknownKeys, `${p.keys.size} keys`);
  assert.ok(p.cellCount <= MEMBER_BOUNDS.cells, `${p.cellCount} cells`);
  assert.equal(p.cellCount, cellsHeld(peers, 'hostile'));
  for (const pk of p.keys.values()) {
    assert.ok(pk.cells.size <= MEMBER_BOUNDS.runsPerKey);
    for (const cells of pk.cells.values()) assert.ok(!cells.has(NOW_S + 86_400), 'a second a day ahead is not kept');
  }
  // One key in many runs keeps only the newest ones.
  for (let run = 1000; run < 1100; run++) peers.merge('restarts', message(run, 1, 0, [NOW_S]), NOW, self, 3000);
  assert.deepEqual([...peers.all.get('restarts')!.keys.get(keyId(0))!.cells.keys()], [1096, 1097, 1098, 1099]);

  // Acknowledgements of keys this node does not count are not kept.
  const acks = parseLimitsMessage({ v: 1, e: 1, hears: [], acks: Array.from({ length: 1000 }, (_, i) => [self.id, self.epoch, keyId(i), 1, 0]) });
  peers.merge('hostile', acks!, NOW, self, 3000);
  assert.equal(p.acks.size, 0);

  peers.prune(NOW + 61_000, 600_000, NOW_S + 1, new Set());
  assert.equal(p.keys.size, 0);
  assert.equal(p.unknownKeys, 0);
  assert.equal(p.cellCount, 0);
});

test('keys this node holds are counted for a member however many there are, and acknowledgements of its own keys kept', () => {
  const peers = new Peers({ held: () => true, counted: () => true });
  const many = MEMBER_BOUNDS.unknownKeys * 3;
  for (let m = 0; m < many / 200; m++) peers.merge('member', message(7, 200, m * 200, [NOW_S]), NOW, self, 3000);
  const p = peers.all.get('member')!;
  assert.equal(p.keys.size, many);
  assert.equal(p.unknownKeys, 0);
  const acks = parseLimitsMessage({ v: 1, e: 7, hears: [], acks: [[self.id, self.epoch, keyId(1), 3, 0]] });
  peers.merge('member', acks!, NOW, self, 3000);
  assert.deepEqual(p.acks.get(keyId(1)), { a: 3, h: 0 });
});

test("a normal member's counts still merge: its seconds of the last minute, by the maximum of each field", () => {
  const peers = new Peers({ held: () => true, counted: () => true });
  peers.merge('member', message(7, 1, 42, [NOW_S - 30, NOW_S]), NOW, self, 3000);
  peers.merge('member', message(7, 1, 42, [NOW_S]), NOW, self, 3000);
  const cells = peers.all.get('member')!.keys.get(keyId(42))!.cells.get(7)!;
  assert.deepEqual([...cells.keys()].sort(), [NOW_S - 30, NOW_S]);
  assert.deepEqual(cells.get(NOW_S), { r: 1, ti: 10, to: 0 });
});
