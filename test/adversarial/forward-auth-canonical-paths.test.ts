// Proxies that ask forward-auth (nginx auth_request) or ext_authz forward the raw request target to
// the upstream, not iamgate's normalised one. A target that normalisation would change is therefore
// refused, so iamgate never allows one path while the upstream serves another.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NON_CANONICAL } from '../support/canonical.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { authRequestServer, NGINX_BINARY, startNginx, type RunningNginx } from '../support/nginx.js';


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

describe.skipIf(!NGINX_BINARY)('forward-auth behind nginx auth_request with the raw $request_uri', () => {
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
