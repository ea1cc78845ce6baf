// Resource exhaustion, bounded (small counts, loopback only, every exchange has a deadline): a flood
// of made-up `kid`s and issuers must not hammer the identity provider's JWKS endpoint, and
// connections that send their headers slowly, or too many of them, must not stop other callers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/net.js';
import { useTestGateway } from '../support/gateway.js';
import { makeSigningKey, signCompact, startIdp, type Idp, type SigningKey } from './support/idp.js';
import { exchange, sleep } from './support/raw.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

describe('a flood of unknown keys and issuers', () => {
  let t = Date.now();
  const now = (): number => t;
  let idp: Idp;
  let attacker: SigningKey;
  let gw: RealGateway;

  beforeAll(async () => {
    idp = await startIdp();
    attacker = await makeSigningKey();
    gw = await startRealGateway({
      issuers: [idp.issuerConfig({ jwks: { cooldownSeconds: 30, refreshSeconds: 600, timeoutMs: 1000 } })],
      now,
    });
  });

  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  async function call(token: string): Promise<{ status: number; code: unknown }> {
    const res = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, code: res.status === 200 ? undefined : (JSON.parse(res.body) as Record<string, unknown>)['code'] };
  }

  const madeUp = (n: number, prefix: string): Promise<string[]> =>
    Promise.all(Array.from({ length: n }, (_, i) => signCompact(attacker, { alg: 'ES256', kid: `${prefix}-${i}` }, idp.claims('alice', now()))));

  it('fetches the JWKS once, then not again for unknown kids within the cooldown', async () => {
    expect((await call(await idp.token(idp.claims('alice', now())))).status).toBe(200);
    expect(idp.fetches()).toBe(1);
    for (const token of await madeUp(20, 'seq')) expect(await call(token)).toEqual({ status: 401, code: 'token_key_unknown' });
    const burst = await Promise.all((await madeUp(20, 'burst')).map(call));
    expect(burst.every((r) => r.status === 401 && r.code === 'token_key_unknown')).toBe(true);
    expect(idp.fetches()).toBe(1);
  });

  it('fetches exactly once for a burst of unknown kids after the cooldown, and keeps verifying', async () => {
    t += 31_000;
    const burst = await Promise.all((await madeUp(20, 'later')).map(call));
    expect(burst.map((r) => r.code)).toEqual(Array(20).fill('token_key_unknown'));
    expect(idp.fetches()).toBe(2);
    expect((await call(await idp.token(idp.claims('alice', now())))).status).toBe(200);
    expect(idp.fetches()).toBe(2);
  });

  it('never fetches anything for tokens of unknown issuers', async () => {
    t += 31_000;
    const before = idp.fetches();
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signCompact(attacker, { alg: 'ES256', kid: `x-${i}` }, { ...idp.claims('alice', now()), iss: `https://idp-${i}.example` })),
    );
    const answers = await Promise.all(tokens.map(call));
    expect(answers.map((r) => r.code)).toEqual(Array(20).fill('token_issuer_unknown'));
    expect(idp.fetches()).toBe(before);
  });
});

describe('slow and oversized headers', () => {
  const gw = useTestGateway({ config: { limits: { maxHeaderBytes: 8192 } } });
  let port: number;
  let alice: string;

  beforeAll(async () => {
    port = Number(new URL(gw.url).port);
    alice = await gw.bearer('alice');
  });

  it('keeps answering others while twenty connections trickle their headers', async () => {
    const stop = { now: false };
    const trickles = Array.from({ length: 20 }, (_, i) =>
      exchange(port, `GET /public/slow-${i} HTTP/1.1\r\nHost: x\r\n`, {
        timeoutMs: 1200,
        drive: async (socket) => {
          for (let k = 0; !stop.now && !socket.destroyed && k < 20; k++) {
            socket.write(`X-Trickle-${k}: a\r\n`);
            await sleep(50);
          }
        },
      }),
    );
    await sleep(200);
    const before = gw.upstream.received.length;
    const res = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: alice } });
    expect(res.status).toBe(200);
    expect(gw.upstream.received.slice(before).map((r) => r.url)).toEqual(['/public/readme']);
    stop.now = true;
    const ended = await Promise.all(trickles);
    // None of the trickled requests was ever complete, so none was decided or forwarded.
    expect(ended.flatMap((r) => r.statuses).filter((s) => s < 400)).toEqual([]);
    expect(gw.upstream.received.filter((r) => r.url.startsWith('/public/slow-'))).toEqual([]);
  });

  it('answers 431 and closes once slowly sent headers pass the size limit', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n`, {
      timeoutMs: 4000,
      drive: async (socket) => {
        for (let k = 0; !socket.destroyed && k < 60; k++) {
          socket.write(`X-Pad-${k}: ${'a'.repeat(400)}\r\n`);
          await sleep(10);
        }
      },
    });
    expect(r.statuses).toEqual([431]);
    expect(r.closedByServer).toBe(true);
    expect(gw.upstream.arrivals()).toBe(before);
  });
});
