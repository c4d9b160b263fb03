// Start-up with the mesh: the libp2p stack loads in pieces, so the event loop (and /ready) keeps turning while it loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

test('loading the mesh lets a 1 ms timer run between pieces instead of blocking the event loop throughout', () => {
  // A fresh process: in this one the libp2p modules may already be loaded, which would prove nothing.
  const script = `
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const { loadMeshLink } = await import(${JSON.stringify(join(ROOT, 'src/node/mesh-load.ts'))});
    const MeshLink = await loadMeshLink();
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ ticks, isClass: typeof MeshLink === 'function' && MeshLink.name === 'MeshLink' }));`;
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const { ticks, isClass } = JSON.parse(r.stdout) as { ticks: number; isClass: boolean };
  assert.equal(isClass, true);
  // One import of the whole graph lets the timer run 0 times; one package per turn lets it run once per package.
  assert.ok(ticks >= 10, `the timer ran only ${ticks} times while the mesh loaded`);
});
