// The field test's forwarding scenarios: with the shipped Pi configs (`pi-llama → mesh → offline`), a Pi whose model is
// down is answered by a peer's model (JSON and SSE), only answering models are offered, a forward is answered only by
// the serving Pi's model, and the asking Pi's knowledge base is the last resort. Models are fake servers (fake-model.ts)
// on the port each shipped config points at, inside the Pi's own namespace.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, until, type Field, type Scenario } from './field.ts';
import type { HttpAnswer, Pi } from './pi.ts';

export const QUESTION = 'How many days of paid leave do employees get?';

const keys = new Map<Pi, string>();

/**
 * A client key made on this Pi (the Pi configs require one for chat), created once with `flowrouter keys create`. Keys
 * replicate to every member and names are unique among the keys a node holds, so each Pi names its own.
 */
async function clientKey(pi: Pi): Promise<string> {
  let key = keys.get(pi);
  if (!key) {
    key = /(fr-[\w-]+)/.exec(await pi.ok(['keys', 'create', '--name', `field-test-${pi.name}`]))![1];
    keys.set(pi, key);
  }
  return key;
}

export interface Asked extends HttpAnswer {
  target: string;
  content: string;
}

/** Asks the Pi the handbook question for the `default` chain, as a client would; the answer's text, JSON or SSE. */
export async function ask(f: Field, pi: Pi, stream = false): Promise<Asked> {
  const body = join(f.work, `question${stream ? '-sse' : ''}.json`);
  writeFileSync(body, JSON.stringify({ model: 'default', stream, messages: [{ role: 'user', content: QUESTION }] }));
  const r = await pi.http('POST', '/v1/chat/completions', { bodyFile: body, key: await clientKey(pi) });
  let content = '';
  if (stream && r.text !== null) {
    check(r.text.endsWith('data: [DONE]\n\n'), `${pi.name}: the stream did not end with [DONE]: ${r.text.slice(-300)}`);
    for (const line of r.text.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] };
      content += chunk.choices[0]?.delta.content ?? '';
    }
  } else {
    content = (r.json as { choices?: { message: { content: string } }[] } | null)?.choices?.[0]?.message.content ?? '';
  }
  return { ...r, target: r.headers['x-flowrouter-target'] ?? '', content };
}

/** What `of` offers as `at` sees it (model and chain names), or null when `at` has no record of it. */
async function offered(at: Pi, of: Pi): Promise<string[] | null> {
  const r = await at.http('GET', '/v1/mesh/peers');
  const row = (r.json as { data: { peerId: string; capacity: { models: string[] } | null }[] }).data.find((p) => p.peerId === of.peerId);
  return row?.capacity?.models ?? null;
}

async function forwards(pi: Pi): Promise<{ in: number; inFailed: number; out: number; outFailed: number }> {
  return ((await pi.http('GET', '/v1/mesh/status')).json as { forwards: { in: number; inFailed: number; out: number; outFailed: number } }).forwards;
}

/** Checks that `pi`'s answer came from `from`'s model, through the mesh. */
export function fromPeerModel(a: Asked, pi: Pi, from: Pi[]): void {
  const by = from.find((p) => a.target === `peer:${p.peerId}`);
  check(
    a.status === 200 && by,
    `${pi.name}: answered ${a.status} by ${a.target || 'nothing'}, not a peer's model: ${JSON.stringify(a.json ?? a.text).slice(0, 400)}`,
  );
  check(a.content === `${by.name}'s model answers: ${QUESTION}`, `${pi.name}: the answer is not ${by.name}'s model's: ${a.content.slice(0, 300)}`);
}

/** Checks that `pi` answered from its own knowledge base, with the handbook's passage. */
export function fromOwnKnowledge(a: Asked, pi: Pi): void {
  check(
    a.status === 200 && a.target === 'offline',
    `${pi.name}: answered ${a.status} by ${a.target || 'nothing'}, not its knowledge base: ${JSON.stringify(a.json).slice(0, 400)}`,
  );
  check(
    /From the knowledge base/.test(a.content) && /30 days of paid leave/.test(a.content),
    `${pi.name}: the knowledge answer misses the handbook: ${a.content.slice(0, 300)}`,
  );
}

const forwardToHealthyPeer: Scenario = {
  name: "a Pi whose model is down is answered by a healthy peer's model, JSON and SSE; only answering models are offered",
  async run(f) {
    const [p1, p2, p3] = f.peers;
    // The bootstrap Pi and pi-2 have a model server; pi-1 and pi-3 have none.
    await Promise.all([f.boot.startModel(), p2.startModel()]);
    await until(
      'pi-1 to see pi-boot and pi-2 offer the default chain, and pi-3 offer nothing',
      async () => {
        const [boot, two, three] = await Promise.all([offered(p1, f.boot), offered(p1, p2), offered(p1, p3)]);
        return boot?.includes('default') && two?.includes('default') && three !== null && three.length === 0;
      },
      20_000,
    );
    check((await offered(p2, p1))?.length === 0, 'pi-2 sees pi-1, whose model is down, offer something');
    const json = await ask(f, p1);
    fromPeerModel(json, p1, [f.boot, p2]);
    const sse = await ask(f, p1, true);
    fromPeerModel(sse, p1, [f.boot, p2]);
    f.timings.forwardJsonMs = json.ms;
    f.timings.forwardSseMs = sse.ms;
    f.say(`  pi-1 answered by ${json.target.slice(-8)}'s model in ${json.ms} ms (JSON), ${sse.ms} ms (SSE)`);
    for (const pi of [p1, p3]) check((await forwards(pi)).in === 0, `${pi.name}, whose model is down, was sent forwards`);
    // What the README shows: only the Pis with a model offer one.
    const table = await p1.ok(['peers']);
    check(
      /^pi-2 .* default,llama3\.2:1b /m.test(table) && /^pi-3 .* healthy/m.test(table) && !/^pi-3 .*default/m.test(table),
      `flowrouter peers on pi-1:\n${table}`,
    );
    f.say(
      `  flowrouter peers on pi-1:\n${table
        .trimEnd()
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}`,
    );
  },
};

const knowledgeLastResort: Scenario = {
  name: "a forward is answered only by the serving Pi's model; the asking Pi's knowledge base is the last resort",
  async run(f) {
    const p1 = f.peers[0];
    const serving = [f.boot, f.peers[1]];
    // Models still loading: they pass their health probe (so stay offered) and fail every chat with 503.
    await Promise.all(serving.map((pi) => pi.startModel({ chatStatus: 503 })));
    const before = await Promise.all(serving.map(forwards));
    const loading = await ask(f, p1);
    fromOwnKnowledge(loading, p1);
    const after = await Promise.all(serving.map(forwards));
    // Asked, and each answered with its model's error: had one answered from its knowledge base, that would be the answer.
    check(
      serving.every((_, i) => after[i].inFailed - before[i].inFailed === after[i].in - before[i].in) && serving.some((_, i) => after[i].in > before[i].in),
      `the serving Pis did not fail their forwards: ${JSON.stringify({ before, after })}`,
    );

    // Every model down: no Pi offers the chain, so the knowledge answer comes without asking anyone.
    await Promise.all(serving.map((pi) => pi.stopModel()));
    await until(
      'pi-1 to see no peer offer the default chain',
      async () => {
        const offers = await Promise.all([f.boot, ...f.peers.slice(1)].map((pi) => offered(p1, pi)));
        return offers.every((o) => o !== null && !o.includes('default'));
      },
      20_000,
    );
    const out = (await forwards(p1)).out;
    const down = await ask(f, p1);
    fromOwnKnowledge(down, p1);
    check((await forwards(p1)).out === out, 'pi-1 forwarded to a Pi whose model is down');
    f.timings.knowledgeAnswerMs = down.ms;
    f.say(`  every model down: pi-1 answered from its knowledge base in ${down.ms} ms`);
  },
};

export const FORWARDING: Scenario[] = [forwardToHealthyPeer, knowledgeLastResort];
