import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADERS } from '../../src/proxy/index.js';
import { FIXTURES, useTestGateway, type TestGateway } from '../support/gateway.js';
import { extAuthzClient, headerOf, type ExtAuthzClient } from '../support/grpc.js';
import { TEST_AUDIENCE } from '../support/tokens.js';
import type { PeerIssuer } from '../../src/extauthz/index.js';
import { body, checkOf, requestIdOf } from './check.js';

const DIRECTORY = fileURLToPath(new URL('./fixtures/directory.yaml', import.meta.url));
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const WORKER = 'spiffe://cluster.local/ns/orders/sa/orders-worker';

/** The issuer Kubernetes service-account tokens come from, whose roles mesh peers map to. */
const CLUSTER: PeerIssuer = {
  name: 'cluster',
  issuer: 'https://kubernetes.default.svc',
  audiences: [TEST_AUDIENCE],
  algorithms: ['ES256'],
  developmentKey: false,
  jwks: { cooldownSeconds: 30, refreshSeconds: 300, timeoutMs: 1000, maxStaleSeconds: 86_400 },
  clockToleranceSeconds: 30,
  claims: { user: 'sub', tags: {}, amrMfa: false },
  webIdentity: { keyPrefix: 'kubernetes.default.svc', roles: ['OrdersWorker'] },
};

const extAuthzOn = { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } };

describe('the gRPC ext_authz server', () => {
  const gw = useTestGateway({ config: extAuthzOn, files: { directory: DIRECTORY, routes: FIXTURES.routes } });
  let client: ExtAuthzClient;
  beforeAll(() => {
    client = extAuthzClient(gw.gateway.extAuthzAddress!);
  });
  afterAll(() => client.close());

  it('lists the session and assertion headers for removal even when the check carries no iamgate header', async () => {
    const answer = await client.check(checkOf({ headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.http_response).toBe('ok_response');
    const removed = new Set(answer.ok_response!.headers_to_remove);
    expect(removed.has('x-iamgate-session')).toBe(true);
    expect(removed.has('x-iamgate-assertion')).toBe(true);
    // Every fixed identity header is either set (overwriting the caller's copy) or removed.
    const set = new Set(answer.ok_response!.headers!.map((h) => h.header?.key));
    for (const name of Object.values(IDENTITY_HEADERS)) expect([name, set.has(name) || removed.has(name)]).toEqual([name, true]);
  });

  it('allows with iamgate identity headers set over the caller copies and one ext_authz audit record', async () => {
    const answer = await client.check(
      checkOf({ path: '/orders/12?x=1', headers: { authorization: await gw.bearer('alice'), 'x-iamgate-principal': 'forged', 'x-iamgate-extra': 'forged', x_iamgate_principal: 'forged' } }),
    );
    expect(answer.status?.code).toBe(0);
    expect(answer.http_response).toBe('ok_response');
    const ok = answer.ok_response!;
    expect(headerOf(ok, 'x-iamgate-principal')).toBe(ALICE);
    expect(headerOf(ok, 'x-iamgate-account')).toBe('111122223333');
    expect(headerOf(ok, 'x-iamgate-mfa')).toBe('false');
    expect(ok.headers!.every((h) => h.append_action === 2)).toBe(true);
    // Removed: the caller's iamgate-looking headers iamgate does not set, its credential, the
    // session header (alice has no session) and the assertion header (ext_authz signs none);
    // never a header iamgate sets (Envoy removes after setting).
    expect(new Set(ok.headers_to_remove)).toEqual(new Set(['x-iamgate-session', 'x-iamgate-assertion', 'x-iamgate-extra', 'x_iamgate_principal', 'authorization']));
    const requestId = requestIdOf(answer);
    expect(gw.audit.decisionsFor(requestId)).toEqual([
      expect.objectContaining({ kind: 'ext_authz', decision: 'Allow', reason: 'allowed', action: 'orders:GetOrder', path: '/orders/12', sourceIp: '10.1.2.3', method: 'GET' }),
    ]);
  });

  it('denies 403 with the gateway body and PERMISSION_DENIED, for an implicit and an explicit deny', async () => {
    const implicit = await client.check(checkOf({ method: 'DELETE', path: '/orders/5', headers: { authorization: await gw.bearer('bob') } }));
    expect(implicit.status?.code).toBe(7);
    expect(implicit.denied_response?.status?.code).toBe(403);
    expect(body(implicit)).toMatchObject({ error: 'AccessDenied', reason: 'implicit_deny', action: 'orders:DeleteOrder', requestId: requestIdOf(implicit) });
    expect(headerOf(implicit.denied_response, 'content-type')).toBe('application/json');
    const explicit = await client.check(checkOf({ path: '/orders/secret-1', headers: { authorization: await gw.bearer('bob') } }));
    expect(explicit.status?.code).toBe(7);
    expect(body(explicit)).toMatchObject({ reason: 'explicit_deny' });
    expect(gw.audit.decisionsFor(requestIdOf(explicit))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', reason: 'explicit_deny', status: 403 })]);
  });

  it('answers 401 with the WWW-Authenticate challenge and UNAUTHENTICATED', async () => {
    const anonymous = await client.check(checkOf({}));
    expect(anonymous.status?.code).toBe(16);
    expect(anonymous.denied_response?.status?.code).toBe(401);
    expect(headerOf(anonymous.denied_response, 'www-authenticate')).toBe('Bearer realm="iamgate"');
    const forged = await client.check(checkOf({ headers: { authorization: 'Bearer not-a-token' } }));
    expect(forged.denied_response?.status?.code).toBe(401);
    expect(headerOf(forged.denied_response, 'www-authenticate')).toMatch(/^Bearer realm="iamgate", error="invalid_token"/);
    expect(gw.audit.decisionsFor(requestIdOf(forged))).toHaveLength(1);
  });

  it('refuses an unsafe path with 400, its reason and INVALID_ARGUMENT', async () => {
    const answer = await client.check(checkOf({ path: '/public/..%2fadmin/x', headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.status?.code).toBe(3);
    expect(answer.denied_response?.status?.code).toBe(400);
    expect(body(answer)).toMatchObject({ error: 'BadRequest', code: 'bad_path' });
    expect(typeof body(answer)['reason']).toBe('string');
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', reason: 'bad_path', status: 400 })]);
  });

  it('denies a check without HTTP attributes (or without a method or path) with 400, audited once, and keeps serving', async () => {
    for (const request of [{}, { attributes: { source: { principal: WORKER } } }, { attributes: { request: { http: { path: '/orders/1' } } } }, { attributes: { request: { http: { method: 'GET' } } } }]) {
      const answer = await client.check(request);
      expect(answer.status?.code).toBe(3);
      expect(answer.denied_response?.status?.code).toBe(400);
      expect(body(answer)).toMatchObject({ code: 'ext_authz_incomplete' });
      expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', reason: 'ext_authz_incomplete' })]);
    }
    expect((await client.check(checkOf({ headers: { authorization: await gw.bearer('alice') } }))).status?.code).toBe(0);
  });

  it('denies a check whose method is not printable ASCII with 400, its record holding no part of it', async () => {
    for (const method of ['GE\u2028T', 'GET\u0085', 'G\u00e9T', 'G\nET']) {
      const answer = await client.check(checkOf({ method, headers: { authorization: await gw.bearer('alice') } }));
      expect(answer.denied_response?.status?.code).toBe(400);
      expect(body(answer)).toMatchObject({ code: 'ext_authz_incomplete' });
      const records = gw.audit.decisionsFor(requestIdOf(answer));
      expect(records).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', reason: 'ext_authz_incomplete' })]);
      expect(records[0]?.['method']).toBe('');
    }
  });

  it('refuses more headers than the gateway accepts with 431, and larger ones too', async () => {
    const many: Record<string, string> = { authorization: await gw.bearer('alice') };
    for (let i = 0; i < gw.config.listen.maxHeaders + 1; i++) many[`x-h${i}`] = 'v';
    const tooMany = await client.check(checkOf({ headers: many }));
    expect(tooMany.denied_response?.status?.code).toBe(431);
    expect(body(tooMany)).toMatchObject({ code: 'too_many_headers' });
    const huge = await client.check(checkOf({ headers: { authorization: await gw.bearer('alice'), 'x-big': 'a'.repeat(gw.config.limits.maxHeaderBytes) } }));
    expect(huge.denied_response?.status?.code).toBe(431);
    expect(body(huge)).toMatchObject({ code: 'headers_too_large' });
    expect(gw.audit.decisionsFor(requestIdOf(huge))).toHaveLength(1);
  });

  it('gives policies the proxy context_extensions as iamgate:ContextExtension keys, never a caller header', async () => {
    const erin = await gw.bearer('erin');
    expect((await client.check(checkOf({ headers: { authorization: erin } }))).status?.code).toBe(0);
    const elsewhere = await client.check(checkOf({ headers: { authorization: erin, 'iamgate-contextextension-virtual_host': 'orders' }, extensions: { virtual_host: 'admin' } }));
    expect(elsewhere.status?.code).toBe(7);
    expect((await client.check(checkOf({ headers: { authorization: erin }, extensions: {} }))).status?.code).toBe(7);
  });

  it('does not take a mesh peer identity when peer identity is off', async () => {
    const answer = await client.check(checkOf({ principal: WORKER }));
    expect(answer.denied_response?.status?.code).toBe(401);
  });

  it('answers grpc.health.v1 Check as SERVING for the server and the Authorization service, NOT_FOUND for others', async () => {
    expect(await client.health('')).toEqual({ status: 1 });
    expect(await client.health('envoy.service.auth.v3.Authorization')).toEqual({ status: 1 });
    await expect(client.health('other.Service')).rejects.toMatchObject({ code: 5 });
  });

  it('answers concurrent checks each with its own decision and exactly one audit record each', async () => {
    const alice = await gw.bearer('alice');
    const bob = await gw.bearer('bob');
    const asks = Array.from({ length: 60 }, (_, i) => ({ method: i % 2 === 0 ? 'GET' : 'DELETE', user: i % 3 === 0 ? bob : alice }));
    const answers = await Promise.all(asks.map((a, i) => client.check(checkOf({ method: a.method, path: `/orders/${i}`, headers: { authorization: a.user } }))));
    const ids = new Set(answers.map(requestIdOf));
    expect(ids.size).toBe(asks.length);
    answers.forEach((answer, i) => {
      expect(answer.status?.code).toBe(asks[i]!.method === 'GET' ? 0 : 7);
      expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', path: `/orders/${i}` })]);
    });
  });
});

describe('the gRPC ext_authz server with workload identity from the mesh', () => {
  const gw: TestGateway = useTestGateway({
    config: extAuthzOn,
    files: { directory: DIRECTORY, routes: FIXTURES.routes },
    peerIdentity: { issuer: CLUSTER, trustDomain: 'cluster.local' },
  });
  let client: ExtAuthzClient;
  beforeAll(() => {
    client = extAuthzClient(gw.gateway.extAuthzAddress!);
  });
  afterAll(() => client.close());

  it('maps the peer SPIFFE ID to the role whose trust policy admits the service account', async () => {
    const answer = await client.check(checkOf({ principal: WORKER }));
    expect(answer.status?.code).toBe(0);
    expect(headerOf(answer.ok_response, 'x-iamgate-principal')).toBe('arn:aws:sts::111122223333:assumed-role/OrdersWorker/system.serviceaccount.orders.orders-worker');
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([
      expect.objectContaining({ kind: 'ext_authz', decision: 'Allow', authn: expect.objectContaining({ issuer: CLUSTER.issuer, methods: ['spiffe'] }) }),
    ]);
    const denied = await client.check(checkOf({ method: 'DELETE', path: '/orders/1', principal: WORKER }));
    expect(denied.denied_response?.status?.code).toBe(403);
  });

  it('refuses a service account no role trusts, another trust domain and a non-SPIFFE principal with 401', async () => {
    for (const principal of ['spiffe://cluster.local/ns/orders/sa/other', 'spiffe://evil.example/ns/orders/sa/orders-worker', 'spiffe://cluster.local/ns/orders/sa/orders-worker/x', 'orders-worker']) {
      const answer = await client.check(checkOf({ principal }));
      expect(answer.denied_response?.status?.code, principal).toBe(401);
      expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ reason: 'principal_unknown' })]);
    }
  });

  it('decides as the bearer of a token the caller sends, not as the peer workload', async () => {
    const answer = await client.check(checkOf({ principal: WORKER, headers: { authorization: await gw.bearer('alice') } }));
    expect(headerOf(answer.ok_response, 'x-iamgate-principal')).toBe(ALICE);
  });
});
