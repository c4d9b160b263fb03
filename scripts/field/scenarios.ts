// What the field test checks, in order, on four Pis (a bootstrap and three peers) and a stranger with another secret.
// Each scenario throws when the mesh does not behave as the README says; the runner reports and times them.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Pi } from './pi.ts';
import { all, check, logged, until, type Scenario } from './field.ts';
import { FORWARDING, ask, fromOwnKnowledge, fromPeerModel } from './forwarding.ts';

export type { Field, Scenario } from './field.ts';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

interface DocRow {
  id: string;
  updatedAt: number;
  title: string;
}
async function documents(pi: Pi): Promise<Map<string, DocRow>> {
  const r = await pi.http('GET', '/v1/kb/documents?limit=1000');
  check(r.status === 200, `${pi.name}: GET /v1/kb/documents answered ${r.status}`);
  return new Map((r.json as { data: DocRow[] }).data.map((d) => [d.id, d]));
}

async function versions(pi: Pi): Promise<string> {
  const r = await pi.http('GET', '/v1/mesh/status');
  check(r.status === 200, `${pi.name}: GET /v1/mesh/status answered ${r.status}`);
  return JSON.stringify((r.json as { replication: { versions: Record<string, number> } }).replication.versions);
}

/** Waits until every Pi holds the same ops (version vectors) and the same documents; returns the seconds it took. */
async function converged(pis: Pi[], ms: number): Promise<number> {
  const started = performance.now();
  await until(
    'every Pi to hold the same operations and documents',
    async () => {
      const vv = await Promise.all(pis.map(versions));
      if (new Set(vv).size !== 1) return false;
      const docs = await Promise.all(pis.map(async (p) => JSON.stringify([...(await documents(p)).values()].map((d) => [d.id, d.updatedAt]).sort())));
      return new Set(docs).size === 1;
    },
    ms,
  );
  return (performance.now() - started) / 1000;
}

function markdown(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

const join1: Scenario = {
  name: 'the walkthrough: mesh init, copy the key, peers join through --bootstrap (mDNS cannot help)',
  async run(f) {
    const init = await f.boot.ok(['mesh', 'init']);
    const printed = new RegExp(`(/ip4/${f.boot.host.address.replaceAll('.', '\\.')}/tcp/2403/p2p/\\w+)`).exec(init);
    check(printed, `mesh init did not print this Pi's address with the real mesh port:\n${init}`);
    const boot = await f.boot.start();
    check(boot.address === printed[1], `mesh init printed ${printed[1]}, the node listens on ${boot.address}`);
    f.bootstrapAddress = boot.address;
    for (const pi of f.peers) {
      copyFileSync(join(f.boot.dataDir, 'mesh.key'), join(pi.dataDir, 'mesh.key'));
      chmodSync(join(pi.dataDir, 'mesh.key'), 0o600);
    }
    const started = performance.now();
    await Promise.all(f.peers.map((pi) => pi.start(['--bootstrap', boot.address])));
    for (const pi of f.peers) {
      await until(`${pi.name} to list the bootstrap Pi as a healthy peer, by its host name`, async () => {
        const out = await pi.ok(['peers']);
        return /^pi-boot \(…\w{8}\) +\/ip4\/\S+ +.* healthy/m.test(out);
      });
    }
    await until('the bootstrap Pi to see all three peers', async () => /peers: +3 known, 3 connected/.test(await f.boot.ok(['mesh', 'status'])));
    f.timings.joinSeconds = (performance.now() - started) / 1000;
    const doctor = await f.peers[0].cli(['doctor']);
    check(/✓ mesh port 2403 +0\.0\.0\.0:2403 in use by the running Flow Router node/.test(doctor.stdout), `doctor on a joined Pi:\n${doctor.stdout}`);
    check(!doctor.stdout.includes(f.boot.host.address), `doctor checked the bootstrap Pi's address:\n${doctor.stdout}`);
  },
};

const cliReplication: Scenario = {
  name: 'flowrouter kb add/rm on one Pi reach every other Pi within seconds',
  async run(f) {
    const docs = join(f.work, 'docs');
    markdown(docs, {
      'leave.md': '# Paid leave\n\nEvery employee gets 30 days of paid leave per year. Unused days carry over until March.\n',
      'laptops.md': '# Laptops\n\nEngineers get a new laptop every three years.\n',
      'shared.md': '# Shared notes\n\nFirst version of the shared notes.\n',
      'old.md': '# Old policy\n\nThis policy was retired.\n',
    });
    let started = performance.now();
    await f.boot.ok(['kb', 'add', 'docs', '-c', 'handbook'], f.work);
    for (const pi of f.peers) {
      await until(
        `${pi.name} to list the four handbook documents`,
        async () => (await pi.ok(['kb', 'ls', '-c', 'handbook'])).split('\n').filter((l) => l.startsWith('handbook:')).length === 4,
      );
    }
    f.timings.cliAddSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await f.boot.ok(['kb', 'rm', 'handbook:docs/laptops.md']);
    for (const pi of f.peers) await until(`${pi.name} to drop the removed document`, async () => !(await documents(pi)).has('handbook:docs/laptops.md'));
    f.timings.cliRemoveSeconds = (performance.now() - started) / 1000;
    check(
      f.timings.cliAddSeconds < 10 && f.timings.cliRemoveSeconds < 10,
      `CLI changes took ${f.timings.cliAddSeconds.toFixed(1)} s / ${f.timings.cliRemoveSeconds.toFixed(1)} s to reach every Pi`,
    );
  },
};

/** The longest the node's event loop was held since the last call (prom-client's histogram resets on every scrape). */
async function eventLoopMaxMs(pi: Pi): Promise<number> {
  const r = await pi.http('GET', '/metrics');
  const m = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(r.text ?? '');
  check(m, `${pi.name}: GET /metrics has no nodejs_eventloop_lag_max_seconds`);
  return Number(m[1]) * 1000;
}

const httpLarge: Scenario = {
  name: 'a 10 MB document added over HTTP on one Pi replicates intact to the others, no event loop held for long',
  async run(f) {
    const section = (i: number) =>
      `## Procedure ${i}\n\nClose valve ${i % 17} before the pump in bay ${i % 23} is serviced; log the pressure. `.repeat(3) + '\n\n';
    const parts: string[] = [];
    for (let i = 0, size = 0; size < 10_000_000; i++) {
      const s = section(i);
      parts.push(s);
      size += s.length;
    }
    parts.push('## Keys\n\nThe brass key of the pump house hangs in the shift office.\n');
    const text = parts.join('');
    const body = join(f.work, 'manual.json');
    writeFileSync(body, JSON.stringify({ id: 'plant:manual', collection: 'plant', title: 'Plant manual', format: 'markdown', text }));
    // Scraping resets each node's event-loop delay histogram: what the next scrape reports is this scenario's.
    await Promise.all(all(f).map(eventLoopMaxMs));
    const started = performance.now();
    const added = await f.peers[0].http('POST', '/v1/kb/documents', { bodyFile: body });
    check(added.status === 201, `POST /v1/kb/documents answered ${added.status}: ${JSON.stringify(added.json)}`);
    // Polled by its listing (its hash); reading the whole 10 MB while it arrives would load the Pis more than the apply.
    const hash = sha(text);
    for (const pi of [f.boot, f.peers[1], f.peers[2]]) {
      await until(
        `${pi.name} to hold the 10 MB document`,
        async () => ((await pi.http('GET', '/v1/kb/documents?collection=plant')).json as { data: { hash: string }[] }).data[0]?.hash === hash,
        60_000,
      );
    }
    f.timings.largeDocumentSeconds = (performance.now() - started) / 1000;
    // Its chunks are indexed in the background, in slices; searchable everywhere once whole.
    for (const pi of all(f)) {
      await until(
        `${pi.name} to find the 10 MB document`,
        async () => ((await pi.http('GET', '/v1/kb/search?q=brass+key+pump+house&collection=plant')).json as { data: unknown[] }).data.length > 0,
        60_000,
      );
    }
    f.timings.largeDocumentSearchableSeconds = (performance.now() - started) / 1000;
    const held = await Promise.all(all(f).map(eventLoopMaxMs));
    f.timings.largeDocumentEventLoopMaxMs = Math.max(...held);
    f.say(
      `  on every Pi in ${f.timings.largeDocumentSeconds.toFixed(1)} s, searchable in ${f.timings.largeDocumentSearchableSeconds.toFixed(1)} s; event loop held at most ${all(
        f,
      )
        .map((pi, i) => `${pi.name} ${Math.round(held[i])} ms`)
        .join(', ')}`,
    );
    // Before, one task held each receiver 0.8 s (quiet) to 1.4 s (loaded) and the writer 1.6 s and more. The lab's four
    // Pis (their workers included) share two cores with whatever else runs, so what is measured here is largely waiting
    // for a core: the bound tells whole-document work from sliced work (100–300 ms quiet, up to about 1 s on a loaded
    // machine). test/knowledge/large-ingest.test.ts and test/mesh/replication-large.test.ts measure it in one process.
    check(f.timings.largeDocumentEventLoopMaxMs < 1_500, `an event loop was held ${Math.round(f.timings.largeDocumentEventLoopMaxMs)} ms`);
    // Intact: the text every Pi serves is the text added.
    for (const pi of [f.boot, f.peers[1], f.peers[2]]) {
      check((await pi.http('GET', '/v1/kb/documents/plant:manual', { digest: 'text' })).digest === hash, `${pi.name} serves another text`);
    }
    for (const pi of all(f)) check(!/sync-failed/.test(pi.log()), `${pi.name} logged a failed sync`);
  },
};

const partition: Scenario = {
  name: 'a partition with edits on both sides heals to the same documents everywhere',
  async run(f) {
    const [p1, p2, p3] = f.peers;
    await f.partition([f.boot, p1], [p2, p3]);
    const cutAt = performance.now();
    // Side A: a new document by the CLI, and an edit of the shared notes.
    markdown(join(f.work, 'side-a'), { 'north.md': '# North wing\n\nThe north wing closes at 18:00.\n' });
    await p1.ok(['kb', 'add', 'side-a', '-c', 'handbook'], f.work);
    markdown(join(f.work, 'docs'), { 'shared.md': '# Shared notes\n\nEdited on side A during the partition.\n' });
    await f.boot.ok(['kb', 'add', 'docs/shared.md', '-c', 'handbook'], f.work);
    // Side B: a document over HTTP, a removal, and a later edit of the shared notes (the last writer).
    writeFileSync(join(f.work, 'south.json'), JSON.stringify({ id: 'handbook:south', collection: 'handbook', text: 'The south wing closes at 20:00.' }));
    check((await p2.http('POST', '/v1/kb/documents', { bodyFile: join(f.work, 'south.json') })).status === 201, 'POST on side B failed');
    await p3.ok(['kb', 'rm', 'handbook:docs/old.md']);
    await new Promise((r) => setTimeout(r, 50));
    markdown(join(f.work, 'docs'), { 'shared.md': '# Shared notes\n\nEdited on side B, last, during the partition.\n' });
    await p3.ok(['kb', 'add', 'docs/shared.md', '-c', 'handbook'], f.work);
    // The partition is real: side B converges within itself but has not seen side A.
    await until(
      'side B to converge within itself',
      async () => (await documents(p2)).has('handbook:docs/shared.md') && !(await documents(p2)).has('handbook:docs/old.md'),
    );
    check(!(await documents(p2)).has('handbook:side-a/north.md'), "side B saw side A's document through the partition");
    const left = f.partitionSeconds * 1000 - (performance.now() - cutAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await f.heal();
    f.timings.partitionConvergenceSeconds = await converged(all(f), 120_000);
    f.say(`  partition of ${f.partitionSeconds} s healed; converged in ${f.timings.partitionConvergenceSeconds.toFixed(1)} s`);
    for (const pi of all(f)) {
      const docs = await documents(pi);
      check(
        docs.has('handbook:side-a/north.md') && docs.has('handbook:south') && !docs.has('handbook:docs/old.md'),
        `${pi.name}: ${[...docs.keys()].join(', ')}`,
      );
      const shared = await pi.http('GET', '/v1/kb/documents/handbook:docs/shared.md');
      check(/side B, last/.test(JSON.stringify(shared.json)), `${pi.name} kept another version of the shared notes`);
    }
  },
};

const bootstrapKilled: Scenario = {
  name: 'with the bootstrap Pi killed the rest keep forwarding and replicating; it comes back with the same id and catches up',
  async run(f) {
    const [p1, p2, p3] = f.peers;
    const before = /peer id: +(\w+)/.exec(await f.boot.ok(['mesh', 'status']))![1];
    await p2.startModel();
    await f.boot.stop('SIGKILL');
    // pi-1 (no model) still reaches pi-2's model, though it joined through the bootstrap Pi.
    fromPeerModel(
      await until(
        "pi-1 to be answered by pi-2's model with the bootstrap Pi down",
        async () => {
          const a = await ask(f, p1);
          return a.target === `peer:${p2.peerId}` ? a : null;
        },
        20_000,
      ),
      p1,
      [p2],
    );
    fromPeerModel(await ask(f, p1, true), p1, [p2]);
    markdown(join(f.work, 'while-down'), { 'visitors.md': '# Visitors\n\nVisitors sign in at the front desk.\n' });
    await p2.ok(['kb', 'add', 'while-down', '-c', 'handbook'], f.work);
    for (const pi of [p1, p3])
      await until(`${pi.name} to receive the document with the bootstrap Pi down`, async () => (await documents(pi)).has('handbook:while-down/visitors.md'));
    const back = await f.boot.start();
    check(back.peerId === before, `the bootstrap Pi came back as ${back.peerId}, not ${before}`);
    const started = performance.now();
    await until('the bootstrap Pi to catch up', async () => (await documents(f.boot)).has('handbook:while-down/visitors.md'));
    await until('the peers to reach the bootstrap Pi again', async () => /peers: +3 known, 3 connected/.test(await f.boot.ok(['mesh', 'status'])), 45_000);
    f.timings.bootstrapRejoinSeconds = (performance.now() - started) / 1000;
  },
};

const stranger: Scenario = {
  name: 'a stranger with another mesh secret sees nothing, and both sides say why',
  async run(f) {
    const s = f.stranger;
    await s.ok(['mesh', 'init']);
    await s.start(['--bootstrap', f.bootstrapAddress!]);
    // At warn, with what to check, on both sides.
    await until(
      'the stranger to report the failed handshake',
      async () => logged(s, '"level":40', '"mesh:bootstrap-dial-failed"', '"foreign-network"', 'mesh.key'),
      20_000,
    );
    check((await s.ok(['peers'])).trim() === 'no mesh peers', 'the stranger lists peers');
    check((await documents(s)).size === 0, 'the stranger received documents');
    check(!(await f.boot.ok(['peers'])).includes('pi-stranger'), 'the bootstrap Pi lists the stranger');
    check(logged(f.boot, '"level":40', '"mesh:foreign-peer"', s.host.address), 'the bootstrap Pi did not report the stranger at warn');
    await s.stop();
  },
};

const isolated: Scenario = {
  name: 'a Pi cut off from the network answers from its replicated knowledge base within seconds, and forwards again once back',
  async run(f) {
    const [, p2, p3] = f.peers;
    // pi-3 has no model and sees pi-2's: connected, it would forward.
    await until("pi-3 to be answered by pi-2's model", async () => (await ask(f, p3)).target === `peer:${p2.peerId}`, 20_000);
    await f.setLink(p3, false);
    try {
      const first = await ask(f, p3);
      fromOwnKnowledge(first, p3);
      const again = await ask(f, p3);
      fromOwnKnowledge(again, p3);
      f.timings.isolatedAnswerMs = first.ms;
      f.timings.isolatedAgainMs = again.ms;
      f.say(`  cut off: answered from the knowledge base in ${first.ms} ms, then ${again.ms} ms`);
      // Its peers' connections still look open: it must not wait for them (the forward deadline is 120 s).
      check(first.ms < 3_000 && again.ms < 1_000, `the cut-off Pi took ${first.ms} ms, then ${again.ms} ms to answer`);
    } finally {
      await f.setLink(p3, true);
    }
    await until("pi-3 to be answered by pi-2's model again", async () => (await ask(f, p3)).target === `peer:${p2.peerId}`, 30_000);
  },
};

const gracefulStop: Scenario = {
  name: 'SIGTERM stops every Pi gracefully and the process ends promptly',
  async run(f) {
    const stops = await Promise.all(all(f).map(async (pi) => ({ pi, ...(await pi.stop('SIGTERM')) })));
    await Promise.all(all(f).map((pi) => pi.stopModel()));
    for (const { pi, code, ms } of stops) check(code === 0 && ms < 5_000, `${pi.name}: exit ${code} after ${Math.round(ms)} ms`);
    f.timings.slowestExitMs = Math.max(...stops.map((s) => s.ms));
    f.say(`  processes ended ${stops.map((s) => `${s.pi.name} ${Math.round(s.ms)} ms`).join(', ')} after SIGTERM`);
  },
};

/** In order: the forwarding scenarios need the handbook documents of the CLI scenario. */
export const SCENARIOS: Scenario[] = [join1, cliReplication, ...FORWARDING, httpLarge, partition, bootstrapKilled, stranger, isolated, gracefulStop];
