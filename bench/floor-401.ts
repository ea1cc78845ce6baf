// The floor for a rejection in Node: a bare node:http server that answers every request with a
// fixed 401 (the same status line, headers and body, byte for byte in length, as iamgate's "no
// token" answer, with a fresh request id per answer), written with `writeHead` and `end` as any
// Node server would. No
// authentication, no audit, no metrics: what is left is node:http's and the kernel's cost of
// answering, which iamgate's rejection paths are measured against.
// Run as a program: `node dist-bench/bench/floor-401.js PORT`.
import { createServer } from 'node:http';

const CHALLENGE = 'Bearer realm="iamgate"';
// As iamgate's ids: a random prefix fixed per process and a counter (36 characters).
const PREFIX = '6b029938-152e-4f63-be68-';
let counter = 0;

const [port] = process.argv.slice(2);
if (port === undefined) throw new TypeError('usage: floor-401.js PORT');

const server = createServer((_req, res) => {
  const requestId = PREFIX + String(++counter).padStart(12, '0');
  const body = JSON.stringify({ error: 'Unauthorized', code: 'token_missing', message: 'A bearer token is required', requestId });
  res.writeHead(401, ['www-authenticate', CHALLENGE, 'content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store', 'x-iamgate-request-id', requestId]);
  res.end(body);
});
server.keepAliveTimeout = 5_000;
server.listen(Number(port), '127.0.0.1');
