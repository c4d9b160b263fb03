// The thinnest HTTP proxy Node can run (node:http in, undici pool out, bytes passed through unparsed), as its own
// process: the floor any Node gateway's overhead is measured against in overhead.ts.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new URL(process.argv[2]);
const pool = new Pool(upstream.origin, { connections: 256 });
const prefix = upstream.pathname.replace(/\/+$/, '');

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    pool
      .request({ path: prefix + req.url!.replace(/^\/v1/, ''), method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(parts) })
      .then(async (up) => {
        const body = Buffer.from(await up.body.arrayBuffer());
        res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
      })
      .catch(() => {
        res.writeHead(502).end();
      });
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${port}/v1\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.close().then(() => process.exit(0));
});
