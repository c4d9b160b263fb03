// Reads a YAML config: `${VAR}` / `${VAR:-default}` from the environment, schema validation, errors with file and line.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { configSchema, type RawConfig } from './schema.ts';

export class ConfigError extends Error {
  /** The key the message is about, when found after parsing: the loader adds its file:line:column. */
  readonly path?: readonly (string | number)[];

  constructor(message: string, opts: { path?: readonly (string | number)[] } = {}) {
    super(message);
    this.name = 'ConfigError';
    this.path = opts.path;
  }
}

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

/** Finds the YAML node for a schema path; for an unknown key, the key itself. */
function nodeAt(doc: Document, path: PropertyKey[], key?: string): Node | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) node = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg))?.value;
    else if (isSeq(node)) node = node.items[Number(seg)];
    else return undefined;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair) return pair.key as Node;
  }
  return (node ?? undefined) as Node | undefined;
}

export interface LoadedConfig {
  raw: RawConfig;
  file: string;
  /** `file:line:column` of the value at a key path (the file alone when the path is not in it). */
  at(path: readonly (string | number)[]): string;
}

/** Parses and validates config text; `file` is used only in messages. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
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
  const data = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    const messages = parsed.error.issues.slice(0, 5).map((issue) => {
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const node = nodeAt(doc, issue.path, unknown);
      const keyPath = [...issue.path, ...(unknown ? [unknown] : [])].join('.') || '(top level)';
      const what = issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message.replace(/^Invalid input: /, '');
      return `${at(node?.range?.[0])}: ${keyPath}: ${what}`;
    });
    throw new ConfigError(messages.join('\n'));
  }
  return { raw: parsed.data, file, at: (path) => at(nodeAt(doc, [...path])?.range?.[0]) };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseConfig(text, file, env);
}
