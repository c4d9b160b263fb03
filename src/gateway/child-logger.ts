// The per-request logger fastify hands to handlers, made only when a request actually logs through it.
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildLoggerOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify's `childLoggerFactory`: the per-request child logger is made only when something is logged through it at
 * an enabled level. Making a pino child serialises (and redacts) its bindings, which cost every request a few
 * microseconds although most never log through `request.log`.
 */
export function deferredChildLogger(parent: FastifyBaseLogger, bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
  const enabled = (parent as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.bind(parent);
  if (!enabled) return parent.child(bindings, opts);
  let child: FastifyBaseLogger | undefined;
  const real = () => (child ??= parent.child(bindings, opts));
  const at = (level: Level) =>
    ((...args: unknown[]) => {
      if (child || enabled(level)) (real()[level] as (...a: unknown[]) => void)(...args);
    }) as FastifyBaseLogger[Level];
  return {
    get level() {
      return (child ?? parent).level;
    },
    set level(value: string) {
      real().level = value;
    },
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => {},
    child: (b: Bindings, o?: ChildLoggerOptions) => real().child(b, o),
  };
}
