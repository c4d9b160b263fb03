// Runs one real coding agent (Claude Code or Codex CLI) against a Flow Router node and a scripted fake upstream, all
// inside the caller's network namespace (agents-e2e.test.ts starts this under `unshare -n`: loopback only, so the
// agent cannot reach the internet). The fake asks the agent to read a file with its own tool, then answers with what
// the tool returned; the result is printed as one JSON line.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { startFakeAnthropic, textReply, type FakeRequest } from '../fakes/anthropic.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { startTestNode, tempDir } from '../helpers.ts';

type Agent = 'claude' | 'codex';
const [agent, target, binary] = process.argv.slice(2) as [Agent, 'native' | 'translated', string];
const SECRET = 'periwinkle-7431';
const work = tempDir('flowrouter-agent-');
const note = join(work.path, 'project', 'note.txt');
mkdirSync(join(work.path, 'project'), { recursive: true });
mkdirSync(join(work.path, 'home'), { recursive: true });
writeFileSync(note, `The word is ${SECRET}.\n`);

/** Text of the tool's result in a request, once the agent has run the tool. */
function toolResultIn(body: any): string | undefined {
  const texts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const m of body.messages ?? []) {
    if (m.role === 'tool') walk(m.content);
    if (m.role === 'user' && Array.isArray(m.content)) for (const b of m.content) if (b.type === 'tool_result') walk(b.content);
  }
  for (const i of Array.isArray(body.input) ? body.input : []) if (i.type === 'function_call_output') walk(i.output);
  const found = texts.join('\n');
  return found.includes(SECRET) ? found : undefined;
}

const answer = (result: string) => `Done. The tool said: ${result.slice(0, 200)}`;
const toolCall = agent === 'claude' ? { name: 'Read', input: { file_path: note } } : { name: 'exec_command', input: { cmd: `cat ${note}` } };
const seen: { path: string; model: string; toolResult: boolean }[] = [];

/** A Chat Completions stream of one tool call, or of the final text. */
function chatStream(res: ServerResponse, model: string, body: any): boolean {
  const result = toolResultIn(body);
  const base = { id: 'chatcmpl-agent', object: 'chat.completion.chunk', created: 1, model };
  const send = (delta: object, finish: string | null = null) =>
    res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  send({ role: 'assistant', content: '' });
  if (result) send({ content: answer(result) }, 'stop');
  else {
    send({ tool_calls: [{ index: 0, id: 'call_agent_1', type: 'function', function: { name: toolCall.name, arguments: JSON.stringify(toolCall.input) } }] });
    send({}, 'tool_calls');
  }
  res.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 } })}\n\n`);
  res.end('data: [DONE]\n\n');
  return true;
}

const anthropic = await startFakeAnthropic((req: FakeRequest) => {
  const result = toolResultIn(req.body);
  seen.push({ path: req.path, model: req.body.model, toolResult: !!result });

  if (result) return textReply(answer(result));
  // With thinking on (Claude Code turns it on), Anthropic wants the signed thinking back on the tool turn.
  return {
    message: {
      content: [
        { type: 'thinking', thinking: 'I will read the file.' },
        { type: 'tool_use', id: 'toolu_agent_1', name: toolCall.name, input: toolCall.input },
      ],
    },
  };
});
const openai = await startFakeOpenAI((req, res) => {
  if (!req.url.endsWith('/chat/completions')) return false;
  seen.push({ path: req.url, model: req.body.model, toolResult: !!toolResultIn(req.body) });
  return chatStream(res, req.body.model, req.body);
});
openai.responsesReply = (body) => {
  const result = toolResultIn(body);
  seen.push({ path: '/v1/responses', model: body.model, toolResult: !!result });
  if (result) return { output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: answer(result), annotations: [] }] }] };
  return { output: [{ type: 'function_call', call_id: 'call_agent_1', name: toolCall.name, arguments: JSON.stringify(toolCall.input) }] };
};
const gw = await startTestNode(`
chains:
  native:
    - { model: claude-sonnet-4-5, provider: anthropic, key: sk-ant-agent-0000, url: "${anthropic.url}", name: anthropic-native }
  translated:
    - { model: vendor-model, provider: local, url: "${openai.url}", name: chat-translated }
  responses-native:
    - { model: gpt-5, provider: openai, key: sk-agent-000000000, url: "${openai.url}", api: responses, name: responses-native }
`);

/** Runs the agent in its project dir with its own home, no telemetry and no update checks, for at most 90 s. */
function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const home = join(work.path, 'home');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  let args: string[];
  if (agent === 'claude') {
    Object.assign(env, {
      ANTHROPIC_BASE_URL: gw.url,
      ANTHROPIC_API_KEY: 'placeholder-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_NON_ESSENTIAL_MODEL_CALLS: '1',
    });
    args = [
      '-p',
      `Read the file ${note} and tell me the word in it.`,
      '--model',
      target,
      '--output-format',
      'json',
      '--max-turns',
      '3',
      '--allowedTools',
      'Read',
    ];
  } else {
    const codexHome = join(home, '.codex');
    mkdirSync(codexHome, { recursive: true });
    writeFileSync(
      join(codexHome, 'config.toml'),
      [
        `model = "${target === 'native' ? 'responses-native' : 'translated'}"`,
        'model_provider = "flowrouter"',
        'check_for_update_on_startup = false',
        '[analytics]',
        'enabled = false',
        '[model_providers.flowrouter]',
        'name = "Flow Router"',
        `base_url = "${gw.baseURL}"`,
        'wire_api = "responses"',
        'env_key = "FLOWROUTER_KEY"',
        '',
      ].join('\n'),
    );
    Object.assign(env, { CODEX_HOME: codexHome, FLOWROUTER_KEY: 'placeholder-key' });
    args = ['exec', '--skip-git-repo-check', '--sandbox', 'read-only', `Run cat ${note} and tell me the word in it.`];
  }
  return new Promise((resolve) => {
    const child = spawn(binary, args, { cwd: join(work.path, 'project'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

try {
  const r = await run();
  process.stdout.write(`${JSON.stringify({ ...r, stdout: r.stdout.slice(-4000), stderr: r.stderr.slice(-4000), seen, secret: SECRET })}\n`);
} finally {
  await gw.stop();
  await Promise.all([anthropic.close(), openai.close()]);
  work.remove();
}
