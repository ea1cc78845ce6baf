// Every answer the gateway gives has exactly one audit record, including requests refused before
// the pipeline could read them: malformed HTTP that node:http refuses (400, 431, 408), requests the
// HTTP adapter cannot represent (HTTP/1.0 without Host, a Host it cannot parse), too many header
// lines, upgrades to other protocols, and forward-auth calls that do not say what they ask about.
// Each gets iamgate's JSON body with a request id, and the record carries that id.
import { describe, expect, it } from 'vitest';
import { useTestGateway, type TestGateway } from '../support/gateway.js';
import { exchange, jsonOf, sleep } from '../adversarial/support/raw.js';

const filler = (n: number): string => Array.from({ length: n }, (_, i) => `x-f${i}: ${i}\r\n`).join('');

/** Sends raw bytes; expects one JSON answer with `status` and `code`, and exactly one new audit record carrying its request id. */
async function expectOneRecord(gw: TestGateway, payload: string, status: number, code: string, timeoutMs?: number): Promise<void> {
  const port = Number(new URL(gw.url).port);
  const before = gw.audit.events.length;
  const r = await exchange(port, payload, timeoutMs ? { timeoutMs } : {});
  expect(r.statuses).toEqual([status]);
  expect(r.closedByServer).toBe(true);
  const body = jsonOf(r.text);
  expect(body).toMatchObject({ code, requestId: expect.any(String) });
  // The decision is recorded before the answer is written.
  const added = gw.audit.events.slice(before);
  expect(added).toHaveLength(1);
  expect(added[0]).toMatchObject({ requestId: body['requestId'], decision: 'Deny', reason: code, status, sourceIp: '127.0.0.1' });
}

describe('requests refused before the pipeline', () => {
  const gw = useTestGateway({ config: { listen: { host: '127.0.0.1', port: 0, headersTimeoutMs: 1000, requestTimeoutMs: 2000 }, limits: { maxHeaderBytes: 8192 } } });

  it('answers HTTP/1.0 without Host with iamgate’s 400 and one audit record', async () => {
    await expectOneRecord(gw, 'GET /public/readme HTTP/1.0\r\n\r\n', 400, 'malformed_request');
  });

  it('answers a Host the adapter cannot parse with iamgate’s 400 and one audit record', async () => {
    await expectOneRecord(gw, 'GET /public/readme HTTP/1.1\r\nHost: exa mple\r\nConnection: close\r\n\r\n', 400, 'malformed_request');
  });

  it('answers a malformed request line (node:http’s clientError) with iamgate’s 400 and one audit record', async () => {
    await expectOneRecord(gw, 'GET /public/readme HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400, 'malformed_request');
  });

  it('answers a header block over limits.maxHeaderBytes with 431 headers_too_large and one audit record', async () => {
    await expectOneRecord(gw, `GET /public/readme HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(10_000)}\r\n\r\n`, 431, 'headers_too_large');
  });

  it('answers headers that never finish with 408 request_timeout and one audit record', async () => {
    await expectOneRecord(gw, 'GET /public/readme HTTP/1.1\r\nHost: x\r\n', 408, 'request_timeout', 10_000);
  });

  it('answers more header lines than listen.maxHeaders with 431 too_many_headers and one audit record', async () => {
    await expectOneRecord(gw, `GET /public/readme HTTP/1.1\r\nHost: x\r\n${filler(300)}Connection: close\r\n\r\n`, 431, 'too_many_headers');
  });

  it('answers an h2c upgrade with 400 unsupported_upgrade and one audit record', async () => {
    await expectOneRecord(gw, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 400, 'unsupported_upgrade');
  });

  it('answers a forward-auth call without the original method and URI with 400 forward_auth_incomplete and one audit record', async () => {
    await expectOneRecord(gw, 'GET /.iamgate/authz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'forward_auth_incomplete');
  });
});

describe('malformed HTTP on the operations listener', () => {
  const gw = useTestGateway();

  it('is answered with JSON and closed, even while the client keeps sending', async () => {
    const port = Number(new URL(gw.opsUrl).port);
    const r = await exchange(port, 'GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n', {
      timeoutMs: 10_000,
      drive: async (socket) => {
        for (let i = 0; i < 50 && !socket.destroyed; i++) {
          socket.write('x');
          await sleep(20);
        }
      },
    });
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ error: 'BadRequest', code: 'malformed_request' });
    expect(r.closedByServer).toBe(true);
  });

  it('refuses an upgrade with 400 unsupported_upgrade and closes', async () => {
    const port = Number(new URL(gw.opsUrl).port);
    const r = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { timeoutMs: 10_000 });
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ code: 'unsupported_upgrade' });
    expect(r.closedByServer).toBe(true);
  });
});
