import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureStatus } from '../../src/gateway/errors.js';
import { createUpstream, planBody, upstreamRequestHeaders, type ProxyResult, type Upstream } from '../../src/proxy/index.js';
import { rawRequest } from '../support/net.js';
import { freePort } from '../support/redis.js';
import { patternSha256, patternStream, startTestUpstream, type TestUpstream } from '../support/upstream.js';

interface Front {
  readonly url: string;
  readonly results: ProxyResult[];
  /** The result of the next request to finish forwarding. */
  nextResult(): Promise<ProxyResult>;
  close(): Promise<void>;
}

/** A minimal front server that forwards everything through `upstream`, as the gateway does. */
async function startFront(upstream: Upstream, maxBody: number): Promise<Front> {
  const results: ProxyResult[] = [];
  const waiting: ((r: ProxyResult) => void)[] = [];
  const server = http.createServer((req, res) => {
    const plan = planBody(req, maxBody, 60_000);
    if (plan.kind === 'too_large') {
      res.writeHead(413, { connection: 'close' }).end();
      return;
    }
    const headers = upstreamRequestHeaders(req.rawHeaders, {
      forwardAuthorization: false,
      trustedPeer: false,
      peerAddress: req.socket.remoteAddress ?? '',
      proto: 'http',
      preserveHost: true,
      identity: { principal: 'arn:aws:iam::111122223333:user/alice', account: '111122223333', session: undefined, mfa: false, requestId: 'req-1' },
      passThrough: new Set(),
    });
    upstream.forward({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body: plan.kind === 'stream' ? plan.body : null, requestId: 'req-1' }, res, { forwarded(result) {
        results.push(result);
        waiting.shift()?.(result);
        if (!result.ok && !result.responded && result.failure !== 'client_closed') {
          // An unread request body leaves the connection unusable: close it after this answer.
          const close = req.complete ? {} : { connection: 'close' };
          res.writeHead(failureStatus(result.failure), { 'content-type': 'application/json', ...close }).end(JSON.stringify({ error: result.failure }));
        }
    } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    results,
    nextResult: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const OPTIONS = { connections: 16, connectTimeoutMs: 1000, headersTimeoutMs: 300, idleTimeoutMs: 300, keepAliveTimeoutMs: 2000 };

describe('streaming proxy', () => {
  let target: TestUpstream;
  let upstream: Upstream;
  let front: Front;

  beforeAll(async () => {
    target = await startTestUpstream();
    upstream = createUpstream({ url: target.url, ...OPTIONS });
    front = await startFront(upstream, 1024 * 1024);
  });
  afterAll(async () => {
    await front.close();
    await upstream.close(true);
    await target.close();
  });

  it('delivers method, path, query, headers and body intact, and cleans headers both ways', async () => {
    const body = 'x'.repeat(5000);
    const res = await rawRequest(`${front.url}/orders/12?b=2&a=%41&a=1`, {
      method: 'PUT',
      headers: {
        'content-type': 'text/plain',
        'x-custom': 'kept',
        authorization: 'Bearer secret-token',
        'x-iamgate-principal': 'arn:aws:iam::111122223333:user/admin',
        'X-Iamgate-Session': 'spoofed',
        'x-forwarded-for': '10.9.9.9',
        connection: 'x-drop-me',
        'x-drop-me': '1',
      },
      body,
    });
    const echoed = JSON.parse(res.body) as { method: string; url: string; headers: Record<string, string>; bodyLength: number };
    expect(res.status).toBe(200);
    expect(echoed.method).toBe('PUT');
    expect(echoed.url).toBe('/orders/12?b=2&a=%41&a=1');
    expect(echoed.bodyLength).toBe(5000);
    expect(echoed.headers['x-custom']).toBe('kept');
    expect(echoed.headers['content-type']).toBe('text/plain');
    expect(echoed.headers['authorization']).toBeUndefined();
    expect(echoed.headers['x-drop-me']).toBeUndefined();
    expect(echoed.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(echoed.headers['x-iamgate-session']).toBeUndefined();
    expect(echoed.headers['x-iamgate-request-id']).toBe('req-1');
    expect(echoed.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echoed.headers['x-forwarded-proto']).toBe('http');
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['x-iamgate-request-id']).toBe('req-1');
  });

  it('streams a chunked upload and a large download byte for byte', async () => {
    const size = 8 * 1024 * 1024 + 3;
    const up = await request(`${front.url}/upload`, { method: 'POST', body: patternStream(300_000) });
    expect(((await up.body.json()) as { bodySha256: string }).bodySha256).toBe(await patternSha256(300_000));
    const down = await request(`${front.url}/download?bytes=${size}`);
    expect(down.statusCode).toBe(200);
    let n = 0;
    for await (const chunk of down.body) n += (chunk as Buffer).length;
    expect(n).toBe(size);
  });

  it('answers 413 for a declared or streamed body over the limit', async () => {
    const declared = await request(`${front.url}/x`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) });
    expect(declared.statusCode).toBe(413);
    await declared.body.dump();
    const before = target.received.length;
    const streamed = await request(`${front.url}/x`, { method: 'POST', body: patternStream(3 * 1024 * 1024) });
    expect(streamed.statusCode).toBe(413);
    expect(((await streamed.body.json()) as { error: string }).error).toBe('body_too_large');
    expect(target.received.length).toBe(before);
  });

  it('answers 504 when the upstream is slower than the header timeout', async () => {
    const res = await request(`${front.url}/slow?ms=2000`);
    expect(res.statusCode).toBe(504);
    expect(await res.body.json()).toEqual({ error: 'upstream_timeout' });
  });

  it('cuts the connection when the upstream stalls mid-body', async () => {
    const res = await request(`${front.url}/stall`);
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
  });

  it('stops forwarding when the caller hangs up mid-answer, and says so', async () => {
    const result = front.nextResult();
    const hungUp = new Promise<void>((resolve, reject) => {
      const req = http.get(`${front.url}/stall`, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    await hungUp;
    expect(await result).toEqual({ ok: false, failure: 'client_closed', responded: true, status: 200, cause: 'ERR_CLIENT_CLOSED' });
  });

  it('sends nothing upstream for a caller that hung up before its request was forwarded, and says so once', async () => {
    const results: ProxyResult[] = [];
    let first: (r: ProxyResult) => void = () => undefined;
    const settled = new Promise<ProxyResult>((resolve) => (first = resolve));
    // A front whose decision outlasts the caller: it forwards only once the caller's connection has closed.
    let arrived: () => void = () => undefined;
    const decided = new Promise<void>((resolve) => (arrived = resolve));
    const late = http.createServer((_req, res) => {
      arrived();
      res.once('close', () =>
        upstream.forward({ method: 'GET', path: '/late', headers: [], body: null, requestId: 'req-late' }, res, { forwarded(r) {
          results.push(r);
          first(r);
        } }),
      );
    });
    await new Promise<void>((resolve) => late.listen(0, '127.0.0.1', resolve));
    try {
      const before = target.arrivals();
      const req = http.get(`http://127.0.0.1:${(late.address() as AddressInfo).port}/late`);
      req.on('error', () => undefined);
      await decided;
      req.destroy();
      expect(await settled).toEqual({ ok: false, failure: 'client_closed', responded: false, status: undefined, cause: 'ERR_CLIENT_CLOSED' });
      // A request forwarded after it reaches the upstream alone, and the hung-up one is not told again.
      expect((await rawRequest(`${front.url}/after`)).status).toBe(200);
      expect([target.arrivals() - before, target.received.at(-1)?.url, results.length]).toEqual([1, '/after', 1]);
    } finally {
      await new Promise<void>((resolve) => late.close(() => resolve()));
    }
  });

  it('opens no tunnel upstream for a caller that hung up before its upgrade was forwarded, and says so', async () => {
    const client = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.destroy();
    await closed;
    const before = target.arrivals();
    const headers = ['host', '127.0.0.1', 'sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version', '13'];
    const result = await upstream.upgrade({ method: 'GET', path: '/ws', headers, body: null, requestId: 'req-ws' }, client, Buffer.alloc(0), 'dGhlIHNhbXBsZSBub25jZQ==');
    expect(result).toEqual({ ok: false, failure: 'client_closed', responded: false, status: undefined, cause: 'ERR_CLIENT_CLOSED' });
    // Whatever reached the upstream has its answer by now: a request forwarded after it is counted alone.
    expect((await rawRequest(`${front.url}/after-ws`)).status).toBe(200);
    expect([target.arrivals() - before, target.openTunnels()]).toEqual([1, 0]);
  });

  it('relays the final answer after an upstream’s early hints, not the hints', async () => {
    const hinting = http.createServer((_req, res) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload' }, () => res.writeHead(200, { 'x-final': 'yes' }).end('done'));
    });
    await new Promise<void>((resolve) => hinting.listen(0, '127.0.0.1', resolve));
    const hinted = createUpstream({ url: `http://127.0.0.1:${(hinting.address() as AddressInfo).port}`, ...OPTIONS });
    const hintedFront = await startFront(hinted, 0);
    try {
      const res = await request(`${hintedFront.url}/x`);
      expect([res.statusCode, res.headers['x-final'], res.headers['link'], await res.body.text()]).toEqual([200, 'yes', undefined, 'done']);
    } finally {
      await hintedFront.close();
      await hinted.close(true);
      await new Promise<void>((resolve) => hinting.close(() => resolve()));
    }
  });

  it('relays a body of declared length whole, sent in one piece or in several, and keeps the connection for the next request', async () => {
    // Sized bodies: one write, two writes a moment apart, and an empty one; a HEAD answer declares a length and sends nothing.
    const sized = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': req.url === '/empty' ? '0' : '6' });
      if (req.url === '/split') {
        res.write('abc');
        setTimeout(() => res.end('def'), 20);
      } else res.end(req.url === '/empty' || req.method === 'HEAD' ? undefined : 'abcdef');
    });
    await new Promise<void>((resolve) => sized.listen(0, '127.0.0.1', resolve));
    const sizedUpstream = createUpstream({ url: `http://127.0.0.1:${(sized.address() as AddressInfo).port}`, ...OPTIONS });
    const sizedFront = await startFront(sizedUpstream, 0);
    const client = new Pool(sizedFront.url, { connections: 1, pipelining: 1 });
    try {
      const answers: unknown[] = [];
      for (const [method, path] of [['GET', '/whole'], ['GET', '/split'], ['GET', '/empty'], ['HEAD', '/whole'], ['GET', '/whole']] as const) {
        const res = await client.request({ method, path });
        answers.push([path, res.statusCode, res.headers['content-length'], await res.body.text()]);
      }
      expect(answers).toEqual([['/whole', 200, '6', 'abcdef'], ['/split', 200, '6', 'abcdef'], ['/empty', 200, '0', ''], ['/whole', 200, '6', ''], ['/whole', 200, '6', 'abcdef']]);
      expect(sizedFront.results).toEqual(Array.from({ length: 5 }, () => ({ ok: true, status: 200 })));
    } finally {
      await client.close();
      await sizedFront.close();
      await sizedUpstream.close(true);
      await new Promise<void>((resolve) => sized.close(() => resolve()));
    }
  });

  it('answers 502 when nothing listens upstream', async () => {
    const dead = createUpstream({ url: `http://127.0.0.1:${await freePort()}`, ...OPTIONS });
    const deadFront = await startFront(dead, 0);
    try {
      const res = await request(`${deadFront.url}/x`);
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toEqual({ error: 'upstream_unavailable' });
    } finally {
      await deadFront.close();
      await dead.close(true);
    }
  });
});
