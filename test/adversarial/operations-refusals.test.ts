// The operations listener records nothing (its answers are not decisions: docs/audit.md), so what it
// refuses before any endpoint runs — bytes that are not HTTP, headers past their deadline, an
// upgrade — must not name a request id, which would promise a record no trail holds. Its other
// refusals (421, 403, a failed reload) carry none already. The gateway runs as the compiled
// `iamgate serve`, its trail in a file.
import { describe, expect, it } from 'vitest';
import { readTrail } from '../audit/served.js';
import { exchange, jsonOf, responsesOf } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

const served = useBuiltServe('headersTimeoutMs: 1000');

describe('a refusal of the operations listener', () => {
  it.each([
    { name: 'bytes that are not HTTP', payload: 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'malformed_request' },
    { name: 'an HTTP/2 preface', payload: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400, code: 'malformed_request' },
    { name: 'headers past listen.headersTimeoutMs', payload: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', status: 408, code: 'request_timeout' },
    { name: 'an upgrade', payload: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', status: 400, code: 'unsupported_upgrade' },
  ])('to $name is answered $status $code without a request id, and the trail gains no record', async ({ payload, status, code }) => {
    const before = (await readTrail(served.files.trail)).length;
    const r = await exchange(served.opsPort, payload, { timeoutMs: 8000 });
    expect([r.statuses, r.closedByServer]).toEqual([[status], true]);
    expect(responsesOf(r.text)[0]?.head).not.toMatch(/\r\nx-iamgate-request-id:/i);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ code });
    expect(body).not.toHaveProperty('requestId');
    expect((await readTrail(served.files.trail)).length).toBe(before);
  }, 15_000);
});
