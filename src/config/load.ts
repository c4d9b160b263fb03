// Reads a YAML config: `${VAR}` / `${VAR:-default}` from the environment, overrides, then the schema; errors name file, line and key.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { bootstrapProblem } from './bootstrap.ts';
import { describe, flattenIssues, formatPath, pointsAtKey } from './issues.ts';
import { applyOverrides, type ConfigOverrides } from './overrides.ts';
import { configSchema, type NodeConfig } from './schema.ts';
import { ConfigError } from '../core/errors.ts';

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;
const SCALAR_LITERAL = /^(?:-?\d+(?:\.\d+)?|true|false)$/;

function parseScalar(text: string): number | boolean {
  return text === 'true' ? true : text === 'false' ? false : Number(text);
}

function substitute(node: unknown, env: NodeJS.ProcessEnv, where: (n: Node) => string): void {
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items) substitute(isPair(item) ? item.value : item, env, where);
    return;
  }
  if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    const whole = WHOLE_VAR.test(node.value);
    const value = node.value.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${where(node)}: environment variable ${name} is not set (use \${${name}:-default} for a fallback)`);
    });
    // `port: ${PORT}` means a number, as if it had been written in place; quote it ("${PORT}") to keep a string.
    node.value = whole && node.type === 'PLAIN' && SCALAR_LITERAL.test(value) ? parseScalar(value) : value;
  }
}

/** The YAML node at a key path, or the deepest one that exists (a missing key points at its parent); `atKey`: the key itself. */
function nodeAt(doc: Document, path: readonly PropertyKey[], atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let found = node as Node | undefined;
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair && atKey && i === path.length - 1) return pair.key as Node;
      node = pair?.value;
    } else if (isSeq(node)) node = node.items[Number(seg)];
    else break;
    if (!node || !(node as Node).range) break;
    found = node as Node;
  }
  return found;
}

/** Parses and validates config text; `file` is used in messages and as the config's `source`. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): NodeConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ConfigError(`${at(e.pos[0])}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  substitute(doc.contents, env, (n) => at(n.range?.[0]));
  const parsed = configSchema.safeParse(applyOverrides(doc.toJS() ?? {}, overrides));
  if (!parsed.success) {
    const found = flattenIssues(parsed.error.issues).map((issue) => {
      const path = [...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys[0]] : [])];
      const offset = nodeAt(doc, path, pointsAtKey(issue))?.range?.[0];
      return { offset, text: `${at(offset)}: ${formatPath(path)}: ${describe(issue)}` };
    });
    // In file order, so the first line is the first problem a reader meets.
    found.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
    throw new ConfigError(
      found
        .slice(0, 5)
        .map((f) => f.text)
        .join('\n'),
    );
  }
  // The file's bootstrap list is checked only where it is dialled, and not when --bootstrap replaced it (pi-peer.yaml's
  // placeholder with it): `kb add` or `peers` beside a node started with the flag must not trip over it.
  if (overrides.checkBootstrap && !overrides.bootstrap?.length) {
    parsed.data.mesh.bootstrap.forEach((entry, i) => {
      const problem = bootstrapProblem(entry);
      const path = ['mesh', 'bootstrap', i];
      if (problem) throw new ConfigError(`${at(nodeAt(doc, path, false)?.range?.[0])}: ${formatPath(path)}: ${problem}`);
    });
  }
  return { source: file, ...parsed.data };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseConfig(text, file, env, overrides);
}
