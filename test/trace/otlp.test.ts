// The OpenTelemetry exporter against a real OTLP/HTTP receiver on loopback: a real `iamgate serve`
// configured with `tracing.otlp` sends one span per stage of each request (the request itself,
// authorize, upstream), in the caller's trace, with the span the upstream saw as its parent.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTraceparent, readTracingConfig } from '../../src/trace/index.js';
import { tokenFor } from '../audit/served.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { devConfigYaml } from '../support/gateway.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
  status: { code: number };
}

/** A loopback OTLP/HTTP (JSON) receiver that records every span it is sent and wakes who waits for a trace. */
async function startReceiver() {
  const spans: Span[] = [];
  const resources: unknown[] = [];
  const waiters: { traceId: string; count: number; resolve: (s: Span[]) => void }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const ok = req.method === 'POST' && req.url === '/v1/traces' && req.headers['content-type'] === 'application/json';
      if (ok) {
        const doc = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: Span[] }[] }[] };
        for (const rs of doc.resourceSpans) {
          resources.push(rs.resource);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        for (const w of [...waiters]) {
          const found = spans.filter((s) => s.traceId === w.traceId);
          if (found.length >= w.count) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(found);
          }
        }
      }
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    resources,
    /** Resolves with the trace's spans once `count` of them have arrived. */
    trace: (traceId: string, count: number) =>
      new Promise<Span[]>((resolve) => {
        const found = spans.filter((s) => s.traceId === traceId);
        if (found.length >= count) resolve(found);
        else waiters.push({ traceId, count, resolve });
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attr = (span: Span | undefined, key: string) => {
  const v = span?.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue;
};

let dir: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let upstream: TestUpstream;
let server: ServeProcess;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-otlp-'));
  receiver = await startReceiver();
  upstream = await startTestUpstream();
  config = join(dir, 'iamgate.yaml');
  await writeFile(config, devConfigYaml({ port: 0, opsPort: 0, upstreamUrl: upstream.url, extra: [`tracing: { otlp: { endpoint: "${receiver.url}" }, serviceName: orders-sidecar, exportIntervalMs: 100 }`] }));
  server = await startServe(config, {});
}, CHILD_PROCESS_TEST_MS);

afterAll(async () => {
  server?.kill();
  await upstream?.close();
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: string, traceparent: string): Promise<number> {
  const token = await tokenFor(config, 'alice');
  const res = await fetch(`http://127.0.0.1:${server.gatewayPort}/orders/9`, { method, headers: { authorization: `Bearer ${token}`, traceparent } });
  await res.arrayBuffer();
  return res.status;
}

describe('the OTLP exporter', () => {
  it('sends an allowed request as a server span with authorize and upstream children, in the caller\'s trace', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    expect(await call('GET', `00-${traceId}-b7ad6b7169203331-01`)).toBe(200);
    const spans = await receiver.trace(traceId, 3);
    const root = spans.find((s) => s.kind === 2);
    expect(root).toMatchObject({ parentSpanId: 'b7ad6b7169203331', status: { code: 1 } });
    expect(attr(root, 'http.response.status_code')).toBe('200');
    expect(attr(root, 'iamgate.reason')).toBe('allowed');
    expect(attr(root, 'enduser.id')).toBe('arn:aws:iam::111122223333:user/alice');
    const children = spans.filter((s) => s !== root);
    expect(children.map((s) => [s.name, s.kind, s.parentSpanId]).sort()).toEqual([
      ['authorize', 1, root!.spanId],
      ['upstream', 3, root!.spanId],
    ]);
    for (const s of spans) expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
    // The upstream was told the same trace, with iamgate's span as its parent.
    const sent = parseTraceparent(String(upstream.received.at(-1)?.headers['traceparent']));
    expect(sent).toMatchObject({ traceId, parentSpanId: root!.spanId });
    expect(receiver.resources[0]).toEqual({ attributes: [{ key: 'service.name', value: { stringValue: 'orders-sidecar' } }] });
  });

  it('sends a denied request as a server span and its authorize span, with no upstream span', async () => {
    const traceId = '1af7651916cd43dd8448eb211c80319d';
    expect(await call('DELETE', `00-${traceId}-c7ad6b7169203332-01`)).toBe(403);
    const spans = await receiver.trace(traceId, 2);
    expect(spans.map((s) => s.name).sort()).toEqual(['DELETE rejected', 'authorize']);
    expect(attr(spans.find((s) => s.kind === 2), 'http.response.status_code')).toBe('403');
  });
});

describe('the tracing section', () => {
  const paths = (raw: unknown) => readTracingConfig(raw).findings.map((f) => f.path);

  it('is off when absent, and reads the exporter with its defaults', () => {
    expect(readTracingConfig(undefined)).toEqual({ findings: [] });
    expect(readTracingConfig({ otlp: { endpoint: 'http://collector:4318/v1/traces' } }).config).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      headers: {},
      serviceName: 'iamgate',
      exportIntervalMs: 2000,
      maxQueuedSpans: 8192,
      timeoutMs: 5000,
    });
  });

  it('refuses a missing or non-http endpoint, a bad header and an unknown key, each with its path', () => {
    expect(paths({})).toEqual(['tracing.otlp.endpoint']);
    expect(paths({ otlp: { endpoint: 'collector:4318' } })).toEqual(['tracing.otlp.endpoint']);
    expect(paths({ otlp: { endpoint: 'http://c:4318/v1/traces', headers: { 'bad name': 'x' } } })).toEqual(['tracing.otlp.headers.bad name']);
    expect(paths({ otlp: { endpoint: 'http://c:4318/v1/traces' }, sampler: 'all' })).toEqual(['tracing.sampler']);
  });
});
