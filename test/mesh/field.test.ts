// Runs scripts/field-test: four Pis and a stranger as separate hosts in network namespaces, set up by the README's
// walkthrough. Needs root and network namespaces; skipped with the reason otherwise. The partition lasts 10 s here
// (60 s in the benchmark, scripts/bench/mesh-replication.ts) to keep the suite short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { labAvailable } from '../../scripts/field/lab.ts';
import { SKIP_EXIT } from '../../scripts/field/main.ts';

const ROOT = join(import.meta.dirname, '../..');

test('the mesh works as the README says on separate network hosts (scripts/field-test)', { timeout: 300_000 }, async (t) => {
  const available = await labAvailable();
  if (!available.ok) {
    t.skip(available.reason);
    return;
  }
  // scripts/field-test without its setup step: npm test has run it, and a rebuild of dist/ here would race
  // test/cli/build.test.ts.
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'scripts/field/main.ts'), '--partition-seconds=10'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer) => {
    output += d.toString();
    for (const line of d.toString().split('\n').filter(Boolean)) t.diagnostic(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.notEqual(code, SKIP_EXIT, output);
  assert.equal(code, 0, output);
  assert.match(output, /✓ a Pi whose model is down is answered by a healthy peer's model/);
  assert.match(output, /✓ a partition with edits on both sides heals/);
  assert.match(output, /✓ a Pi cut off from the network answers from its replicated knowledge base within seconds/);
});
