// PeerLiveness with a scripted ping and clock: which peers a forward may try now, and how long finding out may take.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerLiveness } from '../../src/mesh/liveness.ts';

/** Peers whose ping answers at once, or never (until the signal aborts). */
function scripted(answering: Set<string>) {
  const pings: string[] = [];
  const ping = (peer: string, signal: AbortSignal): Promise<unknown> => {
    pings.push(peer);
    if (answering.has(peer)) return Promise.resolve(1);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
  return { ping, pings };
}

test('a peer heard from within the last seconds is tried without a check; an older contact is checked first', async () => {
  let now = 1_000_000;
  const s = scripted(new Set(['p1']));
  const l = new PeerLiveness({ ping: s.ping, connected: () => true, now: () => now, freshMs: 3_000, checkMs: 200 });
  l.contact('p1');
  assert.equal(await l.reachable('p1'), true);
  assert.deepEqual(s.pings, []);
  now += 3_001;
  assert.equal(await l.reachable('p1'), true);
  assert.deepEqual(s.pings, ['p1']);
  l.stop();
});

test('silent peers are checked in parallel: finding that none answers takes one bound, not one per peer', async () => {
  const s = scripted(new Set(['ok']));
  const l = new PeerLiveness({ ping: s.ping, connected: () => true, checkMs: 300 });
  const started = performance.now();
  const live = await l.filter(['dead1', 'ok', 'dead2', 'dead3']);
  const ms = performance.now() - started;
  assert.deepEqual(live, ['ok']);
  assert.ok(ms >= 290 && ms < 900, `took ${Math.round(ms)} ms`);
  l.stop();
});

test('a peer that failed a check is skipped at once afterwards, while a background check may bring it back', async () => {
  const answering = new Set<string>();
  const s = scripted(answering);
  const l = new PeerLiveness({ ping: s.ping, connected: () => true, checkMs: 100, holdMs: 60_000 });
  assert.equal(await l.reachable('p'), false);
  answering.add('p');
  const started = performance.now();
  assert.equal(await l.reachable('p'), false, 'a peer that failed its check is skipped');
  assert.ok(performance.now() - started < 50, 'a held peer is answered without waiting');
  // The skip above started a check in the background; it found the peer back.
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(await l.reachable('p'), true);
  assert.equal(s.pings.length, 2);
  l.stop();
});

test('one peer failing to answer casts doubt on recent contact with every other connected peer, and checks them all at once', async () => {
  let now = 1_000_000;
  const s = scripted(new Set(['alive']));
  const l = new PeerLiveness({ ping: s.ping, connected: (p) => p !== 'gone', now: () => now, freshMs: 3_000, checkMs: 100 });
  for (const p of ['alive', 'silent', 'gone']) l.contact(p);
  now += 10;
  l.miss('first');
  // Checks started for the connected peers only, in parallel, before anyone asked.
  assert.deepEqual(s.pings.sort(), ['alive', 'silent']);
  assert.equal(await l.reachable('alive'), true);
  assert.equal(await l.reachable('silent'), false);
  l.stop();
});

test('concurrent requests share one check per peer', async () => {
  const s = scripted(new Set(['p']));
  const l = new PeerLiveness({ ping: s.ping, connected: () => true });
  const results = await Promise.all([l.reachable('p'), l.reachable('p'), l.reachable('p')]);
  assert.deepEqual(results, [true, true, true]);
  assert.equal(s.pings.length, 1);
  l.stop();
});

test('a request that is aborted stops waiting for a check', async () => {
  const s = scripted(new Set());
  const l = new PeerLiveness({ ping: s.ping, connected: () => true, checkMs: 10_000 });
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 50);
  const started = performance.now();
  assert.equal(await l.reachable('p', ctl.signal), false);
  assert.ok(performance.now() - started < 1_000);
  l.stop();
});

test('while this node doubts its connectivity, whether anyone answers is decided without waiting for checks', async () => {
  const s = scripted(new Set());
  const l = new PeerLiveness({ ping: s.ping, connected: () => true, checkMs: 500 });
  // Nothing known yet: the peers are checked, and that takes the bound.
  let started = performance.now();
  assert.equal(await l.anyAnswers(['p1', 'p2']), false);
  assert.ok(performance.now() - started >= 450);
  // Both missed: deciding again does not wait for the background re-checks.
  started = performance.now();
  assert.equal(await l.anyAnswers(['p1', 'p2', 'p3']), false);
  assert.ok(performance.now() - started < 50, `took ${Math.round(performance.now() - started)} ms`);
  l.contact('p3');
  assert.equal(await l.anyAnswers(['p1', 'p2', 'p3']), true, 'a peer heard from since the miss counts');
  l.stop();
});
