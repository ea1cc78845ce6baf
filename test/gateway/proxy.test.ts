import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { request, WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, useTestGateway } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { rawRequest } from '../support/net.js';
import { patternSha256, patternStream } from '../support/upstream.js';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  bodyLength: number;
  bodySha256: string;
}

describe('gateway proxy', () => {
  const gw = useTestGateway({ config: { limits: { maxBodyBytes: 200 * 1024 * 1024 } } });
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    alice = await gw.bearer('alice');
    bob = await gw.bearer('bob');
  });

  it('forwards an allowed request with method, path, query, headers and body intact', async () => {
    const body = JSON.stringify({ item: 'book', qty: 2 });
    const res = await rawRequest(`${gw.url}/orders/42?expand=items&tag=a&tag=b`, {
      method: 'PUT',
      headers: { authorization: alice, 'content-type': 'application/json', 'x-trace': 'abc', accept: 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body) as Echo;
    expect(echo.method).toBe('PUT');
    expect(echo.url).toBe('/orders/42?expand=items&tag=a&tag=b');
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['x-trace']).toBe('abc');
    expect(echo.headers['accept']).toBe('application/json');
    expect(echo.bodyLength).toBe(Buffer.byteLength(body));
    expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(echo.headers['authorization']).toBeUndefined();
    expect(echo.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(echo.headers['x-iamgate-request-id']).toBe(res.headers['x-iamgate-request-id']);
    expect(res.headers['x-upstream']).toBe('yes');
  });

  it('forwards the normalised path, which is the path that was authorised', async () => {
    const res = await rawRequest(`${gw.url}//orders/./%34%32/../7`, { headers: { authorization: alice } });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Echo).url).toBe('/orders/7');
  });

  it('strips identity headers a caller sends and sends only the verified ones', async () => {
    const res = await rawRequest(`${gw.url}/orders/1`, {
      headers: {
        authorization: bob,
        'x-iamgate-principal': 'arn:aws:iam::111122223333:user/alice',
        'X-IAMGATE-SESSION': 'admin-session',
        'x-iamgate-mfa': 'true',
        'x-iamgate-request-id': 'forged',
        'x-forwarded-for': '10.1.2.3',
      },
    });
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body) as Echo;
    expect(echo.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/bob');
    expect(echo.headers['x-iamgate-session']).toBeUndefined();
    expect(echo.headers['x-iamgate-mfa']).toBe('false');
    expect(echo.headers['x-iamgate-request-id']).not.toBe('forged');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('never lets a denied or unauthenticated request reach the upstream', async () => {
    const before = gw.upstream.arrivals();
    const cases: [string, string, string | undefined, number][] = [
      ['DELETE', '/orders/1', alice, 403],
      ['GET', '/orders/secret-plans', bob, 403],
      ['POST', '/orders', bob, 403],
      ['GET', '/admin/users', alice, 403],
      ['GET', '/unmapped', alice, 403],
      ['GET', '/orders/1', undefined, 401],
      ['GET', '/orders/1', 'Bearer not.a.token', 401],
      ['GET', '/orders/1', `Bearer ${await gw.keys.token('alice', { ttlSeconds: -60 })}`, 401],
      ['GET', '/orders/1', await gw.bearer('mallory'), 401],
    ];
    for (const [method, path, auth, status] of cases) {
      const res = await rawRequest(`${gw.url}${path}`, { method, headers: auth ? { authorization: auth } : {}, body: method === 'POST' ? '{}' : undefined });
      expect([method, path, res.status]).toEqual([method, path, status]);
    }
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('answers 403 as JSON with the message, reason, action, resource and request id', async () => {
    const res = await rawRequest(`${gw.url}/orders/secret-1`, { headers: { authorization: bob } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({
      error: 'AccessDenied',
      code: 'explicit_deny',
      message: 'Access denied',
      reason: 'explicit_deny',
      action: 'orders:GetOrder',
      resource: 'arn:aws:orders:us-east-1:111122223333:order/secret-1',
      requestId: res.headers['x-iamgate-request-id'],
    });
    const implicit = await rawRequest(`${gw.url}/orders`, { method: 'POST', headers: { authorization: bob }, body: '{}' });
    expect(JSON.parse(implicit.body)).toMatchObject({ reason: 'implicit_deny', action: 'orders:CreateOrder' });
  });

  it('says mfa_required when a second factor would allow the request, and allows it with one', async () => {
    const without = await rawRequest(`${gw.url}/orders/9`, { method: 'DELETE', headers: { authorization: await gw.bearer('carol') } });
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body)).toMatchObject({ reason: 'mfa_required', action: 'orders:DeleteOrder' });
    // dave is under the directory's deny-unless-MFA policy: an explicit deny that MFA lifts.
    const dave = await rawRequest(`${gw.url}/orders/9`, { headers: { authorization: await gw.bearer('dave') } });
    expect(JSON.parse(dave.body)).toMatchObject({ reason: 'mfa_required' });
    const withMfa = await rawRequest(`${gw.url}/orders/9`, { method: 'DELETE', headers: { authorization: await gw.bearer('carol', { mfa: true }) } });
    expect(withMfa.status).toBe(200);
  });

  it('challenges with WWW-Authenticate on 401', async () => {
    const none = await rawRequest(`${gw.url}/orders/1`, {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="iamgate"');
    const expired = await rawRequest(`${gw.url}/orders/1`, { headers: { authorization: `Bearer ${await gw.keys.token('alice', { ttlSeconds: -60 })}` } });
    expect(expired.headers['www-authenticate']).toMatch(/^Bearer realm="iamgate", error="invalid_token", error_description="/);
    expect(JSON.parse(expired.body)).toMatchObject({ error: 'Unauthorized', code: 'token_expired' });
  });

  it('refuses two Authorization headers as a malformed credential instead of guessing which one the upstream reads', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gw.url}/orders/1`, { agent: false }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.setHeader('authorization', [alice, bob]);
      req.end();
    });
    expect(res).toBe(401);
  });

  it('records exactly one event per answer, a forwarded request included: its decision', async () => {
    const ids: string[] = [];
    for (const [path, auth] of [['/orders/1', alice], ['/orders/1', undefined], ['/orders/secret', bob], ['/a%2fb', alice]] as const) {
      const res = await rawRequest(`${gw.url}${path}`, { headers: auth ? { authorization: auth } : {} });
      expect(res.status).toBe(path === '/orders/1' && auth ? 200 : path === '/a%2fb' ? 400 : auth ? 403 : 401);
      ids.push(String(res.headers['x-iamgate-request-id']));
    }
    // The gateway runs in this process: by the time the caller has read the answer, whatever the
    // gateway records after forwarding has been recorded.
    for (const id of ids) expect(gw.audit.events.filter((e) => e.requestId === id)).toEqual([gw.audit.decisionsFor(id)[0]]);
  });

  it('with audit.outcomes all, records an outcome event after each forwarded request too', async () => {
    const all = await startTestGateway({ config: { audit: { outcomes: 'all' } } });
    try {
      const res = await rawRequest(`${all.url}/orders/1`, { headers: { authorization: await all.bearer('alice') } });
      expect(res.status).toBe(200);
      const id = String(res.headers['x-iamgate-request-id']);
      expect(all.audit.decisionsFor(id)).toHaveLength(1);
      expect(all.audit.events.filter((e) => e.requestId === id && e.kind === 'outcome')).toEqual([expect.objectContaining({ reason: 'completed', status: 200 })]);
    } finally {
      await all.close();
    }
  });

  it('answers 404 for unknown endpoints under the reserved prefix and never forwards them', async () => {
    const before = gw.upstream.arrivals();
    const res = await rawRequest(`${gw.url}/x/../.iamgate/secret`, { headers: { authorization: alice } });
    expect(res.status).toBe(404);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('answers 413 for a body over the limit without contacting the upstream', async () => {
    const small = await startTestGateway({ config: { limits: { maxBodyBytes: 1024 } } });
    try {
      const token = await small.bearer('alice');
      const declared = await request(`${small.url}/upload`, { method: 'POST', headers: { authorization: token }, body: Buffer.alloc(4096) });
      expect(declared.statusCode).toBe(413);
      expect(await declared.body.json()).toMatchObject({ error: 'PayloadTooLarge', code: 'body_too_large' });
      const streamed = await request(`${small.url}/upload`, { method: 'POST', headers: { authorization: token }, body: patternStream(64 * 1024) });
      expect(streamed.statusCode).toBe(413);
      await streamed.body.dump();
      expect(small.upstream.received.filter((r) => r.url === '/upload')).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('streams a 100 MB upload and a 100 MB download through with bounded memory', async () => {
    const size = 100 * 1024 * 1024;
    const expected = await patternSha256(size);
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      const up = await request(`${gw.url}/upload`, { method: 'POST', headers: { authorization: alice }, body: patternStream(size) });
      expect(up.statusCode).toBe(200);
      const echo = (await up.body.json()) as Echo;
      expect(echo.bodyLength).toBe(size);
      expect(echo.bodySha256).toBe(expected);

      const down = await request(`${gw.url}/download?bytes=${size}`, { headers: { authorization: alice } });
      expect(down.statusCode).toBe(200);
      const hash = createHash('sha256');
      let received = 0;
      for await (const chunk of down.body) {
        hash.update(chunk as Buffer);
        received += (chunk as Buffer).length;
      }
      expect(received).toBe(size);
      expect(hash.digest('hex')).toBe(expected);
    } finally {
      clearInterval(sampler);
    }
    // The client, the gateway and the upstream share this process; none holds a whole body.
    expect(peak - base).toBeLessThan(64 * 1024 * 1024);
  });

  it('answers 504 with the request id when the upstream is too slow', async () => {
    const res = await request(`${gw.url}/slow?ms=5000`, { headers: { authorization: alice } });
    expect(res.statusCode).toBe(504);
    const body = (await res.body.json()) as Record<string, string>;
    expect(body).toMatchObject({ error: 'GatewayTimeout', code: 'upstream_timeout' });
    expect(body['requestId']).toBe(res.headers['x-iamgate-request-id']);
  });

  it('authorises a WebSocket upgrade, then tunnels it', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, { headers: { authorization: alice } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.addEventListener('open', () => ws.send('hello'));
      ws.addEventListener('message', (e) => resolve(String(e.data)));
      ws.addEventListener('error', () => reject(new Error('websocket failed')));
    });
    expect(reply).toBe('echo:hello');
    ws.close();
    const upgrade = gw.upstream.received.find((r) => r.url === '/ws');
    expect(upgrade?.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  });

  it('refuses a WebSocket upgrade the caller may not make, without reaching the upstream', async () => {
    const before = gw.upstream.arrivals();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gw.url}/ws`, {
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', authorization: bob },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(gw.upstream.arrivals()).toBe(before);
  });
});

describe('gateway with its upstream down', () => {
  it('answers 502 with the request id, and records the failed forwarding after its decision (audit.outcomes failures, the default)', async () => {
    const gw = await startTestGateway({ upstreamUrl: `http://127.0.0.1:${await freePort()}` });
    try {
      const res = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
      expect(res.statusCode).toBe(502);
      const body = (await res.body.json()) as Record<string, string>;
      expect(body).toMatchObject({ error: 'BadGateway', code: 'upstream_unavailable' });
      expect(body['requestId']).toBe(res.headers['x-iamgate-request-id']);
      const id = String(res.headers['x-iamgate-request-id']);
      expect(gw.audit.decisionsFor(id)).toHaveLength(1);
      expect(gw.audit.events.find((e) => e.requestId === id && e.kind === 'outcome')).toMatchObject({ reason: 'upstream_unavailable', status: 502 });
    } finally {
      await gw.close();
    }
  });
});

describe('gateway edge cases', () => {
  const gw = useTestGateway({ config: { trustedProxies: ['127.0.0.1/32'] } });

  /** Sends raw bytes and collects what comes back until the socket closes or `until` matches. */
  function exchange(head: string, onFirst?: (first: string, socket: import('node:net').Socket) => void): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
      let data = '';
      let first = true;
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        data += d;
        if (first && onFirst) {
          first = false;
          onFirst(data, socket);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(data));
      socket.write(head);
    });
  }

  it('sends 100 Continue only after the request is allowed', async () => {
    const body = 'x'.repeat(1000);
    const request = (auth: string): string =>
      `POST /upload HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const anonymous = await exchange(request(''));
    expect(anonymous).toMatch(/^HTTP\/1\.1 401 /);
    expect(anonymous).not.toContain('100 Continue');
    const allowed = await exchange(request(`Authorization: ${await gw.bearer('alice')}\r\n`), (first, socket) => {
      expect(first).toMatch(/^HTTP\/1\.1 100 Continue/);
      socket.write(body);
    });
    expect(allowed).toMatch(/HTTP\/1\.1 200 OK/);
    expect(gw.upstream.received.at(-1)).toMatchObject({ url: '/upload', bodyLength: 1000 });
    expect(gw.upstream.received.at(-1)!.headers['expect']).toBeUndefined();
  });

  it('takes aws:SourceIp from X-Forwarded-For when the peer is a trusted proxy, and extends the header', async () => {
    const res = await rawRequest(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice'), 'x-forwarded-for': '203.0.113.9, 127.0.0.1', 'x-forwarded-proto': 'https' } });
    const echo = JSON.parse(res.body) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1, 127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(gw.audit.decisionsFor(String(res.headers['x-iamgate-request-id']))[0]).toMatchObject({ sourceIp: '203.0.113.9' });
  });

  it('answers malformed HTTP with 400 and oversized headers with 431, never 500', async () => {
    expect(await exchange('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
  });
});
