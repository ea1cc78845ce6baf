// Upgrade requests an allowed caller can make against an upstream that does not switch protocols:
// the upstream's plain answer is relayed and the request settles (no connection held open, one
// outcome event); upgrades to anything but WebSocket, and WebSocket upgrades that are no opening
// handshake, are refused before being forwarded; and a 101 that is no WebSocket handshake's answer
// opens no tunnel, so the caller's later bytes never reach an upstream still reading HTTP.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, useTestGateway, type TestGateway } from '../support/gateway.js';
import { useStarted } from '../support/suite.js';
import { holdsWithin } from '../support/until.js';
import { exchange, jsonOf, responsesOf } from './support/raw.js';

const CALLER_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const websocketHeaders = `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${CALLER_KEY}\r\n`;

/** Listens `upstream` (a raw server of the suite's own) on a loopback port, with a test gateway in front of it, for the suite. */
function useGatewayBefore(upstream: net.Server): TestGateway {
  beforeAll(() => new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  return useStarted('the test gateway', () => startTestGateway({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }), (gw) => gw.close());
}

/** The Sec-WebSocket-Accept that answers `key` (RFC 6455 §4.2.2). */
const acceptFor = (key: string): string => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** The gateway's requests in flight once none are, or after 10 s (a loaded machine may take a while to finish one; a leak never does). */
async function settled(gw: TestGateway): Promise<number> {
  await holdsWithin(() => gw.gateway.inFlight() === 0, 10_000);
  return gw.gateway.inFlight();
}

describe('an upgrade request to an upstream that answers without switching protocols', () => {
  let plain: http.Server;
  let gw: TestGateway;

  beforeAll(async () => {
    // A REST service: no upgrade handling, a plain answer to everything.
    plain = http.createServer((req, res) => {
      if (req.url === '/orders/2') res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required');
      else res.writeHead(200, { 'content-type': 'text/plain', 'x-service': 'orders' }).end('ok');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    gw = await startTestGateway({ upstreamUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`, config: { audit: { outcomes: 'all' } } });
  });

  afterAll(async () => {
    await gw?.close();
    plain?.closeAllConnections();
    plain?.close();
  });

  it('relays the upstream’s answer, closes the connection and records the outcome', async () => {
    const port = Number(new URL(gw.url).port);
    const r = await exchange(port, `GET /orders/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}\r\n`, { timeoutMs: 5000 });
    expect(r.timedOut).toBe(false);
    expect(r.statuses).toEqual([200]);
    const [response] = responsesOf(r.text);
    expect(response!.body).toBe('ok');
    expect(response!.head).toMatch(/\r\nx-service: orders/i);
    const requestId = /\r\nx-iamgate-request-id: ([^\r]+)/i.exec(response!.head)?.[1];
    expect(requestId).toBeDefined();
    expect(await settled(gw)).toBe(0);
    const outcome = gw.audit.events.find((e) => e.kind === 'outcome' && e.requestId === requestId);
    expect(outcome).toMatchObject({ status: 200 });
  });

  it('relays a refusal status and body as the upstream sent them', async () => {
    const port = Number(new URL(gw.url).port);
    const r = await exchange(port, `GET /orders/2 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}\r\n`, { timeoutMs: 5000 });
    expect(r.timedOut).toBe(false);
    expect(r.statuses).toEqual([426]);
    expect(responsesOf(r.text)[0]!.body).toBe('upgrade required');
    expect(await settled(gw)).toBe(0);
  });
});

describe('upgrades to other protocols', () => {
  const gw = useTestGateway();

  it('refuses Upgrade: h2c with 400 without reaching the upstream', async () => {
    const port = Number(new URL(gw.url).port);
    const before = gw.upstream.arrivals();
    const r = await exchange(port, `GET /orders/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`);
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ error: 'BadRequest', code: 'unsupported_upgrade' });
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('refuses two Upgrade headers, even when one names websocket', async () => {
    const port = Number(new URL(gw.url).port);
    const r = await exchange(port, `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}Upgrade: h2c\r\n\r\n`);
    expect(r.statuses).toEqual([400]);
  });
});

describe('an upgrade request the upstream answers with 204 and a Content-Length', () => {
  // A raw upstream: a 204 naming a length (and bytes after it that would be a body), which RFC 9110
  // §8.6 forbids and node:http would not let a test server write.
  const upstream = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 9\r\nETag: "v3"\r\n\r\nsmuggled!'));
  });
  const gw = useGatewayBefore(upstream);

  it('reaches the caller as a 204 whose head names no length and which carries no body, then the connection closes; one record', async () => {
    const port = Number(new URL(gw.url).port);
    const r = await exchange(port, `GET /orders/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}\r\n`, { timeoutMs: 5000 });
    expect([r.timedOut, r.closedByServer, r.statuses]).toEqual([false, true, [204]]);
    const headEnd = r.text.indexOf('\r\n\r\n');
    const head = r.text.slice(0, headEnd).split('\r\n').slice(1);
    expect(head.filter((line) => /^(content-length|transfer-encoding):/i.test(line))).toEqual([]);
    expect(head).toContain('ETag: "v3"');
    expect(r.text.slice(headEnd + 4)).toBe('');
    const requestId = /\r\nx-iamgate-request-id: ([^\r]+)/i.exec(r.text)?.[1];
    expect(gw.audit.decisionsFor(requestId ?? '')).toHaveLength(1);
    expect(await settled(gw)).toBe(0);
  });
});

describe('WebSocket upgrades that are no opening handshake', () => {
  const gw = useTestGateway();

  it.each([
    ['on POST, a method alice may use on /orders', 'POST /orders', websocketHeaders],
    ['on PUT, a method alice may use on /orders/1', 'PUT /orders/1', websocketHeaders],
    ['without a Sec-WebSocket-Key', 'GET /ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n'],
    ['with two Sec-WebSocket-Keys', 'GET /ws', `${websocketHeaders}Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n`],
    ['with a key that is not 16 bytes in base64', 'GET /ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n'],
  ])('refuses one %s with 400 unsupported_upgrade and one record, forwarding nothing', async (_what, line, headers) => {
    const port = Number(new URL(gw.url).port);
    const before = gw.upstream.arrivals();
    const r = await exchange(port, `${line} HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${headers}\r\n`);
    expect(r.statuses).toEqual([400]);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ error: 'BadRequest', code: 'unsupported_upgrade' });
    expect(gw.audit.decisionsFor(String(body['requestId']))).toHaveLength(1);
    expect(gw.upstream.arrivals()).toBe(before);
  });
});

describe('an upstream whose 101 is no answer to a WebSocket handshake', () => {
  /** What the upstream received on one connection, and whether that connection has closed. */
  interface Heard {
    text: string;
    closed: boolean;
  }
  const heard: Heard[] = [];
  /** The 101 the upstream answers with, given the Sec-WebSocket-Key it received. */
  let answer: (key: string) => string = () => '';
  // A raw upstream that answers 101 and goes on reading what follows, as a server that wrote a 101
  // without switching (a status or header it echoes from the request) would: as HTTP.
  const upstream = net.createServer((socket) => {
    const conn: Heard = { text: '', closed: false };
    heard.push(conn);
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('close', () => (conn.closed = true));
    socket.on('data', (d: string) => {
      const first = !conn.text.includes('\r\n\r\n');
      conn.text += d;
      if (first && conn.text.includes('\r\n\r\n')) socket.write(answer(/\r\nsec-websocket-key: *([^\r]*)/i.exec(conn.text)?.[1] ?? ''));
    });
  });
  const gw = useGatewayBefore(upstream);

  const smuggled = 'DELETE /orders/1 HTTP/1.1\r\nHost: x\r\n\r\n';

  /**
   * Sends alice's upgrade of /ws with a forbidden request behind it, until its answer's head is in;
   * returns the exchange and what the upstream heard by the time its connection closed (cut by
   * iamgate, or ending with the caller's) or `enough` holds.
   */
  async function upgradeWithSmuggled(enough: (conn: Heard) => boolean = () => false): Promise<{ r: Awaited<ReturnType<typeof exchange>>; conn: Heard }> {
    const port = Number(new URL(gw.url).port);
    const count = heard.length;
    const r = await exchange(port, `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}\r\n${smuggled}`, {
      until: (text) => text.startsWith('HTTP/1.1 101 ') && text.includes('\r\n\r\n'),
      timeoutMs: 5000,
    });
    await holdsWithin(() => heard.length > count && (heard[count]!.closed || enough(heard[count]!)), 5000);
    return { r, conn: heard[count]! };
  }

  it.each([
    ['names another protocol', () => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'],
    ['carries no Sec-WebSocket-Accept', () => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['accepts another key', () => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor('AAAAAAAAAAAAAAAAAAAAAA==')}\r\n\r\n`],
    // A server that echoes a status and headers the caller chose can answer the caller's own key.
    ['accepts the key the caller chose', () => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(CALLER_KEY)}\r\n\r\n`],
  ])('answers 502 to a 101 that %s, and the request the caller sent behind its upgrade never reaches the upstream', async (_what, respond) => {
    answer = respond;
    const { r, conn } = await upgradeWithSmuggled();
    expect([r.statuses, r.closedByServer]).toEqual([[502], true]);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ error: 'BadGateway', code: 'upstream_unavailable' });
    expect(gw.audit.decisionsFor(String(body['requestId']))).toHaveLength(1);
    expect(gw.audit.events.filter((e) => e.kind === 'outcome' && e.requestId === body['requestId'])).toEqual([expect.objectContaining({ reason: 'upstream_unavailable', status: 502 })]);
    expect(conn.closed).toBe(true);
    expect(conn.text).not.toContain('DELETE');
  });

  it('refuses a handshake sent in HTTP/1.0 with 400 unsupported_upgrade and one record, closes the connection, and the upstream hears nothing', async () => {
    answer = (key) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
    const port = Number(new URL(gw.url).port);
    const count = heard.length;
    const r = await exchange(port, `GET /ws HTTP/1.0\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${websocketHeaders}\r\n`, { timeoutMs: 5000 });
    expect([r.statuses, r.closedByServer]).toEqual([[400], true]);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ error: 'BadRequest', code: 'unsupported_upgrade' });
    expect(gw.audit.events.filter((e) => e.requestId === body['requestId'])).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'unsupported_upgrade', status: 400 })]);
    expect(heard.length).toBe(count);
  });

  it('tunnels a genuine handshake: the upstream hears a key of iamgate’s choosing, and the caller the accept for its own', async () => {
    answer = (key) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
    const { r, conn } = await upgradeWithSmuggled((c) => c.text.endsWith(smuggled));
    expect(r.statuses).toEqual([101]);
    expect(r.text).toContain(`\r\nSec-WebSocket-Accept: ${acceptFor(CALLER_KEY)}\r\n`);
    const upstreamKey = /\r\nsec-websocket-key: *([^\r]*)/i.exec(conn.text)?.[1];
    expect(upstreamKey).toMatch(/^[A-Za-z0-9+/]{21}[AQgw]==$/);
    expect(upstreamKey).not.toBe(CALLER_KEY);
    // What the caller sends after its handshake is the tunnel's: it passes once the upstream has switched.
    expect(conn.text.endsWith(`\r\n\r\n${smuggled}`)).toBe(true);
  });
});
