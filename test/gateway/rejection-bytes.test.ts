// The bytes of iamgate's own rejections on the wire: the status line, every header in its order,
// and the JSON body, for a 401, a 403 and a rejection sent before the caller's body was read
// (which closes the connection). Written from precomputed parts, they must stay these bytes.
import { describe, expect, it } from 'vitest';
import { exchange, responsesComplete, responsesOf } from '../adversarial/support/raw.js';
import { useTestGateway } from '../support/gateway.js';

/** The response's lines with the Date header's value and the request id replaced by placeholders. */
function shapeOf(head: string, body: string): { lines: string[]; body: string } {
  const id = /\r\nx-iamgate-request-id: ([^\r]+)/.exec(head)?.[1];
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const lines = head.split('\r\n').map((l) => l.replace(/^Date: .+ GMT$/, 'Date: <date>').replace(id!, '<id>'));
  return { lines, body: body.replace(id!, '<id>') };
}

function expectedLength(body: string): string {
  return String(Buffer.byteLength(body.replace('<id>', '00000000-0000-0000-0000-000000000000')));
}

describe('rejections on the wire', () => {
  const gw = useTestGateway();

  it('answer a missing token and a deny with these status lines, headers and bodies, on a connection kept open', async () => {
    const port = Number(new URL(gw.url).port);
    const alice = await gw.bearer('alice');
    const res = await exchange(port, `GET /orders/1 HTTP/1.1\r\nHost: a\r\n\r\nDELETE /orders/7 HTTP/1.1\r\nHost: a\r\nAuthorization: ${alice}\r\n\r\n`, { until: responsesComplete(2) });
    expect(res.closedByServer).toBe(false);
    const [unauthenticated, denied] = responsesOf(res.text).map((r) => shapeOf(r.head, r.body));
    const body401 = '{"error":"Unauthorized","code":"token_missing","message":"A bearer token is required","requestId":"<id>"}';
    expect(unauthenticated).toEqual({
      lines: [
        'HTTP/1.1 401 Unauthorized',
        'www-authenticate: Bearer realm="iamgate"',
        'content-type: application/json',
        `content-length: ${expectedLength(body401)}`,
        'cache-control: no-store',
        'x-iamgate-request-id: <id>',
        'Date: <date>',
        'Connection: keep-alive',
        'Keep-Alive: timeout=5',
      ],
      body: body401,
    });
    const body403 =
      '{"error":"AccessDenied","code":"implicit_deny","message":"Access denied","requestId":"<id>","reason":"implicit_deny","action":"orders:DeleteOrder","resource":"arn:aws:orders:us-east-1:111122223333:order/7"}';
    expect(denied).toEqual({
      lines: [
        'HTTP/1.1 403 Forbidden',
        'content-type: application/json',
        `content-length: ${expectedLength(body403)}`,
        'cache-control: no-store',
        'x-iamgate-request-id: <id>',
        'Date: <date>',
        'Connection: keep-alive',
        'Keep-Alive: timeout=5',
      ],
      body: body403,
    });
  });

  it('answer rejected requests pipelined in one write in order, each with one record, keeping the connection whether a request has no body line or an empty body', async () => {
    const port = Number(new URL(gw.url).port);
    const alice = await gw.bearer('alice');
    const before = gw.audit.events.length;
    const res = await exchange(
      port,
      'GET /orders/1 HTTP/1.1\r\nHost: a\r\n\r\n' +
        `DELETE /orders/7 HTTP/1.1\r\nHost: a\r\nAuthorization: ${alice}\r\n\r\n` +
        'POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n' +
        'GET /orders/2 HTTP/1.1\r\nHost: a\r\n\r\n',
      { until: responsesComplete(4) },
    );
    expect(res.closedByServer).toBe(false);
    const answers = responsesOf(res.text);
    expect(answers.map((r) => r.head.slice(0, r.head.indexOf('\r\n')))).toEqual(['HTTP/1.1 401 Unauthorized', 'HTTP/1.1 403 Forbidden', 'HTTP/1.1 401 Unauthorized', 'HTTP/1.1 401 Unauthorized']);
    expect(answers.every((r) => r.head.includes('\r\nConnection: keep-alive'))).toBe(true);
    const ids = answers.map((r) => /\r\nx-iamgate-request-id: ([^\r]+)/.exec(r.head)?.[1]);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(gw.audit.decisionsFor(id!)).toHaveLength(1);
    expect(gw.audit.events.length - before).toBe(4);
  });

  it("close the connection after a rejection sent before the caller's body was read", async () => {
    const port = Number(new URL(gw.url).port);
    const res = await exchange(port, 'POST /orders HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"partial":', { until: responsesComplete(1) });
    const [rejected] = responsesOf(res.text).map((r) => shapeOf(r.head, r.body));
    const body = '{"error":"Unauthorized","code":"token_missing","message":"A bearer token is required","requestId":"<id>"}';
    expect(rejected).toEqual({
      lines: [
        'HTTP/1.1 401 Unauthorized',
        'www-authenticate: Bearer realm="iamgate"',
        'content-type: application/json',
        `content-length: ${expectedLength(body)}`,
        'cache-control: no-store',
        'x-iamgate-request-id: <id>',
        'connection: close',
        'Date: <date>',
      ],
      body,
    });
  });

  it("leave exactly one record for a rejection sent before the caller's body was read, the one that closes the connection", async () => {
    const port = Number(new URL(gw.url).port);
    const before = gw.audit.events.length;
    const res = await exchange(port, 'POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{"partial":', { until: responsesComplete(1) });
    const [rejected] = responsesOf(res.text);
    const id = /\r\nx-iamgate-request-id: ([^\r]+)/.exec(rejected!.head)?.[1];
    expect(rejected!.head).toContain('\r\nconnection: close');
    expect(gw.audit.decisionsFor(id!)).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'token_missing', status: 401 })]);
    expect(gw.audit.events.length - before).toBe(1);
  });
});
