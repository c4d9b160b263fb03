// A zero-latency Anthropic Messages upstream for benchmarks, run as its own process.
import { startFakeAnthropic, textReply } from '../../test/fakes/anthropic.ts';

const fake = await startFakeAnthropic(() => textReply('Hello from the fake Anthropic server.'));
process.stdout.write(`listening ${fake.url}\n`);
process.on('SIGTERM', () => {
  void fake.close().then(() => process.exit(0));
});
