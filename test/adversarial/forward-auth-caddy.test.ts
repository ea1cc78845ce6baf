// Caddy's forward_auth in front of iamgate's decision endpoint, as docs/forward-auth.md configures
// it: allow with identity headers copied to the upstream, deny, the 401 challenge, and callers who
// try to choose the request decided on or the identity the upstream sees.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaddy, type RunningCaddy } from '../support/caddy.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Identity headers the site copies from iamgate's answer; the session header (empty unless the caller is a role session) is only removed, as docs/forward-auth.md configures it. */
const COPIED = ['X-Iamgate-Principal', 'X-Iamgate-Account', 'X-Iamgate-Mfa', 'X-Iamgate-Request-Id'];
const IDENTITY = [...COPIED, 'X-Iamgate-Session'];

/** The site block docs/forward-auth.md shows, with this run's addresses. */
function caddySite(gatewayHost: string, upstreamHost: string): string {
  return `  route {
    # A caller's own identity headers never reach the service: removed before asking iamgate,
    # so only the values forward_auth copies from iamgate's answer remain.
${IDENTITY.map((h) => `    request_header -${h}`).join('\n')}
    forward_auth ${gatewayHost} {
      uri /.iamgate/authz
      copy_headers ${COPIED.join(' ')}
    }
    reverse_proxy ${upstreamHost}
  }`;
}

describe('forward-auth with a real Caddy forward_auth', () => {
  let gw: TestGateway;
  let caddy: RunningCaddy;

  beforeAll(async () => {
    gw = await startTestGateway();
    caddy = await startCaddy(caddySite(new URL(gw.url).host, new URL(gw.upstream.url).host));
  });
  afterAll(async () => {
    await caddy?.close();
    await gw?.close();
  });

  const lastArrival = (): { method: string; url: string; headers: Record<string, unknown> } => {
    const r = gw.upstream.received.at(-1)!;
    return { method: r.method, url: r.url, headers: r.headers as Record<string, unknown> };
  };

  it('forwards an allowed request with iamgate identity headers in place of the caller ones', async () => {
    const before = gw.upstream.received.length;
    const res = await request(`${caddy.url}/orders/7?x=1`, {
      headers: { authorization: await gw.bearer('alice'), 'x-iamgate-principal': 'arn:aws:iam::111122223333:user/dave', 'x-iamgate-session': 'forged' },
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(gw.upstream.received.length).toBe(before + 1);
    const arrived = lastArrival();
    expect(arrived.url).toBe('/orders/7?x=1');
    expect(arrived.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(arrived.headers['x-iamgate-session']).toBeUndefined();
    const requestId = String(arrived.headers['x-iamgate-request-id']);
    expect(gw.audit.decisionsFor(requestId)).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Allow', path: '/orders/7', method: 'GET' })]);
  });

  it('answers a denied request with iamgate 403 body, and the upstream never sees it', async () => {
    const before = gw.upstream.received.length;
    const res = await request(`${caddy.url}/orders/7`, { method: 'DELETE', headers: { authorization: await gw.bearer('alice') } });
    expect(res.statusCode).toBe(403);
    expect(await res.body.json()).toMatchObject({ error: 'AccessDenied', reason: 'implicit_deny', action: 'orders:DeleteOrder' });
    expect(gw.upstream.received.length).toBe(before);
  });

  it('passes the 401 challenge through to the caller', async () => {
    const res = await request(`${caddy.url}/orders/7`);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="iamgate"');
    await res.body.dump();
  });

  it('decides on the request Caddy received, not on a description the caller sends', async () => {
    const before = gw.upstream.received.length;
    // Caddy sets X-Forwarded-Method and X-Forwarded-Uri itself; a caller-sent X-Original-URI
    // reaches iamgate too, disagrees, and the call is refused rather than decided on either.
    const spoofed = await request(`${caddy.url}/orders/7`, {
      method: 'DELETE',
      headers: { authorization: await gw.bearer('alice'), 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/1', 'x-original-uri': '/orders/1', 'x-original-method': 'GET' },
    });
    expect(spoofed.statusCode).toBe(400);
    expect(await spoofed.body.json()).toMatchObject({ code: 'forward_auth_ambiguous' });
    const replaced = await request(`${caddy.url}/orders/7`, {
      method: 'DELETE',
      headers: { authorization: await gw.bearer('alice'), 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/1' },
    });
    expect(replaced.statusCode).toBe(403);
    expect(await replaced.body.json()).toMatchObject({ action: 'orders:DeleteOrder', resource: 'arn:aws:orders:us-east-1:111122223333:order/7' });
    expect(gw.upstream.received.length).toBe(before);
  });

  it.each(IDENTITY)('never lets a caller-sent %s reach the upstream', async (name) => {
    const before = gw.upstream.received.length;
    const res = await request(`${caddy.url}/orders/7`, { headers: { authorization: await gw.bearer('alice'), [name]: 'forged' } });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(gw.upstream.received.length).toBe(before + 1);
    const headers = lastArrival().headers;
    expect(headers[name.toLowerCase()]).not.toBe('forged');
    expect(headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  });
});
