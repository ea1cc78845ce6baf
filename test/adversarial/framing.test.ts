// HTTP framing attacks over raw sockets: request smuggling (duplicate and conflicting lengths,
// Transfer-Encoding tricks), pipelining a forbidden request behind an allowed one, request lines
// that are not origin-form, other HTTP versions, and Host games. Every refusal is checked at the
// upstream too: nothing the gateway refused may have reached it.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf, responsesComplete, responsesOf } from './support/raw.js';

/** A raw request: request line, header lines, blank line, body. */
function raw(line: string, headers: readonly string[], body = ''): string {
  return `${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

describe('request smuggling and framing', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  const ambiguousFraming: readonly [string, readonly string[], string][] = [
    ['two different Content-Length headers', ['Content-Length: 5', 'Content-Length: 6'], 'hello!'],
    ['a Content-Length list', ['Content-Length: 5, 5'], 'hello'],
    ['Transfer-Encoding with Content-Length', ['Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\n'],
    ['an unknown transfer coding', ['Transfer-Encoding: xchunked'], '0\r\n\r\n'],
    ['chunked not last', ['Transfer-Encoding: chunked, identity'], '0\r\n\r\n'],
    ['Transfer-Encoding identity with a length', ['Transfer-Encoding: identity', 'Content-Length: 3'], 'abc'],
    ['two Transfer-Encoding headers', ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '0\r\n\r\n'],
    ['whitespace before the colon', ['Transfer-Encoding : chunked', 'Content-Length: 3'], 'abc'],
    ['an obsolete folded header line', ['X-Pad: a', ' Transfer-Encoding: chunked', 'Content-Length: 3'], 'abc'],
  ];

  it.each(ambiguousFraming)('answers 400 to %s and forwards nothing', async (_name, framing, body) => {
    const before = gw.upstream.arrivals();
    const recorded = gw.audit.events.length;
    const r = await exchange(c.port, raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, ...framing, 'Connection: close'], body));
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toEqual({ error: 'BadRequest', code: 'malformed_request', message: expect.any(String), requestId: expect.any(String) });
    expect(gw.upstream.arrivals()).toBe(before);
    // Never allowed, so never forwarded: a forward begun with such framing sends a body that never ends.
    expect(gw.audit.events.slice(recorded).filter((e) => e.decision === 'Allow' || e.kind === 'outcome')).toEqual([]);
  });

  it('answers a forbidden request and an allowed one pipelined on one connection each on its own', async () => {
    const before = gw.upstream.received.length;
    const r = await exchange(
      c.port,
      raw('GET /admin/users HTTP/1.1', ['Host: x', c.line.alice]) + raw('GET /public/after HTTP/1.1', ['Host: x', c.line.alice]),
      { until: responsesComplete(2) },
    );
    expect(r.statuses).toEqual([403, 200]);
    expect(jsonOf(r.text, 0)).toMatchObject({ reason: 'implicit_deny', action: 'orders:Admin' });
    expect(gw.upstream.received.slice(before).map((x) => x.url)).toEqual(['/public/after']);
  });

  it('never parses a request hidden in the body of a denied one', async () => {
    const before = gw.upstream.received.length;
    const hidden = raw('GET /admin/users HTTP/1.1', ['Host: x', c.line.alice]);
    // A last request that closes the connection: answers come in request order, so once the server
    // has closed, every answer the connection will ever carry is here (no waiting for one that
    // should not come). The hidden bytes are body, not a request: two answers, not three.
    const r = await exchange(
      c.port,
      raw('POST /orders HTTP/1.1', ['Host: x', c.line.bob, `Content-Length: ${hidden.length}`], hidden) + raw('GET /public/sentinel HTTP/1.1', ['Host: x', c.line.alice, 'Connection: close']),
    );
    expect(r.closedByServer).toBe(true);
    expect(r.statuses).toEqual([403, 200]);
    expect(jsonOf(r.text)).toMatchObject({ reason: 'implicit_deny', action: 'orders:CreateOrder' });
    expect(gw.upstream.received.slice(before).map((x) => x.url)).toEqual(['/public/sentinel']);
  });

  it('never forwards a chunked body\'s trailers, which could carry a credential or an identity header past the decision', async () => {
    const before = gw.upstream.received.length;
    // Large enough to be streamed to the upstream chunked rather than read whole first.
    const chunk = 'x'.repeat(300_000);
    const trailers = ['Authorization: Bearer forged', 'X-Iamgate-Principal: arn:aws:iam::111122223333:user/bob', 'X-Iamgate-Mfa: true', 'Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'];
    const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`;
    const r = await exchange(c.port, raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, 'Transfer-Encoding: chunked', 'Trailer: Authorization, X-Iamgate-Principal, X-Iamgate-Mfa, Traceparent', 'Connection: close'], body), { timeoutMs: 10_000 });
    expect(r.statuses).toEqual([200]);
    const received = gw.upstream.received.slice(before);
    expect(received.map((x) => [x.url, x.bodyLength, x.rawTrailers])).toEqual([['/upload', chunk.length, []]]);
    expect(received[0]!.headers['trailer']).toBeUndefined();
    expect(received[0]!.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  });

  /** Requests dropped unanswered behind an answer that closed their connection. */
  async function unserved(): Promise<number> {
    const counted = await gw.gateway.metrics.requests.get();
    return counted.values.find((v) => v.labels.outcome === 'pipelined_after_close')?.value ?? 0;
  }

  const refusedWithBody: readonly [string, string][] = [
    ['a proxied request', raw('POST /orders HTTP/1.1', ['Host: x', 'Content-Length: 5'], 'hello')],
    ['a forward-auth call', raw('POST /.iamgate/authz HTTP/1.1', ['Host: x', 'X-Original-Method: GET', 'X-Original-URI: /public/readme', 'Content-Length: 5'], 'hello')],
  ];
  const allowedBehind = ['a proxied request', 'a forward-auth call', 'an Envoy ext_authz HTTP check', 'a WebSocket upgrade', 'a CONNECT'] as const;
  const allowedText = (alice: string): Readonly<Record<(typeof allowedBehind)[number], string>> => ({
    'a proxied request': raw('POST /upload HTTP/1.1', ['Host: x', alice, 'Content-Length: 3'], 'abc'),
    'a forward-auth call': raw('POST /.iamgate/authz HTTP/1.1', ['Host: x', alice, 'X-Original-Method: GET', 'X-Original-URI: /public/readme', 'Content-Length: 3'], 'abc'),
    'an Envoy ext_authz HTTP check': raw('GET /.iamgate/authz/public/readme HTTP/1.1', ['Host: x', alice]),
    'a WebSocket upgrade': raw('GET /ws HTTP/1.1', ['Host: x', alice, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']),
    // Refused wherever it stands, with a record of its own: behind such an answer, not even that.
    'a CONNECT': raw('CONNECT 127.0.0.1:22 HTTP/1.1', ['Host: 127.0.0.1:22', alice]),
  });

  it.each(refusedWithBody.flatMap(([first, refused]) => allowedBehind.map((second) => [first, second, refused] as const)))(
    'forwards, decides and records nothing pipelined behind %s refused with its body unread (%s behind it), and answers only the refusal',
    async (_first, second, refused) => {
      const allowed = allowedText(c.line.alice)[second];
      const before = gw.upstream.arrivals();
      const recorded = gw.audit.events.length;
      const dropped = await unserved();
      // The refusal is decided before its body is read, so the connection closes after it: the
      // allowed request behind it, in the same packet, must not reach the upstream unanswered.
      const r = await exchange(c.port, refused + allowed, { timeoutMs: 5000 });
      expect(r.statuses).toEqual([401]);
      expect(r.closedByServer).toBe(true);
      // Once the connection has closed, every request it carried has ended (forwarded or not).
      expect(gw.gateway.inFlight()).toBe(0);
      expect(gw.upstream.arrivals()).toBe(before);
      // The request behind it was dropped, and counted, before the connection closed: counted, it
      // was never decided, so no record of it can come late. The refusal's is the only record.
      expect(await unserved()).toBe(dropped + 1);
      const answer = jsonOf(r.text) as { requestId: string };
      expect(gw.audit.events.slice(recorded)).toEqual([expect.objectContaining({ requestId: answer.requestId, decision: 'Deny', reason: 'token_missing' })]);
    },
  );

  it('counts nothing in flight for a request pipelined behind a refused Expect: 100-continue, whose answer closes the connection', async () => {
    const before = gw.upstream.arrivals();
    const recorded = gw.audit.events.length;
    // The refusal is a final answer where a 100 Continue was awaited, so node:http closes the
    // connection after it: the request behind it, parsed already, is never answered.
    const r = await exchange(
      c.port,
      raw('POST /orders HTTP/1.1', ['Host: x', c.line.bob, 'Expect: 100-continue', 'Content-Length: 5'], 'hello') + raw('GET /public/readme HTTP/1.1', ['Host: x', c.line.alice]),
      { timeoutMs: 5000 },
    );
    expect(r.statuses).toEqual([403]);
    expect(r.closedByServer).toBe(true);
    // Once the connection has closed nothing on it is in flight, so a shutdown need not wait for it.
    expect(gw.gateway.inFlight()).toBe(0);
    expect(gw.upstream.arrivals()).toBe(before);
    const answer = jsonOf(r.text) as { requestId: string };
    expect(gw.audit.events.slice(recorded)).toEqual([expect.objectContaining({ requestId: answer.requestId, decision: 'Deny' })]);
  });

  it('answers a denied upload before its body arrives, and closes the connection', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw('POST /orders HTTP/1.1', ['Host: x', c.line.bob, 'Content-Length: 50000000'], 'x'.repeat(10)), { timeoutMs: 2000 });
    expect(r.statuses).toEqual([403]);
    expect(r.closedByServer).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('forwards a chunked body that contains a request line as one body, not two requests', async () => {
    const before = gw.upstream.received.length;
    const inner = raw('GET /admin/users HTTP/1.1', ['Host: x']);
    const chunked = `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    const r = await exchange(c.port, raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, 'Transfer-Encoding: chunked', 'Connection: close'], chunked));
    expect(r.statuses).toEqual([200]);
    const seen = gw.upstream.received.slice(before);
    expect(seen.map((x) => [x.method, x.url, x.bodyLength])).toEqual([['POST', '/upload', inner.length]]);
  });

  it.each([
    ['a bare LF', '\n'],
    ['a bare CR', '\r'],
  ])('answers 400 to header lines ended by %s and forwards nothing', async (_name, eol) => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, ['GET /public/readme HTTP/1.1', 'Host: x', c.line.alice, 'Connection: close', '', ''].join(eol));
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ code: 'malformed_request' });
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('forwards a chunked body with chunk extensions as its data alone', async () => {
    const before = gw.upstream.received.length;
    const r = await exchange(c.port, raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, 'Transfer-Encoding: chunked', 'Connection: close'], '3;name=value\r\nabc\r\n2;x\r\nde\r\n0;last=1\r\n\r\n'));
    expect(r.statuses).toEqual([200]);
    expect(gw.upstream.received.slice(before).map((x) => [x.method, x.url, x.bodyLength, x.bodySha256])).toEqual([['POST', '/upload', 5, createHash('sha256').update('abcde').digest('hex')]]);
  });

  it.each([
    ['a chunk extension whose quoted value holds a line break', `5;x="\r\n${raw('DELETE /orders/1 HTTP/1.1', ['Host: x'])}"\r\nhello\r\n0\r\n\r\n`],
    ['chunk lines ended by a bare LF', `5\nhello\n0\n\n${raw('DELETE /orders/1 HTTP/1.1', ['Host: x'])}`],
  ])('never lets %s carry a request to the upstream', async (_name, body) => {
    const [arrived, received] = [gw.upstream.arrivals(), gw.upstream.received.length];
    const r = await exchange(c.port, raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, 'Transfer-Encoding: chunked'], body), { timeoutMs: 10_000 });
    // node:http cannot read the body: the request, already allowed, is cut at the refusal deadline.
    expect([r.closedByServer, r.timedOut]).toEqual([true, false]);
    expect(r.statuses).not.toContain(200);
    // At most the allowed POST's head, whose body never ends; never a second request.
    expect(gw.upstream.arrivals() - arrived).toBeLessThanOrEqual(1);
    expect(gw.upstream.received.slice(received)).toEqual([]);
  });

  it.each(['Content-Length', 'Transfer-Encoding'])('forwards a GET body framed by %s that holds a request line as that GET’s body', async (framing) => {
    const before = gw.upstream.received.length;
    const inner = raw('DELETE /orders/1 HTTP/1.1', ['Host: x']);
    const [line, body] = framing === 'Content-Length' ? [`Content-Length: ${inner.length}`, inner] : ['Transfer-Encoding: chunked', `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`];
    const r = await exchange(c.port, raw('GET /public/readme HTTP/1.1', ['Host: x', c.line.alice, line, 'Connection: close'], body));
    expect(r.statuses).toEqual([200]);
    const seen = gw.upstream.received.slice(before);
    expect(seen.map((x) => [x.method, x.url, x.bodyLength, x.headers['content-length'], x.headers['transfer-encoding']])).toEqual([['GET', '/public/readme', inner.length, String(inner.length), undefined]]);
  });

  it('keeps a Content-Length body whole when the caller names Content-Length as hop-by-hop', async () => {
    const before = gw.upstream.received.length;
    const body = raw('GET /admin/users HTTP/1.1', ['Host: x']);
    const r = await exchange(
      c.port,
      raw('POST /upload HTTP/1.1', ['Host: x', c.line.alice, `Content-Length: ${body.length}`, 'Connection: content-length'], body) + raw('GET /public/next HTTP/1.1', ['Host: x', c.line.alice, 'Connection: close']),
    );
    expect(r.statuses).toEqual([200, 200]);
    // The two requests travel to the upstream over a pool of connections, so the order in which
    // they arrive there is not promised: what is pinned is that exactly these two arrived.
    const arrived = gw.upstream.received.slice(before).map((x) => `${x.method} ${x.url} ${x.bodyLength}`);
    expect(arrived.sort()).toEqual(['GET /public/next 0', `POST /upload ${body.length}`]);
  });
});

describe('request lines and versions', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  it.each([
    ['an absolute-form target to another host', 'http://evil.example/admin/users'],
    ['an absolute-form target to an allowed path', 'http://127.0.0.1/public/readme'],
    ['an https absolute-form target', 'https://127.0.0.1/public/readme'],
  ])('refuses %s as not_origin_form', async (_name, target) => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw(`GET ${target} HTTP/1.1`, ['Host: x', c.line.alice, 'Connection: close']));
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ error: 'BadRequest', code: 'bad_path', reason: 'not_origin_form' });
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it.each([
    ['a lower-case method', 'get /public/readme HTTP/1.1'],
    ['a target without a leading slash', 'GET evil.example/public/readme HTTP/1.1'],
    ['an unknown HTTP version', 'GET /public/readme HTTP/1.2'],
    ['a tab inside the target', 'GET /public/a\tb HTTP/1.1'],
  ])('answers 400 to %s without forwarding it', async (_name, line) => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw(line, ['Host: x', c.line.alice, 'Connection: close']));
    expect(r.statuses).toEqual([400]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('answers 400 to raw bytes outside ASCII in the target (an overlong "/" included)', async () => {
    const before = gw.upstream.arrivals();
    for (const bytes of ['/public/\xc0\xaf../admin/users', '/public/..\xef\xbc\x8fadmin/users']) {
      const r = await exchange(c.port, Buffer.from(raw(`GET ${bytes} HTTP/1.1`, ['Host: x', c.line.alice, 'Connection: close']), 'latin1'));
      expect(r.statuses).toEqual([400]);
    }
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it.each(['200-ok', 'x', '100-continu'])('answers Expect: %s with 417 expectation_failed and one audit record, forwarding nothing', async (expectation) => {
    const before = gw.upstream.arrivals();
    const recorded = gw.audit.events.length;
    const r = await exchange(c.port, raw('POST /public/upload HTTP/1.1', ['Host: x', c.line.alice, `Expect: ${expectation}`, 'Content-Length: 5', 'Connection: close'], 'hello'));
    expect(r.statuses).toEqual([417]);
    const body = jsonOf(r.text) as { requestId: string };
    expect(body).toEqual({ error: 'ExpectationFailed', code: 'expectation_failed', message: expect.any(String), requestId: expect.any(String) });
    expect(gw.audit.events.slice(recorded)).toEqual([expect.objectContaining({ requestId: body.requestId, decision: 'Deny', reason: 'expectation_failed' })]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('never tunnels CONNECT', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw('CONNECT 127.0.0.1:22 HTTP/1.1', ['Host: 127.0.0.1:22', c.line.alice]), { timeoutMs: 1500 });
    expect(r.statuses.filter((s) => s < 400)).toEqual([]);
    expect(r.timedOut).toBe(false);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('answers CONNECT with one JSON refusal and one Deny record, then closes the connection', async () => {
    const before = gw.upstream.arrivals();
    const recorded = gw.audit.events.length;
    const r = await exchange(c.port, raw('CONNECT 127.0.0.1:22 HTTP/1.1', ['Host: 127.0.0.1:22', c.line.alice]));
    expect(r.statuses).toEqual([400]);
    expect(r.timedOut).toBe(false);
    const body = jsonOf(r.text) as { requestId: string };
    expect(body).toEqual({ error: 'BadRequest', code: 'unsupported_method', message: expect.any(String), requestId: expect.any(String) });
    expect(gw.audit.events.slice(recorded)).toEqual([expect.objectContaining({ requestId: body.requestId, decision: 'Deny', reason: 'unsupported_method' })]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('answers a refused request followed by bytes that are not HTTP with the refusal it recorded, then closes', async () => {
    const recorded = gw.audit.events.length;
    const r = await exchange(c.port, raw('GET /orders/1 HTTP/1.1', ['Host: 127.0.0.1', 'Host: other.example']) + '{}');
    expect(r.timedOut).toBe(false);
    expect(r.statuses).toEqual([400]);
    const body = jsonOf(r.text) as { requestId: string; code: string };
    expect(gw.audit.events.slice(recorded)).toEqual([expect.objectContaining({ requestId: body.requestId, decision: 'Deny', reason: body.code })]);
  });

  it('answers OPTIONS * with 400 without forwarding it', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw('OPTIONS * HTTP/1.1', ['Host: x', c.line.alice, 'Connection: close']));
    expect(r.statuses).toEqual([400]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('authorises HTTP/1.0 requests like any other', async () => {
    const before = gw.upstream.received.length;
    const allowed = await exchange(c.port, raw('GET /public/readme HTTP/1.0', ['Host: x', c.line.alice]));
    const denied = await exchange(c.port, raw('GET /admin/users HTTP/1.0', ['Host: x', c.line.alice]));
    const anonymous = await exchange(c.port, raw('GET /public/readme HTTP/1.0', ['Host: x']));
    const hostless = await exchange(c.port, raw('GET /public/readme HTTP/1.0', [c.line.alice]));
    expect([allowed.statuses, denied.statuses, anonymous.statuses, hostless.statuses]).toEqual([[200], [403], [401], [400]]);
    expect(jsonOf(anonymous.text)).toMatchObject({ code: 'token_missing' });
    expect(gw.upstream.received.slice(before).map((x) => x.url)).toEqual(['/public/readme']);
  });

  it('authorises a request line without a version like any other', async () => {
    const before = gw.upstream.received.length;
    const allowed = await exchange(c.port, raw('GET /public/readme', ['Host: x', c.line.alice, 'Connection: close']));
    const denied = await exchange(c.port, raw('GET /admin/users', ['Host: x', c.line.alice, 'Connection: close']));
    expect([allowed.statuses, denied.statuses]).toEqual([[200], [403]]);
    expect(gw.upstream.received.slice(before).map((x) => x.url)).toEqual(['/public/readme']);
  });

  it('refuses an HTTP/1.1 request without Host', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, raw('GET /public/readme HTTP/1.1', [c.line.alice, 'Connection: close']));
    expect(r.statuses).toEqual([400]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('decides the same whatever Host names, and forwards the Host as authorised', async () => {
    const before = gw.upstream.received.length;
    const denied = await exchange(c.port, raw('GET /admin/users HTTP/1.1', ['Host: admin.internal', c.line.alice, 'Connection: close']));
    expect(denied.statuses).toEqual([403]);
    const allowed = await exchange(c.port, raw('GET /public/readme HTTP/1.1', ['Host: admin.internal:8080', c.line.alice, 'Connection: close']));
    expect(allowed.statuses).toEqual([200]);
    const seen = gw.upstream.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/public/readme');
    expect(seen[0]!.headers['x-forwarded-host']).toBe('admin.internal:8080');
  });

  it('answers every response on a keep-alive connection with its own request id', async () => {
    const r = await exchange(
      c.port,
      raw('GET /public/a HTTP/1.1', ['Host: x', c.line.alice]) + raw('GET /admin/b HTTP/1.1', ['Host: x', c.line.alice]) + raw('GET /public/c HTTP/1.1', ['Host: x']),
      { until: responsesComplete(3) },
    );
    const responses = responsesOf(r.text);
    expect(responses.map((x) => x.status)).toEqual([200, 403, 401]);
    const ids = responses.map((x) => /\r\nx-iamgate-request-id: ([^\r]+)/i.exec(x.head)?.[1]);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(gw.audit.decisionsFor(id!)).toHaveLength(1);
  });
});
