// A finished stream assembled into an answer, and a stored answer replayed as a stream, keep reasoning and signatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatChunk, ChatResponse } from '../../src/core/openai.ts';
import { replayAsChunks } from '../../src/cache/index.ts';
import { assembleChunks } from '../../src/pipeline/index.ts';

const base = { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: 'stop' | 'tool_calls' | null = null): ChatChunk => ({
  ...base,
  choices: [{ index: 0, delta, finish_reason: finish }],
});

const answer: ChatResponse = {
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  system_fingerprint: null,
  choices: [
    {
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: 'Checking.',
        reasoning_content: 'think hard',
        thinking_blocks: [
          { type: 'thinking', thinking: 'think hard', signature: 'sig' },
          { type: 'redacted_thinking', data: 'r' },
        ],
        extra_content: { google: { thought_signature: 'T' } },
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' }, extra_content: { google: { thought_signature: 'G' } } }],
      },
    },
  ],
};

test('assembleChunks: reasoning pieces join, thinking blocks collect in order, signatures stay on message and call', () => {
  const res = assembleChunks([
    chunk({ role: 'assistant', content: '' }),
    chunk({ reasoning_content: 'think ' }),
    chunk({ reasoning_content: 'hard' }),
    chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'think hard', signature: 'sig' }] }),
    chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: 'r' }] }),
    chunk({ content: 'Checking.', extra_content: { google: { thought_signature: 'T' } } }),
    chunk({
      tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'f', arguments: '{"a"' }, extra_content: { google: { thought_signature: 'G' } } }],
    }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
    chunk({}, 'tool_calls'),
  ]);
  assert.deepEqual(res, answer);
});

test('replayAsChunks: a stored answer replays into chunks that assemble back to the same answer', async () => {
  const chunks: ChatChunk[] = [];
  for await (const c of replayAsChunks(answer, false)) chunks.push(c);
  assert.deepEqual(assembleChunks(chunks), answer);
});
