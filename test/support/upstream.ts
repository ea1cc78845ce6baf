// A real upstream for integration tests: a node:http server on a loopback port that counts and
// records what reaches it (method, URL, headers, body length and SHA-256, hashed as it streams so
// 100 MB bodies cost no memory), and can answer slowly, stream large bodies, or echo WebSocket frames.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  /** The chunked body's trailer fields as sent (name, value, ...). */
  readonly rawTrailers: readonly string[];
  readonly bodyLength: number;
  readonly bodySha256: string;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request that reached the upstream, in arrival order (recorded once its body ended). */
  readonly received: Received[];
  /** Requests that have arrived (counted at the headers, before the body). */
  arrivals(): number;
  /** Answers every `/slow?held` request waiting now. */
  release(): void;
  /** Upgraded (WebSocket) connections still open on the upstream's side. */
  openTunnels(): number;
  close(): Promise<void>;
}

/** A readable of `size` deterministic bytes produced chunk by chunk (never held whole). */
export function patternStream(size: number, chunk = 64 * 1024): Readable {
  let sent = 0;
  const block = Buffer.alloc(chunk);
  for (let i = 0; i < chunk; i++) block[i] = (i * 31 + 7) & 0xff;
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, size - sent);
      sent += n;
      this.push(n === chunk ? block : block.subarray(0, n));
    },
  });
}

/** SHA-256 of what `patternStream(size)` yields, computed by streaming it. */
export async function patternSha256(size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of patternStream(size)) hash.update(part as Buffer);
  return hash.digest('hex');
}

/** Answers a WebSocket handshake and echoes small text frames (enough for tunnel tests). */
function acceptWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = head;
  const onData = (data: Buffer): void => {
    buf = Buffer.concat([buf, data]);
    while (buf.length >= 6) {
      const opcode = buf[0]! & 0x0f;
      const len = buf[1]! & 0x7f;
      if (len > 125 || buf.length < 6 + len) return;
      const mask = buf.subarray(2, 6);
      const payload = Buffer.from(buf.subarray(6, 6 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buf = buf.subarray(6 + len);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0]));
        return;
      }
      const text = opcode === 0x1 ? Buffer.from(`echo:${payload.toString('utf8')}`) : payload;
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, text.length]), text]));
    }
  };
  socket.on('data', onData);
  // The gateway went away: close this side too (the server keeps upgraded sockets half-open).
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
  if (head.length > 0) onData(Buffer.alloc(0));
}

/**
 * Starts the recording upstream. Paths: `/slow?ms=N` waits N ms before the headers, `/slow?held`
 * until `release()`;
 * `/download?bytes=N` streams N pattern bytes; `/stall` sends headers then nothing;
 * anything else answers 200 with JSON describing what it received.
 */
export async function startTestUpstream(): Promise<TestUpstream> {
  const received: Received[] = [];
  let arrivals = 0;
  const held = new Set<() => void>();
  const server = http.createServer((req, res) => {
    arrivals++;
    const url = new URL(req.url ?? '/', 'http://upstream');
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const record: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, rawTrailers: req.rawTrailers, bodyLength: length, bodySha256: hash.digest('hex') };
      received.push(record);
      if (url.pathname === '/slow' && url.searchParams.has('held')) {
        const answer = (): void => void res.end('slow');
        held.add(answer);
        res.on('close', () => held.delete(answer));
        return;
      }
      if (url.pathname === '/slow') {
        const timer = setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') ?? 1000));
        res.on('close', () => clearTimeout(timer));
        return;
      }
      if (url.pathname === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        return;
      }
      if (url.pathname === '/download') {
        const size = Number(url.searchParams.get('bytes') ?? 0);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
        patternStream(size).pipe(res);
        return;
      }
      const body = JSON.stringify(record);
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-upstream': 'yes',
        'set-cookie': ['a=1', 'b=2'],
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret',
      });
      res.end(body);
    });
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    arrivals++;
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, rawTrailers: [], bodyLength: 0, bodySha256: '' });
    acceptWebSocket(req, socket, head);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    arrivals: () => arrivals,
    release() {
      for (const answer of [...held]) answer();
    },
    openTunnels: () => upgraded.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
