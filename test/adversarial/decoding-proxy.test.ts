// iamgate in front of a proxy that decodes the path before passing it on: nginx with a URI in
// `proxy_pass` (here `/`), which forwards its normalised, decoded path, escaping again only what
// would break the request line. An encoded `;` then reaches the service raw, and a service that
// reads path parameters (Tomcat, Jetty, Spring) strips it with what follows: iamgate would have
// authorised `order/1;x` while the service serves order 1. So `%3B` is refused as `;` is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { NGINX_BINARY, startNginx, type RunningNginx } from '../support/nginx.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { exchange, jsonOf, responsesComplete } from './support/raw.js';

describe.skipIf(!NGINX_BINARY)('a path passed through a decoding proxy', () => {
  let service: TestUpstream;
  let nginx: RunningNginx;
  let gw: TestGateway;
  let port: number;
  let alice: string;

  beforeAll(async () => {
    service = await startTestUpstream();
    nginx = await startNginx(`
    location / {
      proxy_pass ${service.url}/;
    }`);
    gw = await startTestGateway({ upstreamUrl: nginx.url });
    port = Number(new URL(gw.url).port);
    alice = await gw.bearer('alice');
  });

  afterAll(async () => {
    await gw?.close();
    await nginx?.close();
    await service?.close();
  });

  async function get(target: string): Promise<{ status: number | undefined; body: Record<string, unknown>; seen: string[] }> {
    const before = service.received.length;
    const r = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n\r\n`, { until: responsesComplete(1) });
    return { status: r.statuses[0], body: r.statuses[0] === 200 ? {} : jsonOf(r.text), seen: service.received.slice(before).map((x) => x.url) };
  }

  it('reaches the service as decided for a canonical path, as a baseline', async () => {
    expect(await get('/orders/1')).toEqual({ status: 200, body: {}, seen: ['/orders/1'] });
  });

  it.each(['/orders/1%3Bx', '/orders/1%3bjsessionid=2', '/orders/%3B/1', '/public/readme%3B.txt'])('refuses %s, whose ; the proxy would hand the service raw, and forwards nothing', async (target) => {
    expect(await get(target)).toEqual({ status: 400, body: expect.objectContaining({ code: 'bad_path', reason: 'semicolon' }), seen: [] });
  });

  it('still forwards the sub-delimiters the proxy decodes but no service reads as structure', async () => {
    const r = await get('/orders/1%2C2%3D3');
    expect([r.status, r.seen]).toEqual([200, ['/orders/1,2=3']]);
  });
});
