// Loaded into the node a memory benchmark measures (node --import): on a message from the benchmark, reports what
// happened since the last report (event-loop delay, longest GC pause, longest main-thread run between two ticks),
// then heapUsed after a full GC and RSS. Plain JavaScript so that it does not bring the TypeScript stripper (~25 MB)
// into a node started from dist/.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
let gcMaxMs = 0;
let forcing = false;
new PerformanceObserver((list) => {
  if (forcing) return;
  for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
}).observe({ entryTypes: ['gc'] });

// Delay alone counts the time the OS gave other processes; the main thread's own CPU time between two ticks of a
// 5 ms timer is what the node itself held the loop for, however busy the machine.
let lastCpu = process.threadCpuUsage();
let busyMaxMs = 0;
setInterval(() => {
  const cpu = process.threadCpuUsage();
  const ms = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
  lastCpu = cpu;
  if (!forcing) busyMaxMs = Math.max(busyMaxMs, ms);
}, 5).unref();

process.on('message', (msg) => {
  if (msg?.type !== 'probe') return;
  const window = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6, gcMaxMs, busyMaxMs };
  forcing = true;
  const started = performance.now();
  globalThis.gc();
  const forcedGcMs = performance.now() - started;
  const mem = process.memoryUsage();
  // The collection just run is the probe's, not the node's: the next window starts once the loop has caught up.
  setTimeout(() => {
    delay.reset();
    gcMaxMs = 0;
    busyMaxMs = 0;
    forcing = false;
  }, 50);
  process.send({ type: 'probe', id: msg.id, ...window, forcedGcMs, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, rss: mem.rss, external: mem.external });
});
// The benchmark's channel must never keep the node alive on its own.
process.channel?.unref();
