// What the field test checks, in order, on four Pis (a bootstrap and three peers) and a stranger with another secret.
// Each scenario throws when the mesh does not behave as the README says; the runner reports and times them.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Pi } from './pi.ts';

export interface Field {
  boot: Pi;
  peers: [Pi, Pi, Pi];
  stranger: Pi;
  /** Where documents and request bodies are written (outside the checkout). */
  work: string;
  partitionSeconds: number;
  /** The lab's partition controls. */
  partition(sideA: Pi[], sideB: Pi[]): Promise<void>;
  heal(): Promise<void>;
  setLink(pi: Pi, up: boolean): Promise<void>;
  /** Named durations for the report (and the benchmark). */
  timings: Record<string, number>;
  say(line: string): void;
  /** Filled by the join scenario: the bootstrap node's address as its start printed it. */
  bootstrapAddress?: string;
}

export interface Scenario {
  name: string;
  run(f: Field): Promise<void>;
}

function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(what);
}

/** Polls until `probe` returns a truthy value; fails with `what` (and the last value seen) after `ms`. */
async function until<T>(what: string, probe: () => Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const all = (f: Field): Pi[] => [f.boot, ...f.peers];
/** Whether one line of the Pi's log holds every one of `parts`. */
const logged = (pi: Pi, ...parts: string[]): boolean => pi.log().split('\n').some((line) => parts.every((p) => line.includes(p)));
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

interface DocRow { id: string; updatedAt: number; title: string }
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
  await until('every Pi to hold the same operations and documents', async () => {
    const vv = await Promise.all(pis.map(versions));
    if (new Set(vv).size !== 1) return false;
    const docs = await Promise.all(pis.map(async (p) => JSON.stringify([...(await documents(p)).values()].map((d) => [d.id, d.updatedAt]).sort())));
    return new Set(docs).size === 1;
  }, ms);
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
      await until(`${pi.name} to list the four handbook documents`, async () => (await pi.ok(['kb', 'ls', '-c', 'handbook'])).split('\n').filter((l) => l.startsWith('handbook:')).length === 4);
    }
    f.timings.cliAddSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await f.boot.ok(['kb', 'rm', 'handbook:docs/laptops.md']);
    for (const pi of f.peers) await until(`${pi.name} to drop the removed document`, async () => !(await documents(pi)).has('handbook:docs/laptops.md'));
    f.timings.cliRemoveSeconds = (performance.now() - started) / 1000;
    check(f.timings.cliAddSeconds < 10 && f.timings.cliRemoveSeconds < 10, `CLI changes took ${f.timings.cliAddSeconds.toFixed(1)} s / ${f.timings.cliRemoveSeconds.toFixed(1)} s to reach every Pi`);
  },
};

const httpLarge: Scenario = {
  name: 'a 10 MB document added over HTTP on one Pi replicates intact to the others',
  async run(f) {
    const section = (i: number) => `## Procedure ${i}\n\nClose valve ${i % 17} before the pump in bay ${i % 23} is serviced; log the pressure. `.repeat(3) + '\n\n';
    const parts: string[] = [];
    for (let i = 0, size = 0; size < 10_000_000; i++) { const s = section(i); parts.push(s); size += s.length; }
    const text = parts.join('');
    const body = join(f.work, 'manual.json');
    writeFileSync(body, JSON.stringify({ id: 'plant:manual', collection: 'plant', title: 'Plant manual', format: 'markdown', text }));
    const started = performance.now();
    const added = await f.peers[0].http('POST', '/v1/kb/documents', { bodyFile: body });
    check(added.status === 201, `POST /v1/kb/documents answered ${added.status}: ${JSON.stringify(added.json)}`);
    for (const pi of [f.boot, f.peers[1], f.peers[2]]) {
      await until(`${pi.name} to hold the 10 MB document`, async () => (await pi.http('GET', '/v1/kb/documents/plant:manual', { digest: 'text' })).digest === sha(text), 60_000);
    }
    f.timings.largeDocumentSeconds = (performance.now() - started) / 1000;
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
    await until('side B to converge within itself', async () => (await documents(p2)).has('handbook:docs/shared.md')
      && !(await documents(p2)).has('handbook:docs/old.md'));
    check(!(await documents(p2)).has('handbook:side-a/north.md'), 'side B saw side A\'s document through the partition');
    const left = f.partitionSeconds * 1000 - (performance.now() - cutAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await f.heal();
    f.timings.partitionConvergenceSeconds = await converged(all(f), 120_000);
    f.say(`  partition of ${f.partitionSeconds} s healed; converged in ${f.timings.partitionConvergenceSeconds.toFixed(1)} s`);
    for (const pi of all(f)) {
      const docs = await documents(pi);
      check(docs.has('handbook:side-a/north.md') && docs.has('handbook:south') && !docs.has('handbook:docs/old.md'), `${pi.name}: ${[...docs.keys()].join(', ')}`);
      const shared = await pi.http('GET', '/v1/kb/documents/handbook:docs/shared.md');
      check(/side B, last/.test(JSON.stringify(shared.json)), `${pi.name} kept another version of the shared notes`);
    }
  },
};

const bootstrapKilled: Scenario = {
  name: 'with the bootstrap Pi killed the rest keep replicating; it comes back with the same id and catches up',
  async run(f) {
    const [p1, p2, p3] = f.peers;
    const before = /peer id: +(\w+)/.exec(await f.boot.ok(['mesh', 'status']))![1];
    await f.boot.stop('SIGKILL');
    markdown(join(f.work, 'while-down'), { 'visitors.md': '# Visitors\n\nVisitors sign in at the front desk.\n' });
    await p2.ok(['kb', 'add', 'while-down', '-c', 'handbook'], f.work);
    for (const pi of [p1, p3]) await until(`${pi.name} to receive the document with the bootstrap Pi down`, async () => (await documents(pi)).has('handbook:while-down/visitors.md'));
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
    await until('the stranger to report the failed handshake', async () => logged(s, '"level":40', '"mesh:bootstrap-dial-failed"', '"foreign-network"', 'mesh.key'), 20_000);
    check((await s.ok(['peers'])).trim() === 'no mesh peers', 'the stranger lists peers');
    check((await documents(s)).size === 0, 'the stranger received documents');
    check(!(await f.boot.ok(['peers'])).includes('pi-stranger'), 'the bootstrap Pi lists the stranger');
    check(logged(f.boot, '"level":40', '"mesh:foreign-peer"', s.host.address), 'the bootstrap Pi did not report the stranger at warn');
    await s.stop();
  },
};

const isolated: Scenario = {
  name: 'a Pi cut off from the network answers from its replicated knowledge base',
  async run(f) {
    const pi = f.peers[2];
    const key = /(fr-[\w-]+)/.exec(await pi.ok(['keys', 'create', '--name', 'field-test']))![1];
    await f.setLink(pi, false);
    try {
      writeFileSync(join(f.work, 'question.json'), JSON.stringify({ model: 'default', messages: [{ role: 'user', content: 'How many days of paid leave do employees get?' }] }));
      const r = await pi.http('POST', '/v1/chat/completions', { bodyFile: join(f.work, 'question.json'), key });
      const content = (r.json as { choices?: { message: { content: string } }[] }).choices?.[0]?.message.content ?? '';
      check(r.status === 200 && /From the knowledge base/.test(content) && /30 days of paid leave/.test(content), `answer ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
    } finally {
      await f.setLink(pi, true);
    }
  },
};

const gracefulStop: Scenario = {
  name: 'SIGTERM stops every Pi gracefully and the process ends promptly',
  async run(f) {
    const stops = await Promise.all(all(f).map(async (pi) => ({ pi, ...(await pi.stop('SIGTERM')) })));
    for (const { pi, code, ms } of stops) check(code === 0 && ms < 5_000, `${pi.name}: exit ${code} after ${Math.round(ms)} ms`);
    f.timings.slowestExitMs = Math.max(...stops.map((s) => s.ms));
    f.say(`  processes ended ${stops.map((s) => `${s.pi.name} ${Math.round(s.ms)} ms`).join(', ')} after SIGTERM`);
  },
};

/**
 * In order. Forwarding scenarios (a Pi whose local model is down answers through a peer, JSON and SSE) belong after
 * the join: they need a fake model inside a peer's namespace on the port its pi-peer.yaml target uses.
 */
export const SCENARIOS: Scenario[] = [join1, cliReplication, httpLarge, partition, bootstrapKilled, stranger, isolated, gracefulStop];
