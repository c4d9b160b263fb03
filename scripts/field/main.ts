// The field test: four Pis and a stranger as separate hosts (network namespaces on a bridge), set up and driven the
// way the README's mesh walkthrough tells a user. Exits 0 when every scenario passed, 1 when one failed, 77 when it
// cannot run here (not root, or no `ip netns`). Options: --partition-seconds=60 --only=<text> --json
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Lab, labAvailable, removeLeftovers, workDirectory } from './lab.ts';
import { Pi } from './pi.ts';
import { SCENARIOS, type Field } from './scenarios.ts';

export const SKIP_EXIT = 77;

export interface FieldReport {
  passed: string[];
  failed: { name: string; error: string }[];
  timings: Record<string, number>;
}

export interface FieldOptions {
  partitionSeconds: number;
  /** Run only the scenarios whose name contains one of these (the join always runs). */
  only?: string[];
  say?: (line: string) => void;
}

export async function runFieldTest(opts: FieldOptions): Promise<FieldReport> {
  const say = opts.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const removed = await removeLeftovers();
  if (removed.length) say(`removed ${removed.length} namespace(s) left by an earlier run: ${removed.join(', ')}`);
  const lab = new Lab();
  const work = workDirectory();
  const report: FieldReport = { passed: [], failed: [], timings: {} };
  // A signal must not leave namespaces behind: clean up, then die of it.
  const onSignal = (signal: NodeJS.Signals) => {
    void lab.destroy().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await lab.build();
    const adminKey = 'field-test-admin-key-0123456789';
    const pi = async (name: string, config: string) => new Pi(lab, await lab.addHost(name), work, config, adminKey);
    const boot = await pi('pi-boot', 'pi-bootstrap.yaml');
    const peers: [Pi, Pi, Pi] = [await pi('pi-1', 'pi-peer.yaml'), await pi('pi-2', 'pi-peer.yaml'), await pi('pi-3', 'pi-peer.yaml')];
    const stranger = await pi('pi-stranger', 'pi-peer.yaml');
    const field: Field = {
      boot,
      peers,
      stranger,
      work,
      partitionSeconds: opts.partitionSeconds,
      timings: report.timings,
      say,
      partition: (a, b) =>
        lab.partition(
          a.map((p) => p.host),
          b.map((p) => p.host),
        ),
      heal: () => lab.heal(),
      setLink: (p, up) => lab.setLink(p.host, up),
    };
    const chosen = SCENARIOS.filter((s, i) => i === 0 || !opts.only?.length || opts.only.some((o) => s.name.includes(o)));
    for (const scenario of chosen) {
      const started = performance.now();
      try {
        await scenario.run(field);
        report.passed.push(scenario.name);
        say(`✓ ${scenario.name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      } catch (err) {
        report.failed.push({ name: scenario.name, error: (err as Error).message });
        say(`✗ ${scenario.name}: ${(err as Error).message}`);
        for (const p of [boot, ...peers, stranger]) {
          const tail = p
            .log()
            .split('\n')
            .filter((l) => /"level":(40|50|60)|^flowrouter/.test(l))
            .slice(-8);
          if (tail.length) say(`  ${p.name} log:\n    ${tail.join('\n    ').slice(0, 4000)}`);
        }
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
  return report;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { 'partition-seconds': { type: 'string', default: '60' }, only: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  });
  const available = await labAvailable();
  if (!available.ok) {
    process.stdout.write(`field test skipped: ${available.reason}\n`);
    process.exit(SKIP_EXIT);
  }
  const report = await runFieldTest({ partitionSeconds: Number(values['partition-seconds']), only: values.only });
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  process.stdout.write(`${report.passed.length} passed, ${report.failed.length} failed\n`);
  process.exit(report.failed.length ? 1 : 0);
}
