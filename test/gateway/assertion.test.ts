// The signed identity assertion, end to end: a real `iamgate serve` sends it to a real upstream
// that fetches the published JWKS from iamgate's operations port and verifies each assertion with
// jose; a copy sent by the client never reaches the upstream.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTION_JWKS_PATH } from '../../src/assertion/index.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { tokenFor } from '../audit/served.js';
import { FIXTURES } from '../support/gateway.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const HEADER = 'x-service-identity';

/** What the upstream saw of one request: every copy of the header, and the verified claims or why verification failed. */
interface Seen {
  readonly copies: readonly string[];
  readonly claims?: JWTPayload;
  readonly error?: string;
}

/** An upstream that verifies the assertion of every request against the JWKS at `jwksUrl` (set once iamgate runs). */
async function startVerifyingUpstream(): Promise<{ url: string; seen: Seen[]; jwksUrl: (url: string) => void; close(): Promise<void> }> {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const copies: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === HEADER) copies.push(req.rawHeaders[i + 1]!);
    req.resume();
    const verify = jwks && copies.length === 1 ? jwtVerify(copies[0]!, jwks, { audience: 'orders-service', issuer: 'iamgate-test', algorithms: ['EdDSA'] }) : Promise.reject(new Error(`${copies.length} copies`));
    verify.then(
      (r) => seen.push({ copies, claims: r.payload }),
      (err: unknown) => seen.push({ copies, error: err instanceof Error ? err.message : String(err) }),
    ).finally(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    jwksUrl: (url) => (jwks = createRemoteJWKSet(new URL(url))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const DIRECTORY = `version: 1
account: "111122223333"
partition: aws
groups:
  readers:
    inlinePolicies:
      Read:
        Version: "2012-10-17"
        Statement:
          - { Effect: Allow, Action: "orders:GetOrder", Resource: "arn:aws:orders:us-east-1:111122223333:order/*" }
users:
  alice:
    groups: [readers]
    tags: { team: payments, tier: gold }
`;

let dir: string;
let upstream: Awaited<ReturnType<typeof startVerifyingUpstream>>;
let server: ServeProcess;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-assertion-'));
  upstream = await startVerifyingUpstream();
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'directory.yaml'), DIRECTORY);
  config = join(dir, 'iamgate.yaml');
  await writeFile(
    config,
    [
      'version: 1',
      'mode: development',
      'listen: { host: 127.0.0.1, port: 0 }',
      'operations: { host: 127.0.0.1, port: 0 }',
      `upstream: { url: "${upstream.url}" }`,
      `policies: { directory: policies/directory.yaml, routes: "${FIXTURES.routes}" }`,
      'assertion: { audience: orders-service, issuer: iamgate-test, header: X-Service-Identity, ttlSeconds: 30 }',
      'auth:',
      '  sts: { enabled: false }',
      '  issuers:',
      '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
    ].join('\n') + '\n',
  );
  server = await startServe(config, {});
  upstream.jwksUrl(`http://127.0.0.1:${server.opsPort}${ASSERTION_JWKS_PATH}`);
}, CHILD_PROCESS_TEST_MS);

afterAll(async () => {
  server?.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Calls the gateway as alice with extra headers; the request id iamgate gave the request. */
async function callAsAlice(path: string, headers: Record<string, string> = {}): Promise<{ status: number; requestId: string | null }> {
  const token = await tokenFor(config, 'alice');
  const res = await fetch(`http://127.0.0.1:${server.gatewayPort}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  await res.arrayBuffer();
  return { status: res.status, requestId: res.headers.get('x-iamgate-request-id') };
}

describe('the identity assertion sent to the upstream', () => {
  it('verifies with the published JWKS and names the caller, its groups and tags, the request, the audience and a short lifetime', async () => {
    const { status, requestId } = await callAsAlice('/orders/7');
    expect(status).toBe(200);
    const last = upstream.seen.at(-1);
    expect(last?.error).toBeUndefined();
    const claims = last?.claims as JWTPayload;
    expect(claims).toMatchObject({
      iss: 'iamgate-test',
      aud: 'orders-service',
      sub: 'arn:aws:iam::111122223333:user/alice',
      account: '111122223333',
      groups: ['readers'],
      tags: { team: 'payments', tier: 'gold' },
      mfa: false,
      jti: requestId,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(30);
  });

  it('is one per request: a second request from the same caller carries its own request id', async () => {
    const first = await callAsAlice('/orders/1');
    const second = await callAsAlice('/orders/2');
    const ids = upstream.seen.slice(-2).map((s) => s.claims?.jti);
    expect(ids).toEqual([first.requestId, second.requestId]);
    expect(new Set(ids).size).toBe(2);
  });

  it('never passes on a copy the client sent: the upstream sees only iamgate\'s, which verifies', async () => {
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcm46YXdzOmlhbTo6MTExMTIyMjIzMzMzOnVzZXIvcm9vdCJ9.';
    const { status } = await callAsAlice('/orders/3', { [HEADER]: forged, 'X-Service_Identity': forged });
    expect(status).toBe(200);
    const last = upstream.seen.at(-1);
    expect(last?.copies).toHaveLength(1);
    expect(last?.copies[0]).not.toBe(forged);
    expect(last?.error).toBeUndefined();
    expect(last?.claims?.sub).toBe('arn:aws:iam::111122223333:user/alice');
  });

  it('is published as a JWKS on the operations port and on the gateway\'s reserved path alike', async () => {
    const ops = (await (await fetch(`http://127.0.0.1:${server.opsPort}${ASSERTION_JWKS_PATH}`)).json()) as { keys: { kid: string; alg: string; d?: string }[] };
    const gw = (await (await fetch(`http://127.0.0.1:${server.gatewayPort}${ASSERTION_JWKS_PATH}`)).json()) as unknown;
    expect(gw).toEqual(ops);
    expect(ops.keys.length).toBeGreaterThan(0);
    for (const key of ops.keys) {
      expect(key.alg).toBe('EdDSA');
      expect(key.d).toBeUndefined();
    }
  });
});
