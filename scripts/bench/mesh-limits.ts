// Benchmark: client keys' limits across a mesh of real node processes on loopback (3 and 5 members, defaults as shipped).
// Under load from every member at once: requests admitted against a key's rpm, and USD spent against its budget, each
// next to the stated bound (the limit plus the larger of overshoot × limit and one request per other member); then how
// long a revocation on one member takes to be refused by every other (p50/p95), and a key's creation to be accepted
// everywhere.
// For comparison, the same rpm load on 3 members that count alone (mesh.shared_limits.enabled: false, as before).
// Run: node_modules/.bin/node --disable-warning=ExperimentalWarning scripts/bench/mesh-limits.ts [--seconds=10] [--clients=8] [--rpm=120] [--rpm-high=2400] [--revocations=20]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMeshSecret } from '../../src/mesh/index.ts';
import { fmt, percentile, startFakeUpstream, startMeshNode, type MeshNodeProc } from './lib.ts';

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const SECONDS = arg('seconds', 10);
const CLIENTS = arg('clients', 8);
const RPM = arg('rpm', 120);
/** A limit large enough that each member's slice of the overshoot lets several requests through unacknowledged. */
const RPM_HIGH = arg('rpm-high', 2400);
const REVOCATIONS = arg('revocations', 20);
/**
 * Budgets are spent on `bench-priced` ($1,000 per million tokens, so the fake upstream's 5 + 2 tokens cost $0.007 and a
 * hold at max_tokens 10 about $0.018). A tight budget (50 answers: each member's slice of the overshoot is smaller than
 * one hold, so holds go one at a time) and a roomy one (1,000 answers: several holds go unacknowledged).
 */
const ANSWER_USD = (7 * 1000) / 1e6;
const HOLD_USD = ((8 + 10) * 1000) / 1e6;
const BUDGETS = [50 * ANSWER_USD, 1000 * ANSWER_USD];
const ADMIN = 'bench-admin-key-0123456789abcdef';
/** mesh.shared_limits.overshoot as shipped. */
const OVERSHOOT = 0.05;

const yaml = (secret: string, bootstrap: string[], upstream: string, shared = true) => `auth:
  mode: required
  admin_key: ${ADMIN}
mesh:
  listen: [/ip4/127.0.0.1/tcp/0]
  mdns: false
  secret_file: ${secret}
  bootstrap: [${bootstrap.join(', ')}]
  shared_limits: { enabled: ${shared} }
chains:
  default:
    - model: gpt-4o-mini
      provider: openai
      key: sk-bench-0000000000000000
      url: ${upstream}
  priced:
    - model: bench-priced
      provider: openai
      key: sk-bench-0000000000000000
      url: ${upstream}
prices:
  bench-priced: { input: 1000, output: 1000 }
`;

async function http(url: string, path: string, init: { method?: string; key?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${init.key ?? ADMIN}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

const chat = (url: string, key: string, maxTokens?: number, model = 'gpt-4o-mini') =>
  http(url, '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'hi' }], ...(maxTokens ? { max_tokens: maxTokens } : {}) } });

async function until(what: string, check: () => Promise<boolean>, ms: number, every = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function meshWide(nodes: MeshNodeProc[]): Promise<boolean> {
  const all = await Promise.all(nodes.map((n) => http(n.url, '/v1/mesh/status')));
  return all.every((s) => s.json?.limits?.members?.filter((m: { inContact: boolean }) => m.inContact).length === nodes.length - 1);
}

async function newKey(nodes: MeshNodeProc[], body: Record<string, unknown>): Promise<{ id: string; key: string; everywhereMs: number }> {
  const created = await http(nodes[0].url, '/admin/keys', { body });
  const started = performance.now();
  const { id, key } = created.json as { id: string; key: string };
  await until(
    'the key on every member',
    async () => (await Promise.all(nodes.slice(1).map((n) => http(n.url, '/admin/keys')))).every((r) => r.json.data.some((k: { id: string }) => k.id === id)),
    10_000,
    5,
  );
  return { id, key, everywhereMs: performance.now() - started };
}

/** Every member hammered by CLIENTS loops for SECONDS (inside one minute: the rpm window never slides). */
async function hammer(
  nodes: MeshNodeProc[],
  key: string,
  maxTokens?: number,
  model?: string,
): Promise<{ offered: number; admitted: number; admittedMs: number[]; other: string }> {
  const until = Date.now() + SECONDS * 1000;
  const admittedMs: number[] = [];
  let offered = 0;
  const others = new Map<string, number>();
  await Promise.all(
    nodes.flatMap((n) =>
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < until) {
          const started = performance.now();
          const r = await chat(n.url, key, maxTokens, model);
          offered++;
          if (r.status === 200) admittedMs.push(performance.now() - started);
          else if (r.status !== 429) {
            const what = `${r.status} ${r.json?.error?.code ?? ''}`.trim();
            others.set(what, (others.get(what) ?? 0) + 1);
          }
        }
      }),
    ),
  );
  const other = [...others].map(([what, n]) => `${n} × ${what}`).join(', ');
  return { offered, admitted: admittedMs.length, admittedMs: admittedMs.sort((a, b) => a - b), other };
}

async function revocations(nodes: MeshNodeProc[]): Promise<{ refused: number[]; accepted: number[] }> {
  const refused: number[] = [];
  const accepted: number[] = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const { id, key, everywhereMs } = await newKey(nodes, { name: `revoke-${i}` });
    accepted.push(everywhereMs);
    await http(nodes[0].url, `/admin/keys/${id}`, { method: 'DELETE' });
    const started = performance.now();
    await Promise.all(nodes.slice(1).map((n) => until('the revocation', async () => (await chat(n.url, key)).status === 401, 10_000, 5)));
    refused.push(performance.now() - started);
  }
  return { refused: refused.sort((a, b) => a - b), accepted: accepted.sort((a, b) => a - b) };
}

async function run(count: number, upstream: string, shared = true): Promise<string[]> {
  const work = mkdtempSync(join(tmpdir(), 'flowrouter-bench-limits-'));
  const secret = join(work, 'mesh.key');
  await writeMeshSecret(secret);
  const nodes: MeshNodeProc[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const dir = join(work, `node${i}`);
      mkdirSync(dir);
      nodes.push(
        await startMeshNode(
          `node-${i}`,
          dir,
          yaml(
            secret,
            nodes.map((n) => n.multiaddr),
            upstream,
            shared,
          ),
        ),
      );
    }
    const rows: string[] = [];
    const rpmRow = async (rpm: number, label: string) => {
      const rate = await hammer(nodes, (await newKey(nodes, { name: `rpm-${rpm}`, rpm })).key);
      const bound = shared ? `≤ ${rpm + Math.max(count - 1, OVERSHOOT * rpm)}` : `${count} × ${rpm} (each alone)`;
      rows.push(
        `| ${count}${label} | rpm ${rpm} | ${rate.offered} offered by ${count * CLIENTS} clients | ${rate.admitted} | ${bound} | ${rate.admitted - rpm} | ${fmt(percentile(rate.admittedMs, 50), 1)} / ${fmt(percentile(rate.admittedMs, 99), 1)} ms${rate.other ? `; other answers: ${rate.other}` : ''} |`,
      );
    };
    if (!shared) {
      await until(
        'every member connected',
        async () => (await Promise.all(nodes.map((n) => http(n.url, '/v1/mesh/status')))).every((s) => s.json?.peers?.connected >= count - 1),
        30_000,
        100,
      );
      await rpmRow(RPM, ', counting alone');
      return rows;
    }
    await until('every member in contact for the limits', () => meshWide(nodes), 30_000, 100);
    await rpmRow(RPM, '');
    await rpmRow(RPM_HIGH, '');
    for (const budgetUsd of BUDGETS) {
      const budget = await newKey(nodes, { name: `budget-${budgetUsd}`, budget_usd: budgetUsd, budget_period: 'day' });
      const spend = await hammer(nodes, budget.key, 10, 'bench-priced');
      const listed = await Promise.all(nodes.map((n) => http(n.url, '/admin/keys')));
      const spent = listed.reduce((sum, r) => sum + r.json.data.find((k: { id: string }) => k.id === budget.id).spent_usd, 0);
      rows.push(
        `| ${count} | budget $${budgetUsd.toFixed(2)} | ${spend.offered} offered | $${spent.toFixed(3)} in ${spend.admitted} answers | ≤ $${(budgetUsd + Math.max((count - 1) * HOLD_USD, OVERSHOOT * budgetUsd)).toFixed(3)} | $${(spent - budgetUsd).toFixed(3)} | ${fmt(percentile(spend.admittedMs, 50), 1)} / ${fmt(percentile(spend.admittedMs, 99), 1)} ms${spend.other ? `; other answers: ${spend.other}` : ''} |`,
      );
    }
    const r = await revocations(nodes);
    rows.push(
      `| ${count} | revocation refused by every other member | ${REVOCATIONS} revocations | p50 ${fmt(percentile(r.refused, 50), 0)} ms, p95 ${fmt(percentile(r.refused, 95), 0)} ms, max ${fmt(r.refused.at(-1)!, 0)} ms | ≤ 2,000 ms | | creation accepted everywhere: p50 ${fmt(percentile(r.accepted, 50), 0)} ms, p95 ${fmt(percentile(r.accepted, 95), 0)} ms |`,
    );
    return rows;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

const upstream = await startFakeUpstream();
try {
  const rows = [...(await run(3, upstream.url, false)), ...(await run(3, upstream.url)), ...(await run(5, upstream.url))];
  process.stdout.write(
    `mesh-limits: ${CLIENTS} clients per member for ${SECONDS} s; shared limits as shipped (overshoot ${OVERSHOOT * 100} %, heartbeat 1 s, contact timeout 3 s)\n\n`,
  );
  process.stdout.write('| members | limit | load | admitted / spent | bound | over the limit | admitted latency p50 / p99 |\n|---|---|---|---|---|---|---|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  await upstream.stop();
}
