// An identity provider is trusted for who a caller is, not for how its claims are written. A claim
// that iamgate carries into a principal, a session it issues, an audit record or a log line (the
// subject, the audiences, a mapped user name or tag) and that holds a control character, a Unicode
// line separator or more than 1024 characters is refused with the token, once, where the token is verified: it never
// reaches a record or the upstream, and never costs a request that carries a good token any work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalFromToken } from '../../src/auth/claims.js';
import { useAuthFixture } from '../auth/fixture.js';
import { exampleResolver } from '../auth/helpers.js';
import { rawRequest } from '../support/net.js';
import { ANY_WORKLOAD_DIRECTORY, ANY_WORKLOAD_ROLE } from './support/any-workload.js';
import { startIdp, type Idp } from './support/idp.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

/** Subjects no record or header may carry as they are, each with a mark that must not appear anywhere. */
const HOSTILE: readonly [string, string][] = [
  ['CR/LF', 'ci:app\r\n{"forged":"cr-lf-mark"}'],
  ['NUL', 'ci:app\u0000nul-mark'],
  ['NEL (C1)', 'ci:app\u0085nel-mark'],
  ['U+2028', 'ci:app\u2028ls-mark'],
  ['U+2029', 'ci:app\u2029ps-mark'],
  // Within the default 8 KB a token may take (a larger one is refused before it is read).
  ['4 KB', `ci:big-mark-${'b'.repeat(4 * 1024)}`],
];
const markOf = (sub: string): string => /[a-z]+-mark/.exec(sub)![0];

describe('claims of a verified token that iamgate would carry as text', () => {
  const f = useAuthFixture({ directoryYaml: ANY_WORKLOAD_DIRECTORY, webIdentityRoles: ['AnyWorkload'] });

  it.each(HOSTILE)('refuses as a bearer a workload token whose subject holds %s: 401 token_claim_invalid, the subject in no detail', async (_, sub) => {
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${await f.serviceAccountToken(sub)}` });
    expect(outcome).toMatchObject({ ok: false, status: 401, code: 'token_claim_invalid' });
    expect(JSON.stringify(outcome)).not.toContain(markOf(sub));
  });

  it.each(HOSTILE)('refuses AssumeRoleWithWebIdentity for a token whose subject holds %s, and no event names the subject', async (_, sub) => {
    const before = f.events.length;
    const res = await f.post('/AssumeRoleWithWebIdentity', { RoleArn: ANY_WORKLOAD_ROLE, RoleSessionName: 'worker-1', WebIdentityToken: await f.serviceAccountToken(sub) });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_identity_token' } });
    const events = f.events.slice(before);
    expect(events).toEqual([expect.objectContaining({ action: 'AssumeRoleWithWebIdentity', outcome: 'denied', code: 'invalid_identity_token' })]);
    expect(JSON.stringify(events)).not.toContain(markOf(sub));
  });

  it('refuses a workload token one of whose audiences holds a line separator, where a plain audience list is read', async () => {
    const refused = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${await f.serviceAccountToken('ci:app', ['iamgate', 'x\u2028aud-mark'] as unknown as string)}` });
    expect(refused).toMatchObject({ ok: false, status: 401, code: 'token_claim_invalid' });
    const read = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${await f.serviceAccountToken('ci:app', ['iamgate', 'other-aud'] as unknown as string)}` });
    expect(read.ok).toBe(true);
  });

  it('still reads a subject of non-ASCII text or a lone surrogate, whose session name is written in the characters a session name holds', async () => {
    for (const sub of ['ci:orgéapp', 'ci:組織', 'ci:org\ud800app']) {
      const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${await f.serviceAccountToken(sub)}` });
      if (!outcome.ok) throw new Error(`${sub} was refused: ${outcome.code}`);
      expect(outcome.principal.sessionName).toMatch(/^[\w+=,.@-]{2,64}$/);
    }
  });
});

describe('claims of a people token mapped to a user and its tags', () => {
  const kind = { kind: 'user', claims: { user: 'preferred_username', tags: { team: 'team_claim' }, amrMfa: false } } as const;
  const now = Date.parse('2026-06-01T00:00:00Z');
  const payload = (claims: Record<string, unknown>) => ({ iss: 'https://idp', iat: now / 1000, exp: now / 1000 + 600, ...claims });

  it.each(HOSTILE)('refuses a user-name or tag claim holding %s as token_claim_invalid, the value in no detail', async (_, hostile) => {
    const resolver = await exampleResolver();
    for (const claims of [{ preferred_username: hostile }, { preferred_username: 'alice', team_claim: hostile }]) {
      const outcome = principalFromToken('https://idp', kind, payload(claims), resolver, now, 0);
      expect(outcome).toMatchObject({ ok: false, status: 401, code: 'token_claim_invalid' });
      expect(JSON.stringify(outcome)).not.toContain(markOf(hostile));
    }
  });

  it('reads a tag claim of other scripts as the principal tag it maps to', async () => {
    const outcome = principalFromToken('https://idp', kind, payload({ preferred_username: 'alice', team_claim: 'équipe 組織' }), await exampleResolver(), now, 0);
    expect(outcome.ok && outcome.principal.context['aws:PrincipalTag/team']).toBe('équipe 組織');
  });
});

describe('a people token with a hostile claim, sent to a gateway wired as iamgate serve wires it', () => {
  let idp: Idp;
  let gw: RealGateway;
  beforeAll(async () => {
    idp = await startIdp();
    gw = await startRealGateway({ issuers: [idp.issuerConfig({ claims: { user: 'sub', tags: { team: 'team' } } })] });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  it.each(HOSTILE)('answers a user or tag claim holding %s with 401 token_claim_invalid and one record, the upstream never asked', async (_, hostile) => {
    for (const claims of [idp.claims(hostile, Date.now()), idp.claims('alice', Date.now(), { team: hostile })]) {
      const before = gw.upstream.arrivals();
      const res = await rawRequest(`${gw.url}/orders/1`, { headers: { authorization: `Bearer ${await idp.token(claims)}` } });
      const id = res.headers['x-iamgate-request-id'] as string;
      expect([res.status, (JSON.parse(res.body) as { code?: string }).code, gw.audit.decisionsFor(id).length]).toEqual([401, 'token_claim_invalid', 1]);
      expect(gw.upstream.arrivals()).toBe(before);
      expect(JSON.stringify(gw.audit.decisionsFor(id)) + res.body).not.toContain(markOf(hostile));
    }
  });
});
