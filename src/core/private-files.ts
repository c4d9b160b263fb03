// Files and directories that hold secrets (database, usage journal, keys) are owner-only, whatever the umask was.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and missing parents) owner-only; a directory that already exists keeps the mode its owner chose. */
export function ensurePrivateDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is narrowed by the umask, never widened; chmod makes it exact.
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes `file` owner-only: created 0600 when missing, and narrowed to 0600 when an older version left it readable by
 * others. A file we may not chmod (another owner, a read-only disk) is left alone: opening it will say what is wrong.
 */
export function restrictFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  try {
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EROFS' && code !== 'EACCES') throw err;
  }
}
