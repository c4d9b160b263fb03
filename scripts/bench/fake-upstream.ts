// A zero-latency OpenAI-compatible upstream for benchmarks, run as its own process.
import { startFakeOpenAI } from '../../test/fakes/openai.ts';

const fake = await startFakeOpenAI();
process.stdout.write(`listening ${fake.url}\n`);
process.on('SIGTERM', () => { void fake.close().then(() => process.exit(0)); });
