// A Logger that keeps every line it is given (level, message, details, the bindings of its children), for tests that
// assert what a component logs and at which level.
import type { Logger } from '../src/core/logger.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: LogLevel;
  msg: string;
  detail: Record<string, unknown>;
  /** Merged from every `child()` between the root and the logger that wrote the line (`component`, `log`, …). */
  bindings: Record<string, unknown>;
}

export interface CapturedLog {
  /** Pass this where a component takes its logger (or the node's logger it takes children from). */
  logger: Logger;
  lines: LogLine[];
  /** The lines with this message, at this level when one is given. */
  find(msg: string, level?: LogLevel): LogLine[];
}

export function captureLogger(): CapturedLog {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLevel) =>
      (obj: object, msg: string): void => {
        lines.push({ level, msg, detail: { ...obj }, bindings });
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...bindings, ...more }) };
  };
  return {
    logger: make({}),
    lines,
    find: (msg, level) => lines.filter((l) => l.msg === msg && (level === undefined || l.level === level)),
  };
}
