// Schema issues as config messages: the key path, what was expected, and where (the YAML node's line and column).
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/** `['chains', 'default', 0, 'key']` → `chains.default[0].key` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out || '(top level)';
}

/** How far a union branch got before failing: a wrong type at the value itself scores 0, a problem inside it more. */
function depth(branch: Issue[]): number {
  return Math.min(...branch.map((i) => i.path.length + (i.code === 'invalid_type' || i.code === 'invalid_union' ? 0 : 0.5)));
}

const TYPE_WORDS: Record<string, string> = { record: 'map', object: 'map', array: 'list' };
const typeWord = (t: string) => TYPE_WORDS[t] ?? t;

/**
 * Issues with absolute paths, unions resolved: a value that fails every branch of a union is reported from the branch
 * that fits it (a chain given as a list reports the list's problem), or as "expected X or Y" when none fits at all.
 */
export function flattenIssues(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push({ ...issue, path } as Issue);
      continue;
    }
    const best = Math.max(...issue.errors.map(depth));
    if (best > 0) {
      out.push(...flattenIssues(issue.errors.find((b) => depth(b) === best)!, path));
      continue;
    }
    const expected = issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' ? [typeWord(i.expected)] : []));
    const received = /received (\w+)/.exec(issue.errors[0][0]?.message ?? '')?.[1];
    out.push({ ...issue, path, message: `expected ${[...new Set(expected)].join(' or ')}${received ? `, received ${typeWord(received)}` : ''}` } as Issue);
  }
  return out;
}

/** What is wrong, in words a config author reads: "unknown key", "required", "expected list or map, received null". */
export function describe(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (received === 'undefined') return `required (expected ${typeWord(issue.expected)})`;
    return `expected ${typeWord(issue.expected)}${received ? `, received ${typeWord(received)}` : ''}`;
  }
  if (issue.code === 'invalid_union' && !issue.message.startsWith('Invalid input')) return issue.message;
  // zod's own wording, without its category prefix ("Too small: expected number to be >0").
  return issue.message.replace(/^[A-Z][A-Za-z ]*: (?=expected )/, '');
}

/** Whether a message is about a key's name (point at the key) rather than its value. */
export function pointsAtKey(issue: Issue): boolean {
  return issue.code === 'unrecognized_keys' || (issue.code === 'custom' && (issue.params as { at?: string } | undefined)?.at === 'key');
}
