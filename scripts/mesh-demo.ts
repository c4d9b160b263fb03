// Three nodes on loopback with fake upstreams: A and C have no working upstream, B has one. Shows A and C answering
// through B over the mesh (JSON and streaming) and exits 0 only if every step worked.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startFakeUpstream } from './bench/lib.ts';

const work = mkdtempSync(join(tmpdir(), 'flowrouter-mesh-demo-'));
const children: ChildProcess[] = [];
const say = (line: string) => process.stdout.write(`${line}\n`);

interface DemoNode {
  name: string;
  url: string;
  peerId: string;
  multiaddr: string;
}

async function startNode(name: string, chains: string, bootstrap: string[]): Promise<DemoNode> {
  const dataDir = join(work, name);
  const config = join(work, `${name}.yaml`);
  writeFileSync(
    config,
    `mesh:\n  name: ${name}\n  listen: [/ip4/127.0.0.1/tcp/0]\n  mdns: false\n  secret_file: ${join(work, 'mesh.key')}\n  bootstrap: [${bootstrap.join(', ')}]\nchains:\n${chains}`,
  );
  const proc = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'start', '--config', config, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+?)\/v1/.exec(out)?.[1];
      const peerId = /mesh peer id (\S+)/.exec(out)?.[1];
      const addr = /mesh listening on (\/ip4\/127\.0\.0\.1\/\S+)/.exec(out)?.[1];
      if (url && peerId && addr) {
        clearTimeout(timer);
        resolve({ name, url, peerId, multiaddr: addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}` });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}`));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const upstream = await startFakeUpstream();
let ok = false;
try {
  const init = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'mesh', 'init', '--out', join(work, 'mesh.key'), '--data-dir', join(work, 'init')],
    { cwd: ROOT, stdio: 'ignore' },
  );
  await new Promise((r) => init.once('exit', r));
  const dead = `  default:\n    - model: demo-model\n      provider: local\n      url: http://127.0.0.1:9/v1\n`;
  const a = await startNode('node-a', dead, []);
  say(`A  ${a.url}  ${a.multiaddr}`);
  const b = await startNode('node-b', `  default:\n    - model: demo-model\n      provider: local\n      url: ${upstream.url}\n`, [a.multiaddr]);
  say(`B  ${b.url}  (the only node with a working upstream)`);
  const c = await startNode('node-c', dead, [a.multiaddr]);
  say(`C  ${c.url}  (joined through A only)`);

  for (const n of [a, c]) {
    await until(`${n.name} sees B's capacity`, async () => {
      const peers = (await (await fetch(`${n.url}/v1/mesh/peers`)).json()) as { data: { peerId: string; capacity: { models: string[] } | null }[] };
      return peers.data.some((p) => p.peerId === b.peerId && p.capacity?.models.includes('demo-model'));
    });
  }
  say('capacity discovered: A and C both see B serving demo-model');

  const body = (stream: boolean) => JSON.stringify({ model: 'demo-model', stream, messages: [{ role: 'user', content: 'hello mesh' }] });
  for (const n of [a, c]) {
    const res = await fetch(`${n.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(false) });
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    const target = res.headers.get('x-flowrouter-target');
    if (res.status !== 200 || target !== `peer:${b.peerId}`) throw new Error(`${n.name}: ${res.status} via ${target}`);
    say(`${n.name} answered through ${target}: "${json.choices[0].message.content}"`);
    const streamed = await fetch(`${n.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(true) });
    const text = await streamed.text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    if (streamed.status !== 200 || !text.trimEnd().endsWith('data: [DONE]') || events.length < 3)
      throw new Error(`${n.name}: stream failed: ${text.slice(0, 200)}`);
    say(`${n.name} streamed ${events.length} events through the mesh, ending with [DONE]`);
  }
  ok = true;
  say('mesh demo: OK');
} catch (err) {
  process.stderr.write(`mesh demo FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode !== null ? null : new Promise((r) => child.once('exit', r)))));
  await upstream.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
