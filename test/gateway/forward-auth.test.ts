import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, useTestGateway, type TestGateway } from '../support/gateway.js';
import { authRequestServer, startNginx, type RunningNginx } from '../support/nginx.js';

describe('forward-auth dialects over HTTP', () => {
  const gw = useTestGateway();

  it('answers nginx auth_request with 200 and identity headers, without contacting the upstream', async () => {
    const before = gw.upstream.arrivals();
    const res = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('alice'), 'x-original-uri': '/orders/12?x=1', 'x-original-method': 'GET', 'x-iamgate-principal': 'forged' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(res.headers['x-iamgate-request-id']).toBeTruthy();
    await res.body.dump();
    expect(gw.upstream.arrivals()).toBe(before);
    const event = gw.audit.decisionsFor(String(res.headers['x-iamgate-request-id']))[0];
    expect(event).toMatchObject({ kind: 'forward_auth', decision: 'Allow', action: 'orders:GetOrder', path: '/orders/12' });
  });

  it('reads X-Original-URL as ingress-nginx sends it, without normalising it first', async () => {
    const ok = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('alice'), 'x-original-url': 'https://shop.example/orders/12?x=1', 'x-original-method': 'GET' },
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const confused = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('alice'), 'x-original-url': 'https://shop.example/public/..%2fadmin/x', 'x-original-method': 'GET' },
    });
    expect(confused.statusCode).toBe(400);
    await confused.body.dump();
    const relative = await request(`${gw.url}/.iamgate/authz`, { headers: { authorization: await gw.bearer('alice'), 'x-original-url': '/orders/1', 'x-original-method': 'GET' } });
    expect(relative.statusCode).toBe(400);
    await relative.body.dump();
  });

  it('decides on the original method, not the subrequest method', async () => {
    const res = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('bob'), 'x-original-uri': '/orders', 'x-original-method': 'POST' },
    });
    expect(res.statusCode).toBe(403);
    expect(await res.body.json()).toMatchObject({ error: 'AccessDenied', action: 'orders:CreateOrder' });
  });

  it('answers Traefik ForwardAuth from X-Forwarded-Method and X-Forwarded-Uri', async () => {
    const ok = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('bob'), 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/orders/5', 'x-forwarded-host': 'api.example' },
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const denied = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('bob'), 'x-forwarded-method': 'DELETE', 'x-forwarded-uri': '/orders/5' },
    });
    expect(denied.statusCode).toBe(403);
    await denied.body.dump();
  });

  it('answers Envoy ext_authz with the original method and path appended to the endpoint', async () => {
    const ok = await request(`${gw.url}/.iamgate/authz/orders/5`, { method: 'GET', headers: { authorization: await gw.bearer('alice') } });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const denied = await request(`${gw.url}/.iamgate/authz/orders/5`, { method: 'DELETE', headers: { authorization: await gw.bearer('alice') } });
    expect(denied.statusCode).toBe(403);
    await denied.body.dump();
  });

  it('answers 401 with a challenge, and 400 when the original request is not described', async () => {
    const anon = await request(`${gw.url}/.iamgate/authz`, { headers: { 'x-original-uri': '/orders/1', 'x-original-method': 'GET' } });
    expect(anon.statusCode).toBe(401);
    expect(anon.headers['www-authenticate']).toBe('Bearer realm="iamgate"');
    await anon.body.dump();
    const noMethod = await request(`${gw.url}/.iamgate/authz`, { headers: { authorization: await gw.bearer('alice'), 'x-original-uri': '/orders/1' } });
    expect(noMethod.statusCode).toBe(400);
    await noMethod.body.dump();
    const bare = await request(`${gw.url}/.iamgate/authz`, { headers: { authorization: await gw.bearer('alice') } });
    expect(bare.statusCode).toBe(400);
    await bare.body.dump();
  });

  it('applies the same path safety to the original URI', async () => {
    const res = await request(`${gw.url}/.iamgate/authz`, {
      headers: { authorization: await gw.bearer('alice'), 'x-original-uri': '/public/..%2fadmin/x', 'x-original-method': 'GET' },
    });
    expect(res.statusCode).toBe(400);
    await res.body.dump();
  });
});

describe('forward-auth with a real nginx auth_request', () => {
  let gw: TestGateway;
  let nginx: RunningNginx;
  let nginxUrl: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    nginx = await startNginx(authRequestServer(gw.url, gw.upstream.url));
    nginxUrl = nginx.url;
  });

  afterAll(async () => {
    await nginx?.close();
    await gw.close();
  });

  it('lets nginx pass an allowed request on with the verified identity', async () => {
    const res = await request(`${nginxUrl}/orders/12?view=full`, { headers: { authorization: await gw.bearer('alice'), 'x-iamgate-principal': 'forged' } });
    expect(res.statusCode).toBe(200);
    const echo = (await res.body.json()) as { url: string; headers: Record<string, string> };
    expect(echo.url).toBe('/orders/12?view=full');
    expect(echo.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
    expect(gw.audit.decisionsFor(echo.headers['x-iamgate-request-id']!)).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Allow' })]);
  });

  it('makes nginx answer 403 and 401 without reaching the upstream', async () => {
    const before = gw.upstream.arrivals();
    const denied = await request(`${nginxUrl}/orders`, { method: 'POST', headers: { authorization: await gw.bearer('bob') }, body: '{}' });
    expect(denied.statusCode).toBe(403);
    await denied.body.dump();
    const anonymous = await request(`${nginxUrl}/orders/1`);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="iamgate"');
    await anonymous.body.dump();
    const confused = await request(`${nginxUrl}/public/..%2fadmin/users`, { headers: { authorization: await gw.bearer('alice') } });
    expect(confused.statusCode).not.toBe(200);
    await confused.body.dump();
    expect(gw.upstream.arrivals()).toBe(before);
  });
});
