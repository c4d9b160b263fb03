// Resolves user-given paths and globs to files under one root, refusing anything that escapes it (symlinks included).
import { glob, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ClientError } from '../../core/errors.ts';

export const INGESTIBLE_EXTENSIONS = ['md', 'markdown', 'mdx', 'txt', 'text', 'html', 'htm', 'jsonl', 'ndjson', 'pdf'] as const;

const GLOB_CHARS = /[*?[\]{}]/;

export interface ResolvedFile {
  /** Absolute path on disk. */
  path: string;
  /** Path relative to the root with `/` separators: the document's source. */
  source: string;
}

/** Expands paths, directories (recursively, known extensions only) and globs; results are unique and sorted. */
export async function resolveInputs(inputs: readonly string[], root: string): Promise<ResolvedFile[]> {
  const realRoot = await realpath(resolve(root));
  const found = new Map<string, ResolvedFile>();
  for (const input of inputs) {
    const matches = GLOB_CHARS.test(input) ? await expandGlob(input, realRoot) : await expandPath(input, realRoot);
    if (matches.length === 0) throw new ClientError(`No files match ${input}`, { code: 'no_such_file' });
    for (const m of matches) found.set(m.path, m);
  }
  return [...found.values()].sort((a, b) => a.source.localeCompare(b.source));
}

/** The file's real path if it lies inside the root; a ClientError otherwise. */
export async function insideRoot(path: string, realRoot: string, allowRoot = false): Promise<ResolvedFile> {
  const real = await realpath(path).catch(() => {
    throw new ClientError(`No such file: ${relative(realRoot, path) || path}`, { code: 'no_such_file' });
  });
  const rel = relative(realRoot, real);
  if ((rel === '' && !allowRoot) || rel.startsWith('..') || isAbsolute(rel)) {
    throw new ClientError(`Path ${path} is outside the ingestion root`, { code: 'path_outside_root' });
  }
  return { path: real, source: rel.split(sep).join('/') };
}

async function expandPath(input: string, realRoot: string): Promise<ResolvedFile[]> {
  const abs = resolve(realRoot, input);
  const info = await stat(abs).catch(() => null);
  if (!info) throw new ClientError(`No such file: ${input}`, { code: 'no_such_file' });
  const inside = await insideRoot(abs, realRoot, info.isDirectory());
  if (!info.isDirectory()) return [inside];
  return expandGlob(join(inside.source || '.', `**/*.{${INGESTIBLE_EXTENSIONS.join(',')}}`), realRoot);
}

// A pattern whose fixed part leaves the root is refused outright; matches that are symlinks out of it are skipped.
async function expandGlob(pattern: string, realRoot: string): Promise<ResolvedFile[]> {
  const fixed = pattern
    .split(/[\\/]/)
    .filter((_, i, parts) => !parts.slice(0, i + 1).some((p) => GLOB_CHARS.test(p)))
    .join('/');
  const rel = relative(realRoot, resolve(realRoot, fixed));
  if (rel.startsWith('..') || isAbsolute(rel) || pattern.split(/[\\/]/).includes('..')) {
    throw new ClientError(`Pattern ${pattern} reaches outside the ingestion root`, { code: 'path_outside_root' });
  }
  const out: ResolvedFile[] = [];
  for await (const entry of glob(pattern, { cwd: realRoot, withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const file = await insideRoot(join(entry.parentPath, entry.name), realRoot).catch(() => null);
    if (file && (await stat(file.path)).isFile()) out.push(file);
  }
  return out;
}
