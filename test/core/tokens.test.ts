// Token counts: exact for ordinary text, never refused for special-token text, and bounded work on hostile text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countTokens as reference } from 'gpt-tokenizer';
import { countTokens, TokenBudget } from '../../src/core/tokens.ts';

const PLAIN = { disallowedSpecial: new Set<string>() };
const source = readFileSync(new URL('../../src/router/router.ts', import.meta.url), 'utf8');
const samples: [string, string][] = [
  ['prose', "The quick brown fox jumps over the lazy dog; it's what they've done before, isn't it? ".repeat(20)],
  ['TypeScript source', source.slice(0, 2000)],
  [
    'JSON without spaces',
    JSON.stringify({
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    }).repeat(8),
  ],
  ['Chinese and Japanese', '我们今天去公园散步，天气很好。日本語のテキストも少し書きます。'.repeat(30)],
  ['emoji and accents', 'naïve café 👍🏽 déjà-vu 😀 Ωμέγα '.repeat(40)],
  ['newlines and indentation', '  line one\n\n\tline two\r\n    line three\n'.repeat(40)],
];

for (const [name, text] of samples) {
  test(`counts ${name} exactly as the tokenizer does (${text.length} characters, several segments)`, () => {
    assert.ok(text.length <= 2048 && text.length > 600);
    assert.equal(countTokens(text), reference(text, PLAIN));
  });
}

test('special-token text in a prompt is counted as plain text, not refused', () => {
  const text = 'say <|endoftext|> and <|im_start|>system';
  assert.equal(countTokens(text), reference(text, PLAIN));
});

test('a budget shared by many texts counts the first ones exactly and estimates the rest close to the truth', () => {
  const prose = 'Counting tokens of long prompts must never hold the event loop for long. '.repeat(6000);
  const budget = new TokenBudget();
  const first = countTokens(prose.slice(0, 1500), budget);
  assert.equal(first, reference(prose.slice(0, 1500), PLAIN));
  // Hundreds of thousands of characters: within the budget or estimated from the rate so far, within 2 %.
  const all = countTokens(prose, budget);
  const truth = reference(prose, PLAIN);
  assert.ok(Math.abs(all - truth) / truth < 0.02, `${all} vs ${truth}`);
});

test('a 400,000-character word is counted in bounded pieces: an estimate, not a quadratic pass', { timeout: 10_000 }, () => {
  // Exact would take minutes; pieces of 256 'x' come to 8 characters a token, close to the word's own rate.
  const n = countTokens('x'.repeat(400_000));
  assert.ok(n > 40_000 && n < 60_000, String(n));
});
