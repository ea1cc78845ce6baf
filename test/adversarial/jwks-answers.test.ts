// An identity provider's JWKS endpoint that answers badly: a body larger than iamgate reads, one
// that never ends, one trickled byte by byte, or text that is no key set. Each costs a bounded
// read and a bounded wait, and the token it should have verified is refused 503 key_unavailable
// (the keys are not there), never accepted and never an exception.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type AuthOutcome } from '../../src/auth/index.js';
import type { PrincipalResolver } from '../../src/identity/index.js';
import { authConfig, exampleResolver, makeKey, sign, testClock, type TestKey } from '../auth/helpers.js';
import { rawRequest } from '../support/net.js';
import { startRealGateway } from './support/real-gateway.js';

const ISS = 'https://idp.hostile-jwks.test';
/** What iamgate reads of a JWKS at most (src/auth/keys/remote.ts). */
const MAX_JWKS_BYTES = 512 * 1024;

type Answer = (res: http.ServerResponse, written: { bytes: number }) => void;

interface HostileJwks {
  readonly url: string;
  /** Body bytes the endpoint has handed to its socket so far. */
  readonly written: { bytes: number };
  answer(answer: Answer): void;
  close(): Promise<void>;
}

async function startHostileJwks(): Promise<HostileJwks> {
  const written = { bytes: 0 };
  let answer: Answer = (res) => void res.writeHead(404).end();
  const server = http.createServer((_req, res) => answer(res, written));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    written,
    answer: (a) => void (answer = a),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `total` bytes of `{"keys":[` padding in 64 KiB chunks as fast as the reader takes them, or until it goes away. */
function stream(total: number, thenHold: boolean): Answer {
  return (res, written) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let closed = false;
    res.on('close', () => void (closed = true));
    const pump = (): void => {
      while (!closed && written.bytes < total) {
        written.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!closed && !thenHold) res.end();
    };
    res.write('{"keys":[');
    pump();
  };
}

describe('a JWKS endpoint that answers badly', () => {
  let key: TestKey;
  let resolver: PrincipalResolver;
  let jwks: HostileJwks;

  beforeAll(async () => {
    [key, resolver] = await Promise.all([makeKey('hostile-1'), exampleResolver()]);
  });
  afterEach(async () => {
    await jwks.close();
  });

  async function verifyOnce(timeoutMs: number): Promise<{ outcome: AuthOutcome; lastError: string | undefined }> {
    const clock = testClock(Date.now());
    const config = authConfig({
      issuers: [{ issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: jwks.url, jwks: { timeoutMs } }],
    });
    const auth = createAuthenticator(config, { resolver: () => resolver, now: clock.now });
    const token = await sign(key, { sub: 'alice' }, { iss: ISS, now: clock.now() });
    const outcome = await auth.authenticate({ authorization: `Bearer ${token}` });
    return { outcome, lastError: auth.status()[0]?.lastError };
  }

  const refusal = (outcome: AuthOutcome): unknown => (outcome.ok ? outcome : { code: outcome.code, status: outcome.status });

  it('is given up as too large as soon as its body passes the limit, without waiting for the rest', async () => {
    jwks = await startHostileJwks();
    // A little over the limit, then the connection held open: only the size can end this read early.
    jwks.answer(stream(MAX_JWKS_BYTES + 128 * 1024, true));
    const { outcome, lastError } = await verifyOnce(10_000);
    expect(refusal(outcome)).toEqual({ code: 'key_unavailable', status: 503 });
    expect(lastError).toMatch(/larger than 524288 bytes/);
  });

  it('reads no more than the limit and a socket’s buffers of a body that goes on and on', async () => {
    jwks = await startHostileJwks();
    jwks.answer(stream(64 * 1024 * 1024, false));
    const { outcome, lastError } = await verifyOnce(10_000);
    expect(refusal(outcome)).toEqual({ code: 'key_unavailable', status: 503 });
    expect(lastError).toMatch(/larger than 524288 bytes/);
    // Loopback socket buffers hold a few MiB at most; reading the whole body would be 64 MiB.
    expect(jwks.written.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('is given up at the fetch deadline when it trickles its body', async () => {
    jwks = await startHostileJwks();
    jwks.answer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(timer));
    });
    const { outcome, lastError } = await verifyOnce(300);
    expect(refusal(outcome)).toEqual({ code: 'key_unavailable', status: 503 });
    expect(lastError).toMatch(/timed out after 300 ms/);
  });

  it('answers the request it could not verify 503 key_unavailable with one record, served as iamgate serve wires it', async () => {
    jwks = await startHostileJwks();
    jwks.answer(stream(64 * 1024 * 1024, false));
    const gw = await startRealGateway({ issuers: [{ name: 'hostile', issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: jwks.url, jwks: { timeoutMs: 10_000 } }] });
    try {
      const token = await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() });
      const before = gw.upstream.arrivals();
      const res = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: `Bearer ${token}` } });
      const body = JSON.parse(res.body) as Record<string, unknown>;
      expect([res.status, body['code'], gw.upstream.arrivals() - before]).toEqual([503, 'key_unavailable', 0]);
      expect(gw.audit.decisionsFor(String(body['requestId']))).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'key_unavailable' })]);
      expect(jwks.written.bytes).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await gw.close();
    }
  });

  it('counts text that is not a key set as a failed fetch, for every kind of wrong text', async () => {
    jwks = await startHostileJwks();
    const bodies = ['garbage', '', 'null', '[]', '{"keys":{}}', '{"keys":[1,"x",null]}', '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hostile-1"}]}', '['.repeat(100_000)];
    const seen: unknown[] = [];
    for (const body of bodies) {
      jwks.answer((res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(body));
      const { outcome, lastError } = await verifyOnce(2000);
      seen.push([body.slice(0, 20), refusal(outcome), typeof lastError]);
    }
    expect(seen).toEqual(bodies.map((body) => [body.slice(0, 20), { code: 'key_unavailable', status: 503 }, 'string']));
  });
});
