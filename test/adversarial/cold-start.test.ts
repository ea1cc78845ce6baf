// The first JWKS fetch: requests that arrive while an issuer's keys are being fetched for the first
// time wait for that fetch (bounded by its deadline) instead of being refused with 503.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp, type Idp } from './support/idp.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

describe('the first JWKS fetch', () => {
  let idp: Idp;
  let slowJwks: http.Server;
  let gw: RealGateway;
  let served = 0;

  beforeAll(async () => {
    idp = await startIdp();
    const body = await (await fetch(idp.jwksUrl)).text();
    // A provider that takes a moment to answer, so every request below arrives during the fetch.
    slowJwks = http.createServer((_req, res) => {
      served++;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), 300);
    });
    await new Promise<void>((r) => slowJwks.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(slowJwks.address() as AddressInfo).port}/jwks.json`;
    gw = await startRealGateway({ issuers: [idp.issuerConfig({ jwksUrl, jwks: { cooldownSeconds: 30, timeoutMs: 2000 } })] });
  });

  afterAll(async () => {
    await gw?.close();
    slowJwks?.closeAllConnections();
    slowJwks?.close();
    await idp?.close();
  });

  it('answers five concurrent valid tokens sent right after start with 200, fetching the keys once', async () => {
    const token = await idp.token(idp.claims('alice', Date.now()));
    const statuses = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const r = await request(`${gw.url}/public/readme`, { headers: { authorization: `Bearer ${token}` } });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(served).toBe(1);
  });
});
