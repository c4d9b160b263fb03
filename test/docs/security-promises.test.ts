// SECURITY.md promises only what a test proves: every promise cites tests that exist, and the README's mesh section agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const security = readFileSync(join(root, 'SECURITY.md'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The titles of a test file's tests; a template title (`${mode} …`) becomes a pattern. */
function titlesOf(file: string): RegExp[] {
  const source = readFileSync(join(root, file), 'utf8');
  return [...source.matchAll(/\btest\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g)].map((m) => {
    const title = m[2].replace(/\\(.)/g, '$1');
    const parts = title.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${parts.join('.+')}$`);
  });
}

/** The bullets of the Promises section, each with its text joined onto one line. */
function promises(): string[] {
  const section = security.slice(security.indexOf('## Promises'), security.indexOf('## Relied on, not tested here'));
  assert.ok(section.length > 100, 'SECURITY.md has a Promises section followed by what it relies on');
  return section
    .split(/\n(?=- \*\*)/)
    .slice(1)
    .map((b) => b.replace(/\s*\n\s*/g, ' '));
}

test('every promise in SECURITY.md names at least one test', () => {
  const list = promises();
  assert.ok(list.length >= 30, `${list.length} promises`);
  for (const p of list) assert.match(p, /\*Tests?:\* `test\/[^`]+\.test\.ts` › «/, `no test named for: ${p.slice(0, 120)}`);
});

test('every test SECURITY.md cites exists, in the file it names', () => {
  let cited = 0;
  for (const p of promises()) {
    const citations = p.slice(p.search(/\*Tests?:\*/));
    for (const [, file, titles] of citations.matchAll(/`(test\/[^`]+\.test\.ts)` › ((?:[^`]|`(?!test\/))*)/g)) {
      assert.ok(existsSync(join(root, file)), `${file} exists`);
      const known = titlesOf(file);
      for (const [, title] of titles.matchAll(/«([^»]+)»/g)) {
        cited++;
        assert.ok(
          known.some((k) => k.test(title)),
          `${file} has no test titled «${title}»`,
        );
      }
    }
  }
  assert.ok(cited >= 60, `${cited} tests cited`);
});

test("the README's mesh section and SECURITY.md say the same about what members may spend and how forwards are attributed", () => {
  const mesh = readme.slice(readme.indexOf('## Mesh walkthrough'), readme.indexOf('## Operating it'));
  for (const doc of [mesh, security]) {
    for (const phrase of ['mesh.forward_limits', 'mesh.accept_forwards', 'peer:<peer id>', 'auth.mode: none', 'membership is a peer']) {
      assert.ok(doc.replace(/\s+/g, ' ').includes(phrase), `${doc === mesh ? 'README mesh section' : 'SECURITY.md'} mentions ${phrase}`);
    }
    assert.doesNotMatch(doc, /records the\s+original client id/);
  }
});
