// Prompt normalization: prose whitespace collapses, while code blocks, indented lines and JSON stay byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizeRequest, normalizeText, savedTokens } from '../../src/cache/index.ts';
import { normalizeLines } from '../../src/cache/normalize.ts';
import { savedInLines } from '../../src/cache/saved-tokens.ts';
import { countTokens } from '../../src/core/tokens.ts';

const cases: [string, string, string][] = [
  ['runs of spaces collapse', 'a   b \t c', 'a b c'],
  ['trailing spaces go', 'line   \nnext  ', 'line\nnext'],
  ['runs of blank lines become one', 'a\n\n\n\n  \nb', 'a\n\nb'],
  ['leading and trailing blank lines go', '\n\n\nhello\n\n\n', 'hello'],
  [
    'a fenced block is untouched',
    'see:\n```js\nconst  x =  1;\n\n\n\nreturn   x;  \n```\nafter   this',
    'see:\n```js\nconst  x =  1;\n\n\n\nreturn   x;  \n```\nafter this',
  ],
  ['an unterminated fence protects the rest', 'x  y\n~~~\na   b\n\n\n', 'x y\n~~~\na   b\n\n\n'],
  ['indented lines keep everything', 'def f():\n    return   1  \n\n\n    pass', 'def f():\n    return   1  \n\n\n    pass'],
  ['tab-indented lines keep everything, and a blank line after them', 'a\n\tb   c\n', 'a\n\tb   c\n'],
  ['a JSON text is untouched', '{ "a":   1,\n\n\n  "b": "x   y" }', '{ "a":   1,\n\n\n  "b": "x   y" }'],
  ['a JSON block inside prose is untouched', 'data:\n{\n"k":   "v  w"\n}\nthen   go', 'data:\n{\n"k":   "v  w"\n}\nthen go'],
  ['quoted and inline-code spans keep their spaces', 'say "a   b" and `x   y`  now', 'say "a   b" and `x   y` now'],
  ['tidy text comes back as the same string', 'already tidy\n\nyes', 'already tidy\n\nyes'],
];

for (const [name, input, expected] of cases) {
  test(`normalizeText: ${name}`, () => assert.equal(normalizeText(input), expected));
}

test('tool call arguments and image parts are never touched; unchanged requests are returned as is', () => {
  const req = {
    model: 'm',
    messages: [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: 'look   here' },
          { type: 'image_url' as const, image_url: { url: 'data:x  y' } },
        ],
      },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [{ id: '1', type: 'function' as const, function: { name: 'f', arguments: '{"q":  "a   b"}' } }],
      },
      { role: 'tool' as const, tool_call_id: '1', content: '{"result":   "x  y"}' },
    ],
  };
  const { request, changes } = normalizeRequest(req);
  assert.deepEqual(request.messages[0].content, [
    { type: 'text', text: 'look here' },
    { type: 'image_url', image_url: { url: 'data:x  y' } },
  ]);
  assert.equal(request.messages[1], req.messages[1]);
  assert.equal(request.messages[2].content, '{"result":   "x  y"}');
  assert.deepEqual(changes, [{ before: 'look   here', after: 'look here' }]);
  const tidy = { model: 'm', messages: [{ role: 'user' as const, content: 'fine' }] };
  assert.equal(normalizeRequest(tidy).request, tidy);
});

// Property: whatever prose surrounds them, protected blocks come out byte for byte, and normalizing twice changes nothing.
const spaces = fc.constantFrom(' ', '  ', '\t', '   ', '\n', '\n\n\n', ' \n');
const word = fc.stringMatching(/^[a-z]{1,6}$/);
const prose = fc.array(fc.oneof(word, spaces), { maxLength: 12 }).map((xs) => xs.join(''));
const code = fc.array(fc.stringMatching(/^[ a-z=();]{0,12}$/), { minLength: 1, maxLength: 5 }).map((lines) => `\`\`\`\n${lines.join('\n')}\n\`\`\``);
const indented = fc.array(fc.stringMatching(/^[a-z][a-z =]{0,10}$/), { minLength: 1, maxLength: 4 }).map((lines) => lines.map((l) => `    ${l}`).join('\n'));
const json = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => typeof v === 'object' && v !== null)
  .map((v) => JSON.stringify(v, null, 2));

test('property: code blocks, indented lines and JSON survive normalization byte-exact', () => {
  fc.assert(
    fc.property(prose, fc.oneof(code, indented, json), prose, (before, block, after) => {
      const text = `${before}\n${block}\n${after}`;
      const out = normalizeText(text);
      assert.ok(out.includes(block), `lost ${JSON.stringify(block)} in ${JSON.stringify(out)}`);
      assert.equal(normalizeText(out), out);
    }),
    { numRuns: 500 },
  );
});

test('property: the shortcut for texts with nothing to normalize never skips a change the full pass would make', () => {
  const piece = fc.constantFrom('word', 'a', ' ', '  ', '\t', '\n', '\n\n', '\n\n\n', ' \n', '\n  \n', '```', '    code', '{"k": 1}', '"q  q"', '`i  i`');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
      const text = pieces.join('');
      assert.equal(normalizeText(text), normalizeLines(text), JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});

test('property: cutting the unchanged head and tail off never changes the count of tokens saved', () => {
  const piece = fc.constantFrom('Word', 'two words', '  ', ' ', '\t\t', '\n', '\n\n', '\n\n\n', ' \n', '\n \n', '    code', '12  34', 'end.   ');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
      const before = pieces.join('');
      const after = normalizeText(before);
      assert.equal(
        savedTokens(before, after),
        before === after ? 0 : savedInLines(before.split('\n'), after.split('\n'), false, false),
        JSON.stringify(before),
      );
    }),
    { numRuns: 1500 },
  );
  const para = 'A paragraph of tidy prose that normalization leaves alone.\n\n'.repeat(40);
  const long = `${para}One  untidy   line.\n\n\n\n${para}`;
  assert.equal(savedTokens(long, normalizeText(long)), savedInLines(long.split('\n'), normalizeText(long).split('\n'), false, false));
});

test('tokens saved are counted over the changed lines: within one token of a whole-text count, blind to unchanged text', () => {
  const samples = [
    'Hello   world.  This  is   a test.\n\n\n\nNext paragraph   here.   \nTrailing  spaces.   ',
    'Intro text\n\n```js\nconst  a =  1;\n```\n\n\n\nMore   text   after   code.\n    indented   stays\n\nend  ',
    '\n\n\n   leading blank lines and  spaces\n{"json":  "kept"}\n\nfinal   words',
    'Line one\nLine  two\n\n\n\n\nLine three with "quoted   span" and `inline   code`\nlast line\n',
    'Words   with\tspaces,\t\ttabs   and 12345   numbers   spread over a longer line of prose; then more   words.',
  ];
  for (const before of samples) {
    const after = normalizeText(before);
    const whole = countTokens(before) - countTokens(after);
    const saved = savedTokens(before, after);
    assert.ok(saved > 0 && Math.abs(saved - whole) <= 1, `${JSON.stringify(before)}: ${saved} vs ${whole}`);
    const tidy = 'an unchanged line of prose, the same before and after\n'.repeat(500);
    assert.equal(savedTokens(tidy + before, normalizeText(tidy + before)), saved, 'unchanged lines add nothing');
  }
  assert.equal(savedTokens('same text', 'same text'), 0);
});

test('one request object is normalized once, however many layers ask', () => {
  const req = { model: 'm', messages: [{ role: 'user' as const, content: 'a   b' }] };
  const first = normalizeRequest(req);
  assert.equal(normalizeRequest(req), first);
  assert.equal(first.request.messages[0].content, 'a b');
  assert.notEqual(normalizeRequest({ ...req }), first, 'another object is normalized on its own');
});
