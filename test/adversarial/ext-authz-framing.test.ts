// A check describes a request Envoy is about to forward. Whatever the HTTP gateway refuses for its
// framing (an upgrade to another protocol than WebSocket, an expectation other than 100-continue,
// a body length told two ways), a check must refuse too, with the same status and code and one
// audit record: never an OK that sends the upstream a request iamgate would not forward itself.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from '../extauthz/check.js';

/** Status and body code of a GET sent byte for byte with these header lines (repeated names kept apart). */
function rawGet(base: string, lines: readonly (readonly [string, string])[]): Promise<{ status: number; code: unknown }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    // The whole answer is in once its body is as long as its Content-Length (the connection may stay open).
    socket.on('data', () => {
      const start = text.indexOf('\r\n\r\n') + 4;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text)?.[1];
      if (start < 4 || length === undefined || Buffer.byteLength(text.slice(start), 'latin1') < Number(length)) return;
      socket.destroy();
      resolve({ status: Number(text.slice(9, 12)), code: (JSON.parse(text.slice(start)) as { code?: unknown }).code });
    });
    let head = 'GET /orders/12 HTTP/1.1\r\nhost: orders.example\r\n';
    for (const [name, value] of lines) head += `${name}: ${value}\r\n`;
    socket.write(`${head}\r\n`);
  });
}

/** The plain header map Envoy sends: repeated names joined by commas. */
function headerMap(lines: readonly (readonly [string, string])[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of lines) out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  return out;
}

describe('ext_authz checks of requests the HTTP gateway refuses for their framing', () => {
  const { gw, client } = useExtAuthzGateway();

  const framings: readonly [string, readonly (readonly [string, string])[]][] = [
    ['an upgrade to h2c', [['connection', 'Upgrade, HTTP2-Settings'], ['upgrade', 'h2c'], ['http2-settings', 'AAMAAABkAAQAAP__']]],
    ['an upgrade naming websocket beside another protocol', [['connection', 'upgrade'], ['upgrade', 'websocket, h2c']]],
    ['a WebSocket upgrade without a Sec-WebSocket-Key', [['connection', 'upgrade'], ['upgrade', 'websocket']]],
    ['a WebSocket upgrade whose key is not 16 bytes', [['connection', 'upgrade'], ['upgrade', 'websocket'], ['sec-websocket-key', 'c2hvcnQ=']]],
    ['an expectation other than 100-continue', [['expect', 'fancy']]],
    ['Content-Length beside Transfer-Encoding', [['content-length', '5'], ['transfer-encoding', 'chunked']]],
    ['two different Content-Lengths', [['content-length', '5'], ['content-length', '6']]],
    ['a Content-Length that is not a number', [['content-length', '5x']]],
  ];

  it.each(framings)('denies %s as the HTTP gateway does, with one audit record', async (_what, lines) => {
    const authorization = await gw.bearer('alice');
    const all = [['authorization', authorization] as const, ...lines];
    const viaHttp = await rawGet(gw.url, all);
    const answer = await client().check(checkOf({ headers: headerMap(all) }));
    expect(viaHttp.status).toBeGreaterThanOrEqual(400);
    expect(answer.ok_response).toBeUndefined();
    expect(answer.denied_response?.status?.code).toBe(viaHttp.status);
    expect(body(answer)['code']).toBe(viaHttp.code);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: viaHttp.status })]);
  });

  it('denies a WebSocket upgrade described on POST to a path alice may POST to, as the HTTP gateway refuses it, with one audit record', async () => {
    const authorization = await gw.bearer('alice');
    const headers = { authorization, connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    expect((await client().check(checkOf({ method: 'POST', path: '/orders', headers: { authorization } }))).ok_response).toBeDefined();
    const answer = await client().check(checkOf({ method: 'POST', path: '/orders', headers }));
    expect([answer.ok_response, answer.denied_response?.status?.code, body(answer)['code']]).toEqual([undefined, 400, 'unsupported_upgrade']);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400 })]);
  });

  it('denies a WebSocket handshake Envoy received in HTTP/1.0, key and all, as the HTTP gateway refuses it, with one audit record', async () => {
    const authorization = await gw.bearer('alice');
    const headers = { authorization, connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    expect((await client().check(checkOf({ protocol: 'HTTP/1.1', headers }))).ok_response).toBeDefined();
    const answer = await client().check(checkOf({ protocol: 'HTTP/1.0', headers }));
    expect([answer.ok_response, answer.denied_response?.status?.code, body(answer)['code']]).toEqual([undefined, 400, 'unsupported_upgrade']);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400 })]);
  });

  // Over HTTP/2 and HTTP/3 a WebSocket opens by an extended CONNECT (RFC 8441, RFC 9220), which has
  // no Sec-WebSocket-Key; Envoy's codec hands its filters such a request as a GET with Upgrade.
  it.each(['HTTP/2', 'HTTP/3'])('allows a WebSocket upgrade Envoy received over %s, which carries no Sec-WebSocket-Key, with one audit record', async (protocol) => {
    const authorization = await gw.bearer('alice');
    const answer = await client().check(checkOf({ protocol, headers: { authorization, connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' } }));
    expect(answer.ok_response).toBeDefined();
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Allow' })]);
  });

  it.each([
    ['received over HTTP/1.1 without a Sec-WebSocket-Key', 'HTTP/1.1', 'GET', { upgrade: 'websocket' }],
    ['received over an unnamed protocol without a Sec-WebSocket-Key', '', 'GET', { upgrade: 'websocket' }],
    ['received over HTTP/2 naming another protocol', 'HTTP/2', 'GET', { upgrade: 'h2c' }],
    ['received over HTTP/2 on POST', 'HTTP/2', 'POST', { upgrade: 'websocket' }],
  ])('still denies an upgrade %s, 400 unsupported_upgrade', async (_what, protocol, method, upgrade) => {
    const authorization = await gw.bearer('alice');
    const answer = await client().check(checkOf({ protocol, method, path: '/orders', headers: { authorization, connection: 'upgrade', ...upgrade } }));
    expect([answer.ok_response, answer.denied_response?.status?.code, body(answer)['code']]).toEqual([undefined, 400, 'unsupported_upgrade']);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toHaveLength(1);
  });

  it('still allows a WebSocket upgrade, 100-continue and one Content-Length, as the HTTP gateway does', async () => {
    const authorization = await gw.bearer('alice');
    for (const extra of [{ connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }, { expect: '100-continue', 'content-length': '5' }, { 'transfer-encoding': 'chunked' }]) {
      const answer = await client().check(checkOf({ headers: { authorization, ...extra } }));
      expect(answer.ok_response, JSON.stringify(extra)).toBeDefined();
    }
  });
});
