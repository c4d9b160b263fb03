// The memory benchmark's status reader and metrics scraper, in a process of its own as Prometheus or a dashboard would
// be: the load generator's busy event loop would otherwise add its own delay to every read it times. Started by
// scripts/bench/memory.ts with the node's URL and the period; reports each read's time by IPC. `pause` stops reading
// (the benchmark's forced GC in the node would be timed, not the node), and a read begun before it is not reported.
import { Agent, request } from 'undici';

export interface ReadTime {
  type: 'read';
  which: 'status' | 'metrics';
  ms: number;
}

const [url, everyMs] = [process.argv[2], Number(process.argv[3])];
const reads = new Agent({ connections: 2 });
let paused = false;
/** Bumped on every pause: a read that started in an earlier epoch is not reported. */
let epoch = 0;

async function timedRead(path: string, which: ReadTime['which']): Promise<void> {
  if (paused) return;
  const started = epoch;
  const t0 = performance.now();
  const res = await request(`${url}${path}`, { dispatcher: reads });
  await res.body.text();
  const ms = performance.now() - t0;
  if (!paused && started === epoch) process.send?.({ type: 'read', which, ms } satisfies ReadTime);
}

const timer = setInterval(() => {
  void timedRead('/v1/router/status', 'status').catch(() => {});
  void timedRead('/metrics', 'metrics').catch(() => {});
}, everyMs);

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'pause') {
    paused = true;
    epoch++;
  } else if (msg?.type === 'resume') {
    paused = false;
  } else if (msg?.type === 'stop') {
    clearInterval(timer);
    void reads.close().finally(() => process.exit(0));
  }
});
