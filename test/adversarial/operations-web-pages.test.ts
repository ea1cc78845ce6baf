// Cross-site requests to the operations listener. An operator's browser reaches the listener on
// localhost (a `kubectl port-forward`, development mode): any page it opens can POST there without
// asking first, as a form or a `no-cors` fetch with a text/plain body. The page cannot read the
// answer, but the reload or the explained decision would have run, and the Host names the
// listener's own address, so the Host rule does not stop it. Browsers say who sent a request
// (Origin, Sec-Fetch-Site); probes, scrapers and command-line clients say nothing.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { exchange, jsonOf } from './support/raw.js';

const run = promisify(execFile);

describe('a request to the operations listener sent by a web page', () => {
  const gw = useTestGateway({ config: { operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true } } });
  const port = (): number => Number(new URL(gw.opsUrl).port);

  async function send(requestLine: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const framing = body ? `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : 'Content-Length: 0\r\n';
    const r = await exchange(port(), `${requestLine} HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${lines}${framing}Connection: close\r\n\r\n${body}`);
    return { status: r.statuses[0] ?? 0, text: r.text };
  }

  async function ask(requestLine: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
    const r = await send(requestLine, headers, body);
    return { ...r, body: jsonOf(r.text) };
  }

  const generation = async (): Promise<unknown> => (await ask('GET /readyz', {})).body['generation'];
  const explain = JSON.stringify({ method: 'GET', path: '/orders/1', principal: 'arn:aws:iam::111122223333:user/alice' });

  /** What browsers send with a page's requests: a form or fetch POST from another site, a sandboxed frame, the listener's own origin, a no-cors GET. */
  const PAGES: Record<string, string>[] = [
    { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' },
    { Origin: 'null', 'Sec-Fetch-Site': 'cross-site' },
    { Origin: 'http://localhost:3000', 'Sec-Fetch-Site': 'same-site' },
    { Origin: 'https://evil.example' },
    { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
  ];

  it.each(PAGES)('never reloads the policies (%o)', async (page) => {
    const before = await generation();
    const r = await ask('POST /v1/policies/reload', page);
    expect([r.status, r.body['code']]).toEqual([403, 'web_page_refused']);
    expect(await generation()).toBe(before);
  });

  it.each(PAGES)('never explains a decision (%o)', async (page) => {
    const r = await ask('POST /v1/decisions/explain', page, explain);
    expect([r.status, r.body['code']]).toEqual([403, 'web_page_refused']);
    expect(r.text).not.toContain('alice');
  });

  it('still answers an operator’s command-line client and an address typed into the browser, as a baseline', async () => {
    const before = await generation();
    expect((await ask('POST /v1/policies/reload', {})).status).toBe(200);
    expect(await generation()).not.toBe(before);
    expect((await ask('POST /v1/decisions/explain', {}, explain)).body['principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect((await ask('GET /readyz', { 'Sec-Fetch-Site': 'none', 'Sec-Fetch-Mode': 'navigate' })).status).toBe(200);
  });

  // An operator follows a link to /metrics from the Prometheus targets page or a dashboard, or opens
  // /readyz through the API server's proxy: the browser names the page, but a read changes nothing,
  // and without CORS headers in the answer no page can read what it fetched.
  it.each(PAGES)('answers a GET or HEAD a web page sends, with nothing that lets the page read the answer (%o)', async (page) => {
    for (const request of ['GET /metrics', 'GET /readyz', 'HEAD /healthz']) {
      const r = await send(request, page);
      expect([request, r.status]).toEqual([request, 200]);
      expect(r.text.toLowerCase()).not.toContain('access-control-allow');
    }
  });
});

describe('a page opened in a real Chromium that posts to the operations listener', () => {
  const gw = useTestGateway({ config: { operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true } } });
  let page: Server;
  let pageUrl: string;

  beforeAll(async () => {
    // Served as http://localhost:PORT: another site than the listener's http://127.0.0.1:PORT.
    page = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><body><script>
        fetch(${JSON.stringify(`${gw.opsUrl}/v1/policies/reload`)}, { method: 'POST', mode: 'no-cors', body: '{}' })
          .then(() => document.body.setAttribute('data-reload', 'answered'), (e) => document.body.setAttribute('data-reload', 'failed: ' + e));
      </script></body></html>`);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://localhost:${(page.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => page.close(() => resolve())));

  it('gets an answer, but the policies are not reloaded', async () => {
    const before = (await (await fetch(`${gw.opsUrl}/readyz`)).json()) as { generation: number };
    const { stdout } = await run('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', pageUrl], { timeout: 60_000 });
    expect(/data-reload="([^"]*)"/.exec(stdout)?.[1]).toBe('answered');
    const after = (await (await fetch(`${gw.opsUrl}/readyz`)).json()) as { generation: number };
    expect(after.generation).toBe(before.generation);
  }, 90_000);
});
