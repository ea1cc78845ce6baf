// A real nginx in front of iamgate's forward-auth endpoint, configured as ingress-nginx is (the
// original request in X-Original-URL and X-Original-Method). nginx passes the client's own
// headers on to the auth subrequest, so a client-sent X-Original-URI must not become the request
// that is authorised.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { NGINX_BINARY, startNginx, type RunningNginx } from '../support/nginx.js';

describe.skipIf(!NGINX_BINARY)('forward-auth behind nginx with X-Original-URL', () => {
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
