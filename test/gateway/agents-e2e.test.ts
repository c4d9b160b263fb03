// Real coding agents through the gateway: Claude Code (Messages API) and Codex CLI (Responses API), non-interactive,
// each against a Flow Router node with a scripted fake upstream, passed through and translated. Each runs in a network
// namespace of its own holding only loopback (so it can never reach the internet), with telemetry and update checks
// off, bounded in time. The fake makes the agent run its own tool on a file and answers with what the tool returned,
// so a pass means the whole tool loop crossed the gateway both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const DRIVER = join(import.meta.dirname, 'agent-driver.ts');

/**
 * Where scripts/test installs the agents (pinned versions, ~660 MB, outside the checkout so `scripts/setup` stays
 * small for people who only run the gateway). Claude Code's native binary is its platform package's.
 */
const AGENTS = process.env.FLOWROUTER_AGENTS_DIR ?? join(homedir(), '.cache', 'flowrouter-agents');
const BINARIES = {
  claude: join(AGENTS, `node_modules/@anthropic-ai/claude-code-${process.platform}-${process.arch}/claude`),
  codex: join(AGENTS, 'node_modules/.bin/codex'),
};

/** Why agents cannot run here, or null when they can (a private network namespace needs root and util-linux). */
function cannotRun(agent: keyof typeof BINARIES): string | null {
  if (!existsSync(BINARIES[agent])) return `${BINARIES[agent]} is not installed (scripts/test installs it into ${AGENTS})`;
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error || probe.status !== 0)
    return `no private network namespace for the agent (unshare -n: ${probe.error?.message ?? probe.stderr.trim()}); it is never run with network access`;
  return null;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seen: { path: string; model: string; toolResult: boolean }[];
  secret: string;
}

function runAgent(agent: keyof typeof BINARIES, target: 'native' | 'translated'): Promise<Run> {
  const script = `ip link set lo up && exec "${process.execPath}" --disable-warning=ExperimentalWarning "${DRIVER}" ${agent} ${target} "${BINARIES[agent]}"`;
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as Run);
      } catch {
        reject(new Error(`driver exited ${code} without a result: ${err.slice(-2000)}`));
      }
    });
  });
}

/** The agent finished, its final answer carries the file's word, and the upstream saw the tool's result on the second call. */
function assertToolLoop(r: Run, path: string, model: string): void {
  assert.equal(r.code, 0, `agent exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(r.stdout.includes(r.secret), `the answer carries what the tool read: ${r.stdout.slice(0, 1000)}`);
  assert.deepEqual(
    r.seen.map((s) => [s.path, s.model, s.toolResult]),
    [
      [path, model, false],
      [path, model, true],
    ],
  );
}

for (const agent of ['claude', 'codex'] as const) {
  const reason = cannotRun(agent);
  if (reason) process.stdout.write(`# ${agent} end-to-end skipped: ${reason}\n`);
  const label = agent === 'claude' ? 'Claude Code (Messages API)' : 'Codex CLI (Responses API)';

  test(`${label} runs a tool loop through the gateway, passed through to its own vendor's API`, { skip: reason ?? false, timeout: 180_000 }, async () => {
    const r = await runAgent(agent, 'native');
    if (agent === 'claude') assertToolLoop(r, '/v1/messages', 'claude-sonnet-4-5');
    else assertToolLoop(r, '/v1/responses', 'gpt-5');
  });

  test(`${label} runs a tool loop through the gateway, translated to an OpenAI-compatible Chat Completions server`, {
    skip: reason ?? false,
    timeout: 180_000,
  }, async () => {
    assertToolLoop(await runAgent(agent, 'translated'), '/v1/chat/completions', 'vendor-model');
  });
}
