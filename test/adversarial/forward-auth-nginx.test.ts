// A real nginx in front of iamgate's forward-auth endpoint, configured as ingress-nginx is (the
// original request in X-Original-URL and X-Original-Method). nginx passes the client's own
// headers on to the auth subrequest, so a client-sent X-Original-URI must not become the request
// that is authorised. nginx forwards the raw $request_uri, so only canonical paths are decided on;
// and every iamgate identity header is set from iamgate's answer, never left as the caller sent it.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { NON_CANONICAL } from '../support/canonical.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { authRequestServer, IAMGATE_HEADERS, startNginx, type RunningNginx } from '../support/nginx.js';

describe('forward-auth behind nginx with X-Original-URL', () => {
  let gw: TestGateway;
  let nginx: RunningNginx;

  beforeAll(async () => {
    gw = await startTestGateway();
    nginx = await startNginx(`
    location = /_iamgate {
      internal;
      proxy_pass ${gw.url}/.iamgate/authz;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$host$request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_iamgate;
      proxy_pass ${gw.upstream.url};
    }`);
  });

  afterAll(async () => {
    await nginx?.close();
    await gw?.close();
  });

  async function get(path: string, headers: Record<string, string>): Promise<number> {
    const res = await request(`${nginx.url}${path}`, { headers: { authorization: await gw.bearer('alice'), ...headers } });
    await res.body.dump();
    return res.statusCode;
  }

  it('lets an allowed request through, as a baseline', async () => {
    const before = gw.upstream.arrivals();
    expect(await get('/public/readme', {})).toBe(200);
    expect(gw.upstream.arrivals()).toBe(before + 1);
  });

  it('never authorises the path a client names in its own X-Original-URI', async () => {
    const before = gw.upstream.arrivals();
    expect(await get('/admin/users', { 'x-original-uri': '/public/readme' })).not.toBe(200);
    expect(gw.upstream.arrivals()).toBe(before);
    const ambiguous = gw.audit.events.filter((e) => e.kind === 'forward_auth' && e.reason === 'forward_auth_ambiguous');
    expect(ambiguous).toHaveLength(1);
  });
});

/** Canonical targets alice may read: still allowed, escapes in either case. */
const CANONICAL = ['/public/x', '/public/x/', '/public/x?a=..%2F..//b', '/public/a%20b', '/public/a%c3%a9'] as const;

/** Sends one raw request line through nginx and returns the status, so no client tidies the target. */
function rawGet(url: string, target: string, authorization: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: orders.example\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(data.slice(9, 12))));
  });
}

describe('forward-auth behind nginx as docs/forward-auth.md configures it', () => {
  let gw: TestGateway;
  let nginx: RunningNginx;

  beforeAll(async () => {
    gw = await startTestGateway();
    nginx = await startNginx(authRequestServer(gw.url, gw.upstream.url));
  });

  afterAll(async () => {
    await nginx?.close();
    await gw?.close();
  });

  it.each(IAMGATE_HEADERS)('never lets a caller-sent %s reach the upstream', async (name) => {
    const before = gw.upstream.received.length;
    const res = await request(`${nginx.url}/orders/7`, { headers: { authorization: await gw.bearer('alice'), [name]: 'forged' } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    const arrived = gw.upstream.received.slice(before);
    expect(arrived).toHaveLength(1);
    const headers = arrived[0]!.headers as Record<string, unknown>;
    expect(headers[name.toLowerCase()]).not.toBe('forged');
    expect(headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(headers['x-iamgate-session']).toBeUndefined();
  });

  it.each(CANONICAL)('allows the canonical target %s through to the upstream', async (target) => {
    const before = gw.upstream.arrivals();
    expect(await rawGet(nginx.url, target, await gw.bearer('alice'))).toBe(200);
    expect(gw.upstream.arrivals()).toBe(before + 1);
  });

  it.each(NON_CANONICAL)('refuses the non-canonical target %s with one audited not_canonical decision', async (target) => {
    const before = gw.upstream.arrivals();
    const eventsBefore = gw.audit.events.length;
    expect(await rawGet(nginx.url, target, await gw.bearer('alice'))).not.toBe(200);
    expect(gw.upstream.arrivals()).toBe(before);
    const decisions = gw.audit.events.slice(eventsBefore).filter((e) => e.kind === 'forward_auth');
    expect(decisions.map((e) => e.reason)).toEqual(['bad_path']);
  });
});
