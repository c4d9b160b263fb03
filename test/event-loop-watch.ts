// Measures how long the main thread is held between event-loop turns, two ways: the event-loop delay (wall time, as
// perf_hooks.monitorEventLoopDelay sees it) and the CPU the thread spent between two ticks of a short timer. A loaded
// machine stretches the first (waiting for a core); only work that does not yield grows the second.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopWatch {
  /** Stops watching; the longest delay (wall ms) and the most CPU the thread used between two ticks (ms). */
  stop(): { maxDelayMs: number; maxBusyMs: number };
}

export function watchEventLoop(tickMs = 5): EventLoopWatch {
  const delay = monitorEventLoopDelay({ resolution: tickMs });
  delay.enable();
  let last = process.threadCpuUsage();
  let maxBusyUs = 0;
  const timer = setInterval(() => {
    const used = process.threadCpuUsage(last);
    maxBusyUs = Math.max(maxBusyUs, used.user + used.system);
    last = process.threadCpuUsage();
  }, tickMs);
  return {
    stop() {
      clearInterval(timer);
      delay.disable();
      return { maxDelayMs: delay.max / 1e6, maxBusyMs: maxBusyUs / 1000 };
    },
  };
}
