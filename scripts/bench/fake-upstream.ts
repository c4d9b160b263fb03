// A zero-latency OpenAI-compatible upstream for benchmarks, run as its own process. Besides the fake's echo, the model
// `fail` answers 500 and `slow` streams forty parts 25 ms apart (for clients that leave mid-stream).
import { startFakeOpenAI, openaiError } from '../../test/fakes/openai.ts';

const fake = await startFakeOpenAI(async (req, res) => {
  // A benchmark sends millions of requests: the fake must not remember them.
  fake.requests.length = 0;
  if (req.body?.model === 'fail') {
    openaiError(res, 500, 'The server had an error while processing your request.', 'server_error');
    return true;
  }
  if (req.body?.model === 'slow' && req.body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1700000000, model: 'slow', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    for (let i = 0; i < 40 && !res.destroyed; i++) {
      res.write(chunk({ content: `part ${i} ` }, null));
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!res.destroyed) res.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
    return true;
  }
  return false;
});
process.stdout.write(`listening ${fake.url}\n`);
process.on('SIGTERM', () => {
  void fake.close().then(() => process.exit(0));
});
