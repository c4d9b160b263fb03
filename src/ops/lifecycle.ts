// Graceful shutdown: stop accepting, let in-flight requests and streams finish up to a deadline, then stop the rest in order.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/logger.ts';

/** One thing to stop after the HTTP server has closed (usage flush, mesh stop, database close…). */
export interface StopStep {
  name: string;
  stop: () => unknown | Promise<unknown>;
}

export interface ShutdownOptions {
  app: FastifyInstance;
  /** Run in this order once no request is being served; a failing step is logged and the next one still runs. */
  stopFns?: StopStep[];
  /** How long in-flight requests and streams may take before their connections are cut. */
  graceMs: number;
  log?: Logger;
}

export interface ShutdownReport {
  /** True when the deadline passed and open connections were cut. */
  forced: boolean;
  /** Names of the stop steps that threw. */
  failed: string[];
  ms: number;
}

/**
 * Closes the server: new connections are refused at once and requests on kept-alive connections get 503 (fastify's
 * return503OnClosing); requests already running, streams included, may finish until `graceMs`, then are cut.
 */
export async function gracefulShutdown(opts: ShutdownOptions): Promise<ShutdownReport> {
  const started = Date.now();
  const log = opts.log;
  log?.info({ graceMs: opts.graceMs }, 'shutting down: no new requests, waiting for in-flight ones');
  let forced = false;
  let timer: NodeJS.Timeout | undefined;
  const closed = opts.app.close();
  // Node closes idle keep-alive connections once, when close() starts; a connection whose last response ends later
  // would otherwise hold the close open until its keep-alive timeout.
  const sweeper = setInterval(() => opts.app.server.closeIdleConnections(), 100);
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), opts.graceMs);
  });
  try {
    if ((await Promise.race([closed.then(() => 'closed' as const), deadline])) === 'deadline') {
      forced = true;
      log?.warn({ graceMs: opts.graceMs }, 'shutdown deadline passed: cutting the connections still open');
      opts.app.server.closeAllConnections();
      await closed;
    }
  } finally {
    clearTimeout(timer);
    clearInterval(sweeper);
  }
  const failed: string[] = [];
  for (const step of opts.stopFns ?? []) {
    try {
      await step.stop();
    } catch (err) {
      failed.push(step.name);
      log?.error({ step: step.name, err: { message: err instanceof Error ? err.message : String(err) } }, 'shutdown step failed');
    }
  }
  const ms = Date.now() - started;
  log?.info({ ms, forced, failed }, 'shut down');
  return { forced, failed, ms };
}

/**
 * Runs `shutdown` once on the first SIGTERM or SIGINT, then exits (0, or 1 when it failed or a step failed);
 * a second signal exits at once. Returns a function that removes the handlers.
 */
export function exitOnSignals(shutdown: () => Promise<ShutdownReport>, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
  let running = false;
  const onSignal = () => {
    if (running) process.exit(1);
    running = true;
    shutdown().then(
      (r) => process.exit(r.failed.length ? 1 : 0),
      () => process.exit(1),
    );
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
