import { monitorEventLoopDelay } from 'node:perf_hooks';
const { startTestNode } = await import('./test/helpers.ts');
const parts: string[] = []; let size = 0;
for (let i = 0; size < 15_000_000; i++) { const s = `## Procedure ${i}\n\nClose valve ${i % 17} before the pump in bay ${i % 23} is serviced; log the pressure. `.repeat(3) + '\n\n'; parts.push(s); size += s.length; }
parts.push('## Last\n\nThe brass key is kept in the office.\n');
const text = parts.join('');
const n = await startTestNode('chains:\n  default:\n    - { provider: knowledge, name: offline }\n');
const store = n.node.knowledge!;
const h = monitorEventLoopDelay({ resolution: 5 }); if (process.argv[2] === 'mon') h.enable();
const t0 = performance.now();
const res = await fetch(`${n.baseURL}/kb/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'plant:manual', collection: 'plant', title: 'Plant manual', format: 'markdown', text }) });
console.log(res.status, Math.round(performance.now() - t0));
if (process.argv[3] === 'get') await (await fetch(`${n.baseURL}/kb/documents/plant:manual`)).json();
const times: number[] = [];
while (store.indexing()) {
  const s = performance.now(); const r = await fetch(`${n.baseURL}/kb/search?q=brass%20key`); await r.json(); times.push(performance.now() - s);
  await new Promise((r) => setTimeout(r, 20));
}
console.log(process.argv.slice(2).join(' '), 'indexed after', Math.round(performance.now() - t0), 'searches', times.length, 'max', Math.max(...times).toFixed(1), 'avg', (times.reduce((a, b) => a + b, 0) / times.length).toFixed(1));
await n.stop();
