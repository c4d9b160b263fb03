import { startFakeAnthropic, textReply } from '/work/wt/inbound-endpoints/test/fakes/anthropic.ts';
import { startFakeOpenAI } from '/work/wt/inbound-endpoints/test/fakes/openai.ts';
import { startTestNode } from '/work/wt/inbound-endpoints/test/helpers.ts';
const an = await startFakeAnthropic((req) => { console.error('ANTHROPIC', req.path, JSON.stringify({ ...req.body, system: undefined, messages: req.body.messages.length, tools: req.body.tools?.map((t: any) => t.type ?? t.name) }), req.headers['anthropic-beta']); return textReply('PONG from fake'); });
const oa = await startFakeOpenAI((req) => { console.error('OPENAI', req.url, JSON.stringify({ ...req.body, instructions: undefined, input: req.body.input?.map?.((i: any) => i.type ?? i.role), tools: req.body.tools?.filter((t: any) => t.name === 'exec_command' || t.function?.name === 'exec_command'), messages: req.body.messages?.length })); return false; });
const gw = await startTestNode(`chains:\n  default:\n    - { model: claude-sonnet-4-5, provider: anthropic, key: sk-ant-x-0000, url: "${an.url}" }\n  local:\n    - { model: m, provider: local, url: "${oa.url}" }\n  native:\n    - { model: gpt-5, provider: openai, key: sk-x-00000000, url: "${oa.url}", api: responses }\n`, {}, { logger: { level: 'info', stream: { write: (l: string) => process.stderr.write('GW ' + l) } } as any });
console.log(gw.url);
process.on('SIGTERM', async () => { await gw.stop(); await an.close(); await oa.close(); process.exit(0); });
