// Upgrade requests an allowed caller can make against an upstream that does not switch protocols:
// the upstream's plain answer is relayed and the request settles (no connection held open, one
// outcome event); and upgrades to anything but WebSocket are refused before being forwarded.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, useTestGateway, type TestGateway } from '../support/gateway.js';
import { exchange, jsonOf, responsesOf, sleep } from './support/raw.js';

const websocketHeaders = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** The gateway's requests in flight once none are, or after 10 s (a loaded machine may take a while to finish one; a leak never does). */
async function settled(gw: TestGateway): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (gw.gateway.inFlight() > 0 && Date.now() < deadline) await sleep(20);
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
  beforeAll(() => new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  });
  afterAll(() => gw?.close());

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
