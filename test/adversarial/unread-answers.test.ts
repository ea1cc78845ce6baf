// A caller allowed through stops reading the answer. undici pauses the upstream's response while
// the caller's socket is backed up, and its body timeout does not run while paused, so nothing
// bounded such a caller: it held its connection and one of the pool's upstream connections for as
// long as it liked, and `upstream.connections` such callers stopped every other request. The
// answer may now stand still at most `upstream.idleTimeoutMs` whichever side stops it. The same
// holds for a request body the caller stops sending while the upstream waits for it: undici's
// timeouts do not run before the body is sent, so only `listen.requestTimeoutMs` bounded it.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/until.js';
import { sleep } from './support/raw.js';

const IDLE_MS = 3000;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** An upstream that streams an answer of `?chunks=N` 64 KiB chunks (endless without it), noting when each answer's connection closed. */
function startStreamingUpstream(): Promise<{ url: string; closed: Set<string>; close(): Promise<void> }> {
  const closed = new Set<string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (req.method === 'POST' && !url.searchParams.has('answerAtOnce')) return void readBody(req, res, url, closed);
    // A POST with ?answerAtOnce streams its endless answer while it still takes the body.
    if (req.method === 'POST') req.resume();
    const chunks = Number(url.searchParams.get('chunks') ?? Infinity);
    res.on('close', () => closed.add(req.method === 'POST' ? `${url.pathname}?answerAtOnce` : url.pathname));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const pump = (): void => {
      while (sent < chunks) {
        sent++;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  // An upgrade it refuses, answering 200 with the same endless body on the raw socket.
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('close', () => closed.add(new URL(req.url ?? '/', 'http://upstream').pathname));
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n');
    const pump = (): void => {
      while (!socket.destroyed) if (!socket.write(CHUNK)) return void socket.once('drain', pump);
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        closed,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

/**
 * A POST's body is read (after `?holdMs=N`, in which the upstream reads nothing of it) and its length
 * answered; the request's path is noted closed if its connection closes before the body ends.
 */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, url: URL, closed: Set<string>): void {
  let length = 0;
  let ended = false;
  req.on('close', () => ended || closed.add(url.pathname));
  req.pause();
  setTimeout(() => {
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      ended = true;
      res.end(String(length));
    });
    req.resume();
  }, Number(url.searchParams.get('holdMs') ?? 0));
}

/** Connects and sends `GET path` as alice with `headers`; the socket is paused, so nothing of the answer is read until the test resumes it. */
async function unreadRequest(port: number, path: string, bearer: string, headers = 'Connection: close\r\n'): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer}\r\n${headers}\r\n`);
  return socket;
}

/** Reads the rest of the connection: every byte until the server ends it, or `deadlineMs`. */
function drain(socket: net.Socket, deadlineMs: number): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => finish(false), deadlineMs);
    const finish = (ended: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, ended });
    };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.resume();
  });
}

/** The length of a whole chunked body, or -1 when it is not one. */
function dechunked(body: string): number {
  let at = 0;
  let length = 0;
  for (;;) {
    const line = body.indexOf('\r\n', at);
    if (line < 0) return -1;
    const size = parseInt(body.slice(at, line), 16);
    if (size === 0) return body.slice(line) === '\r\n\r\n' ? length : -1;
    length += size;
    at = line + 2 + size + 2;
  }
}

let upstream: Awaited<ReturnType<typeof startStreamingUpstream>>;
let gw: TestGateway;
let port: number;
let alice: string;
beforeAll(async () => {
  upstream = await startStreamingUpstream();
  gw = await startTestGateway({
    upstreamUrl: upstream.url,
    // Long enough for the upstream that holds the body before it answers.
    config: { upstream: { url: upstream.url, connectTimeoutMs: 1000, headersTimeoutMs: IDLE_MS * 4, idleTimeoutMs: IDLE_MS } },
  });
  port = Number(new URL(gw.url).port);
  alice = await gw.bearer('alice');
});
afterAll(async () => {
  await gw.close();
  await upstream.close();
});

describe('a caller that does not read its answer', () => {
  /** Asks `path` and never reads: the upstream's answer is aborted within the bound, and the caller finds its connection ended after one allowed answer's head. */
  async function expectCut(path: string, headers?: string): Promise<void> {
    const socket = await unreadRequest(port, path, alice, headers);
    // Never read: the gateway's writes back up, and the upstream's answer with them.
    await until('the upstream connection closed', () => upstream.closed.has(path), IDLE_MS * 3);
    const rest = await drain(socket, IDLE_MS);
    expect(rest.ended).toBe(true);
    expect(rest.text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    const id = /\r\nx-iamgate-request-id: ([^\r]+)\r\n/i.exec(rest.text)?.[1] ?? '';
    expect(gw.audit.decisionsFor(id).map((e) => e.decision)).toEqual(['Allow']);
  }

  it('is cut within upstream.idleTimeoutMs, its upstream request aborted, leaving one decision record', async () => {
    await expectCut('/public/endless');
  });

  it('is cut the same when the answer is an upstream’s refusal of its WebSocket upgrade', async () => {
    await expectCut('/ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
  });

  it('gets the whole answer when it stops reading several times, each time for less than the bound', async () => {
    const chunks = 256;
    const socket = await unreadRequest(port, `/public/finite?chunks=${chunks}`, alice);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    const ended = new Promise<boolean>((resolve) => {
      socket.once('end', () => resolve(true));
      setTimeout(() => resolve(false), IDLE_MS * 5);
    });
    // Together the stops stand still longer than the bound; none alone does.
    for (let stop = 0; stop < 3; stop++) {
      await sleep(IDLE_MS / 3);
      socket.resume();
      await sleep(20);
      socket.pause();
    }
    socket.resume();
    expect(await ended).toBe(true);
    socket.destroy();
    expect(dechunked(text.slice(text.indexOf('\r\n\r\n') + 4))).toBe(chunks * CHUNK.length);
    expect(upstream.closed.has('/public/finite')).toBe(true);
  });
});

describe('a caller that stops sending the body of an allowed request', () => {
  /** Sends the head of `POST path` with a Content-Length of `length`, and `first` bytes of the body. */
  async function post(path: string, length: number, first: Buffer): Promise<net.Socket> {
    const socket = net.connect(port, '127.0.0.1');
    // Paused: what the gateway answers, and its end, wait for drain.
    socket.pause();
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
    socket.write(first);
    return socket;
  }

  it('is cut within upstream.idleTimeoutMs, not at listen.requestTimeoutMs, its upstream request aborted', async () => {
    const socket = await post('/upload', 1000, Buffer.alloc(10, 'b'));
    await until('the upstream connection closed', () => upstream.closed.has('/upload'), IDLE_MS * 3);
    const rest = await drain(socket, IDLE_MS);
    expect(rest.ended).toBe(true);
  });

  it('is cut within upstream.idleTimeoutMs when it ends its body after its answer backed up, and reads none of the answer', async () => {
    // The upstream answers at once; the caller reads nothing, so the answer backs up while the body
    // is still open. The body's end must not lift the bound on the answer nobody reads.
    const socket = await post('/upload?answerAtOnce', 20, Buffer.alloc(10, 'b'));
    await sleep(IDLE_MS / 3);
    socket.write(Buffer.alloc(10, 'b'));
    await until('the upstream connection closed', () => upstream.closed.has('/upload?answerAtOnce'), IDLE_MS * 3);
    const rest = await drain(socket, IDLE_MS);
    expect(rest.ended).toBe(true);
  });

  it('is not cut while the upstream reads nothing of the body for longer than the bound', async () => {
    const size = 8 * 1024 * 1024;
    const socket = await post(`/upload?holdMs=${IDLE_MS + 1000}`, size, Buffer.alloc(size, 'c'));
    const rest = await drain(socket, IDLE_MS * 5);
    expect([rest.ended, /\r\n\r\n(\d+)$/.exec(rest.text)?.[1]]).toEqual([true, String(size)]);
  });
});
