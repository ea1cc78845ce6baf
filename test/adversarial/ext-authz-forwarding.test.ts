// The forwarding headers a caller sends through Envoy. Behind iamgate's own proxy, X-Real-IP,
// Forwarded, X-Forwarded-Host and their kin reach the upstream only from a trusted proxy, and a
// scheme header only when the TLS it claims was believed. Behind Envoy, the caller's copies reach
// the upstream unless the check's answer lists them for removal, so the answer must remove exactly
// what the proxy drops; X-Forwarded-For is Envoy's own, written by its xff settings.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { FORWARDING_HEADERS } from '../../src/proxy/index.js';
import { checkOf, useExtAuthzGateway } from '../extauthz/check.js';
import type { TestGateway } from '../support/gateway.js';
import type { ExtAuthzClient } from '../support/grpc.js';

/** Every forwarding header, each with `value`, as a caller sends them. */
const sent = (value: string): Record<string, string> => Object.fromEntries(FORWARDING_HEADERS.map((name) => [name, value]));

/** Values that claim TLS (`on`) and that claim none (`http`): scheme headers pass or not by it. */
const CLAIMING_TLS = sent('on');
const CLAIMING_NONE = sent('http');

/** Envoy writes X-Forwarded-For itself (appending the address it saw), so iamgate leaves it to Envoy. */
const ENVOY_WRITES = 'x-forwarded-for';

/** The forwarding headers the upstream behind iamgate's proxy does not receive as the caller sent them. */
async function droppedByProxy(gw: TestGateway, values: Record<string, string>): Promise<string[]> {
  const before = gw.upstream.received.length;
  const res = await request(`${gw.url}/orders/12`, { headers: { authorization: await gw.bearer('alice'), ...values } });
  await res.body.dump();
  expect(res.statusCode).toBe(200);
  const seen = gw.upstream.received[before]!.headers;
  return FORWARDING_HEADERS.filter((name) => seen[name] !== values[name]);
}

/** The forwarding headers an allowed check's answer lists for removal. */
async function removedByCheck(gw: TestGateway, client: ExtAuthzClient, source: string, values: Record<string, string>): Promise<string[]> {
  const answer = await client.check(checkOf({ address: source, headers: { authorization: await gw.bearer('alice'), ...values } }));
  expect(answer.http_response).toBe('ok_response');
  const removed = new Set(answer.ok_response!.headers_to_remove);
  return FORWARDING_HEADERS.filter((name) => removed.has(name));
}

describe('forwarding headers a caller sends through Envoy from a source that is no trusted proxy', () => {
  const { gw, client } = useExtAuthzGateway();

  it('are removed from the upstream request as iamgate’s proxy drops them, all but the X-Forwarded-For Envoy writes', async () => {
    const dropped = await droppedByProxy(gw, CLAIMING_TLS);
    expect(dropped).toEqual(expect.arrayContaining(['forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto']));
    const removed = await removedByCheck(gw, client(), '10.1.2.3', CLAIMING_TLS);
    expect(removed).toEqual(dropped.filter((name) => name !== ENVOY_WRITES));
  });

  it('are removed as iamgate’s proxy drops them when they claim no TLS, all but the X-Forwarded-For and -Proto Envoy writes', async () => {
    const dropped = await droppedByProxy(gw, CLAIMING_NONE);
    expect(dropped).toEqual(expect.arrayContaining(['forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-ssl']));
    const removed = await removedByCheck(gw, client(), '10.1.2.3', CLAIMING_NONE);
    expect(removed).toEqual(dropped.filter((name) => name !== ENVOY_WRITES && name !== 'x-forwarded-proto'));
  });
});

describe('forwarding headers a trusted proxy sends through Envoy', () => {
  // The proxy's tests call from loopback, the check names a source in 10.1.2.0/24: both trusted.
  const { gw, client } = useExtAuthzGateway({ config: { trustedProxies: ['127.0.0.1/32', '10.1.2.0/24'] } });

  it('reach the upstream as through iamgate’s proxy, scheme headers claiming a TLS iamgate did not believe removed', async () => {
    const dropped = await droppedByProxy(gw, CLAIMING_TLS);
    expect(dropped).toEqual(expect.arrayContaining(['x-forwarded-ssl', 'forwarded']));
    expect(dropped).not.toContain('x-real-ip');
    const removed = await removedByCheck(gw, client(), '10.1.2.3', CLAIMING_TLS);
    expect(removed).toEqual(dropped.filter((name) => name !== ENVOY_WRITES));
  });

  it('reach the upstream as through iamgate’s proxy when they claim no TLS: none removed', async () => {
    const dropped = await droppedByProxy(gw, CLAIMING_NONE);
    const removed = await removedByCheck(gw, client(), '10.1.2.3', CLAIMING_NONE);
    expect(removed).toEqual(dropped.filter((name) => name !== ENVOY_WRITES));
    expect(removed).toEqual([]);
  });
});
