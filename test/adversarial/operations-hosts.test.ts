// DNS rebinding against the operations listener: a page an operator opens gets its own name
// resolved to the operations address and reads /readyz, /shadow, /metrics or an explained decision
// as its own origin. Its requests name the page's host, so the listener refuses them; probes,
// scrapers and operators calling by address or as localhost are answered as before.
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { exchange, jsonOf } from './support/raw.js';

describe('the operations listener and the Host a request names', () => {
  const gw = useTestGateway({ config: { operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true, hosts: ['iamgate-ops.internal'] } } });

  async function ask(requestLine: string, host: string | undefined, body = ''): Promise<{ status: number; text: string }> {
    const port = Number(new URL(gw.opsUrl).port);
    const head = `${requestLine} HTTP/1.1\r\n${host === undefined ? '' : `Host: ${host}\r\n`}${body ? `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n` : ''}Connection: close\r\n\r\n`;
    const r = await exchange(port, head + body);
    return { status: r.statuses[0] ?? 0, text: r.text };
  }

  const explain = JSON.stringify({ method: 'GET', path: '/orders/1', principal: 'arn:aws:iam::111122223333:user/alice' });

  it.each(['evil.example', 'evil.example:8401', 'EVIL.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'iamgate-ops.internal.evil.example', 'evil.example.', 'iamgate-ops.internal..'])('refuses a request naming %s, on every endpoint', async (host) => {
    for (const line of ['GET /readyz', 'GET /healthz', 'GET /metrics', 'GET /audit/public-key']) {
      const r = await ask(line, host);
      expect([line, r.status]).toEqual([line, 421]);
      expect(jsonOf(r.text)).toMatchObject({ code: 'misdirected_host' });
    }
    const explained = await ask('POST /v1/decisions/explain', host, explain);
    expect(explained.status).toBe(421);
    expect(explained.text).not.toContain('alice');
  });

  it.each(['127.0.0.1', '127.0.0.1:8401', '[::1]:8401', '10.1.2.3:8401', 'localhost', 'LOCALHOST:8401', 'iamgate-ops.internal', 'IAMGATE-OPS.internal:8401', 'localhost.', 'localhost.:8401', 'iamgate-ops.internal.', '127.0.0.1.:8401'])('answers a request naming %s', async (host) => {
    expect((await ask('GET /readyz', host)).status).toBe(200);
    expect((await ask('POST /v1/decisions/explain', host, explain)).status).toBe(200);
  });
});
