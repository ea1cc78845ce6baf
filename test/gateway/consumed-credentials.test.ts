// What the upstream receives of the credentials iamgate consumed. iamgate verifies the caller's
// bearer token (a people token or its own STS session token) from Authorization, and TOTP codes
// only in the bodies of its STS endpoints, which it answers itself. None of them reaches the
// upstream, which gets iamgate's identity headers instead: a compromised or logging upstream must
// not be able to replay them. What iamgate does not read (a token in the query string, a cookie)
// is the application's own and passes unchanged. Real gateway, real upstream recording what it
// received, real keys and TOTP codes.
import { generate } from 'otplib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConfigFile } from '../adversarial/support/served.js';
import { tokenFor, writeServedConfig, type ServedFiles } from '../audit/served.js';
import { startTestUpstream, type Received, type TestUpstream } from '../support/upstream.js';
import type { Iamgate } from '../../src/app/index.js';

interface Started {
  readonly upstream: TestUpstream;
  readonly files: ServedFiles;
  readonly served: Iamgate;
}

async function start(upstreamKeys?: string): Promise<Started> {
  const upstream = await startTestUpstream();
  const files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, ...(upstreamKeys !== undefined ? { upstream: upstreamKeys } : {}) });
  return { upstream, files, served: await serveConfigFile(files.config) };
}

async function stop(s: Started | undefined): Promise<void> {
  await s?.served.stop(1000);
  await s?.upstream.close();
  await s?.files.remove();
}

async function post(s: Started, path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await request(`${s.served.gateway.url}/.iamgate/sts/${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const parsed = (await res.body.json()) as Record<string, unknown>;
  expect([path, res.statusCode]).toEqual([path, 200]);
  return parsed;
}

/** Everything the upstream was sent for one request: its target and every header line. */
const seen = (r: Received): string => [r.url, ...r.rawHeaders].join('\n');

describe('credentials iamgate consumed, as the upstream receives the request', () => {
  let s: Started;
  let carol: string;
  let session: string;
  const codes: string[] = [];

  beforeAll(async () => {
    s = await start();
    carol = await tokenFor(s.files.config, 'carol');
    const secret = (await post(s, 'mfa/enroll', carol, {}))['SecretBase32'] as string;
    const step = Math.floor(Date.now() / 1000);
    codes.push(await generate({ secret, epoch: step }), await generate({ secret, epoch: step + 30 }));
    await post(s, 'mfa/confirm', carol, { TokenCode: codes[0] });
    const issued = await post(s, 'GetSessionToken', carol, { TokenCode: codes[1] });
    session = (issued['Credentials'] as { SessionToken: string }).SessionToken;
  }, 60_000);

  afterAll(async () => {
    await stop(s);
  });

  it('never forwards the STS calls themselves, nor their TOTP codes: iamgate answers them', () => {
    expect(s.upstream.received.filter((r) => r.url.startsWith('/.iamgate'))).toEqual([]);
    for (const r of s.upstream.received) for (const code of codes) expect(seen(r)).not.toContain(code);
  });

  it('sends the upstream iamgate’s identity headers instead of the caller’s STS session token, and passes the application’s own query token and cookie', async () => {
    const res = await request(`${s.served.gateway.url}/orders/7?access_token=app-query-token`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session}`, cookie: 'app_session=app-cookie-value', 'x-iamgate-mfa-code': codes[1]! },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const got = s.upstream.received.at(-1)!;
    expect(got.url).toBe('/orders/7?access_token=app-query-token');
    expect(got.headers['authorization']).toBeUndefined();
    expect(seen(got)).not.toContain(session);
    expect(seen(got)).not.toContain(session.split('.')[2]);
    expect(seen(got)).not.toContain(codes[1]);
    expect(got.headers['cookie']).toBe('app_session=app-cookie-value');
    expect(got.headers).toMatchObject({ 'x-iamgate-principal': 'arn:aws:iam::111122223333:user/carol', 'x-iamgate-mfa': 'true' });
  });

  it('does not forward a people token either', async () => {
    const alice = await tokenFor(s.files.config, 'alice');
    const res = await request(`${s.served.gateway.url}/orders/8`, { headers: { authorization: `Bearer ${alice}` } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const got = s.upstream.received.at(-1)!;
    expect(got.headers['authorization']).toBeUndefined();
    expect(seen(got)).not.toContain(alice.split('.')[2]);
    expect(got.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  });
});

describe('upstream.forwardAuthorization: true, for an upstream that verifies the token itself', () => {
  let s: Started | undefined;
  afterAll(async () => {
    await stop(s);
  });

  it('forwards the caller’s Authorization header as sent, beside the identity headers', async () => {
    s = await start('forwardAuthorization: true');
    const alice = await tokenFor(s.files.config, 'alice');
    const res = await request(`${s.served.gateway.url}/orders/9`, { headers: { authorization: `Bearer ${alice}` } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    const got = s.upstream.received.at(-1)!;
    expect(got.headers['authorization']).toBe(`Bearer ${alice}`);
    expect(got.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  }, 60_000);
});
