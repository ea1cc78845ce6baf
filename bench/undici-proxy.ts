// The floor a Node proxy can reach: a bare node:http server that forwards each request with one
// undici `Pool.dispatch` and a raw handler (response headers kept as the Buffers undici read,
// written back without building an object). No authentication, no audit, no metrics: what is left
// is the cost of two HTTP legs in Node, which iamgate's own data path is measured against.
// Run as a program: `node dist-bench/bench/undici-proxy.js PORT UPSTREAM_URL`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

// Hop-by-hop headers (RFC 9110 §7.6.1), and those undici refuses to send itself.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

/** The client's headers as undici's flat [name, value, ...] list, hop-by-hop ones left out. */
function forwardedHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1]!);
  }
  return out;
}

/** One forwarded exchange: undici's legacy handler calls, straight into the ServerResponse. */
class Forward implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.res.destroyed) abort(new Error('the client left'));
    else this.res.once('close', () => this.res.writableFinished || abort(new Error('the client left')));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1');
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1]!.toString('latin1'));
    }
    this.res.writeHead(status, headers);
    this.res.on('drain', resume);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.res.end();
  }

  onError(): void {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502, { 'content-length': '0' }).end();
  }
}

const [port, upstream] = process.argv.slice(2);
if (port === undefined || upstream === undefined) throw new TypeError('usage: undici-proxy.js PORT UPSTREAM_URL');
const pool = new Pool(upstream, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: forwardedHeaders(req.rawHeaders), body: hasBody ? req : null }, new Forward(res));
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
