// What the operations listener answers besides its endpoints, and what an operator's explained
// decision leaves behind. A path or method it does not serve (a reload asked with GET, a trailing
// slash, a made-up path) is refused with the error table's JSON like every other refusal, never
// the framework's bare text; a handler that fails answers the table's 500, its error told to the
// operational log and not written to standard error. An explained decision is a simulation: it
// runs the pipeline but is counted nowhere the real traffic is, so an operator exploring denials
// never shows up as a burst of denials on the dashboards and alerts built from /metrics.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGatewayMetrics, createOperationsApp, type Pipeline } from '../../src/gateway/index.js';
import { metricValue } from '../support/serve-process.js';
import { FIXTURES, startTestGateway, useTestGateway, type TestGateway } from '../support/gateway.js';
import { exchange, jsonOf } from './support/raw.js';

describe('a path or method the operations listener does not serve', () => {
  const gw = useTestGateway({ config: { operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true } } });
  const port = (): number => Number(new URL(gw.opsUrl).port);

  async function send(requestLine: string): Promise<{ status: number; text: string }> {
    const r = await exchange(port(), `${requestLine} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    return { status: r.statuses[0] ?? 0, text: r.text };
  }

  const generation = async (): Promise<unknown> => jsonOf((await send('GET /readyz')).text)['generation'];

  it.each([
    'GET /v1/policies/reload',
    'PUT /v1/policies/reload',
    'DELETE /v1/policies/reload',
    'OPTIONS /v1/policies/reload',
    'POST /v1/policies/reload/',
    'POST //v1/policies/reload',
    'POST /V1/policies/reload',
    'POST /v1/policies/reload;x',
    'GET /v1/decisions/explain',
    'POST /healthz',
    'GET /metrics/',
    'GET /nothing',
    'GET /',
  ])('answers %s 404 reserved_path as JSON, and reloads nothing', async (line) => {
    const before = await generation();
    const r = await send(line);
    expect([line, r.status]).toEqual([line, 404]);
    expect(r.text.toLowerCase()).toContain('content-type: application/json');
    expect(jsonOf(r.text)).toEqual({ error: 'NotFound', code: 'reserved_path', message: expect.any(String) });
    expect(await generation()).toBe(before);
  });

  // A URL as the target names a host of its own, which RFC 9112 says a server takes over the Host
  // header the listener checks: such targets, and `*`, are refused, as on the gateway port.
  it.each([
    ['GET http://evil.example/readyz', '127.0.0.1'],
    ['POST http://evil.example/v1/policies/reload', '127.0.0.1'],
    ['POST http://127.0.0.1/v1/policies/reload', '127.0.0.1'],
    ['GET http://127.0.0.1/metrics', 'evil.example'],
  ])('refuses the target of %s (Host %s) 400 bad_path as JSON, and reloads nothing', async (line, host) => {
    const before = await generation();
    const r = await exchange(port(), `${line} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect([line, r.statuses[0]]).toEqual([line, 400]);
    expect(jsonOf(r.text)).toEqual({ error: 'BadRequest', code: 'bad_path', message: expect.any(String) });
    expect(await generation()).toBe(before);
  });

  it.each([
    ['GET /readyz', '127.0.0.1 evil'],
    ['OPTIONS *', '127.0.0.1'],
  ])('answers %s (Host %s), which it cannot read, 400 malformed_request as JSON', async (line, host) => {
    const r = await exchange(port(), `${line} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(r.statuses[0]).toBe(400);
    expect(jsonOf(r.text)).toEqual({ error: 'BadRequest', code: 'malformed_request', message: expect.any(String) });
  });

  it('answers a HEAD it does not serve 404 with the JSON type, and no body', async () => {
    const r = await send('HEAD /v1/policies/reload');
    expect(r.status).toBe(404);
    expect(r.text.toLowerCase()).toContain('content-type: application/json');
    expect(r.text.endsWith('\r\n\r\n')).toBe(true);
  });
});

describe('an operations endpoint that fails', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers 500 internal_error as JSON, tells the error to the log it is given, and writes nothing to standard error', async () => {
    const failures: unknown[] = [];
    const fail = (): never => {
      throw new Error('/etc/iamgate/secret-path: cannot read');
    };
    const pipeline: Pipeline = { run: fail };
    const app = createOperationsApp({
      metrics: createGatewayMetrics(),
      readiness: fail,
      pipeline,
      operatorEndpoints: true,
      reload: async () => fail(),
      simulatedAuthenticator: () => undefined,
      now: Date.now,
      onError: (err) => failures.push(err),
    });
    const consoleError = vi.spyOn(console, 'error');
    const stderr = vi.spyOn(process.stderr, 'write');
    const answers = [await app.request('/readyz'), await app.request('/v1/policies/reload', { method: 'POST' }), await app.request('/v1/decisions/explain', { method: 'POST', body: '{"path":"/orders/1"}' })];
    const written = [...consoleError.mock.calls, ...stderr.mock.calls].map((call) => call.map(String).join(' '));
    vi.restoreAllMocks();
    for (const res of answers) {
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: 'InternalError', code: 'internal_error', message: expect.any(String) });
      expect(text).not.toContain('secret-path');
    }
    expect(failures).toHaveLength(3);
    expect(written.join('')).not.toContain('secret-path');
  });
});

describe('explained decisions and the metrics of real traffic', () => {
  const gw = useTestGateway({ config: { operations: { host: '127.0.0.1', port: 0, operatorEndpoints: true } } });

  const page = async (): Promise<string> => (await fetch(`${gw.opsUrl}/metrics`)).text();
  const explain = async (body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${gw.opsUrl}/v1/decisions/explain`, { method: 'POST', body: JSON.stringify(body) });
    return (await res.json()) as Record<string, unknown>;
  };

  it('counts no explained decision among the gateway’s decisions, requests, cache lookups or decision times', async () => {
    // One real denial first, so that the series exist on the page.
    await gw.statusOfGet('bob', '/orders/secret');
    const before = await page();
    for (let i = 0; i < 20; i++) {
      expect(await explain({ method: 'GET', path: '/orders/secret', principal: 'arn:aws:iam::111122223333:user/bob' })).toMatchObject({ outcome: 'reject', status: 403 });
      expect(await explain({ method: 'GET', path: '/orders/1', principal: 'arn:aws:iam::111122223333:user/alice' })).toMatchObject({ outcome: 'allow' });
      expect(await explain({ method: 'GET', path: '/orders/1' })).toMatchObject({ outcome: 'reject', status: 401 });
    }
    const after = await page();
    for (const [name, labels] of [
      ['iamgate_decisions_total', { decision: 'ExplicitDeny' }],
      ['iamgate_decisions_total', { decision: 'Allow' }],
      ['iamgate_decisions_total', { decision: 'Rejected' }],
      ['iamgate_requests_total', { outcome: 'denied' }],
      ['iamgate_requests_total', { outcome: 'allowed' }],
      ['iamgate_requests_total', { outcome: 'unauthenticated' }],
      ['iamgate_decision_cache_lookups_total', { result: 'miss' }],
      ['iamgate_decision_duration_seconds_count', {}],
    ] as const) {
      expect([name, labels, metricValue(after, name, labels)]).toEqual([name, labels, metricValue(before, name, labels)]);
    }
  });
});

describe('the shadow disagreements /shadow shows', () => {
  let dir: string;
  let gw: TestGateway;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-shadow-token-'));
    // The candidate takes orders:GetOrder from alice: every order she reads is a disagreement.
    const live = await readFile(FIXTURES.directory, 'utf8');
    const candidate = live.replace('Action: [orders:GetOrder, orders:ListOrders, orders:CreateOrder,', 'Action: [orders:ListOrders, orders:CreateOrder,');
    expect(candidate).not.toBe(live);
    await writeFile(join(dir, 'directory.yaml'), candidate);
    gw = await startTestGateway({ files: { shadow: dir } });
  });
  afterAll(async () => {
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds no bearer token a caller put in the path, as the audit record holds none', async () => {
    const planted = await gw.keys.token('mallory');
    expect(await gw.statusOfGet('alice', `/orders/${planted}`)).toBe(200);
    const shadow = (await (await fetch(`${gw.opsUrl}/shadow`)).json()) as { recent: { direction: string; resource: string }[] };
    expect(shadow.recent.map((d) => d.direction)).toEqual(['would_deny']);
    expect(JSON.stringify(shadow)).not.toContain(planted.split('.')[1]);
  });
});
