// The reserved endpoints on the gateway port while the first policies are still loading. The STS
// resolves every caller in the directory those policies bring, so until they are loaded it has no
// one to resolve: it answers as the rest of the gateway does then, 503 not_ready with one record,
// never a 500.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { recordingAudit, startWithHeldLoad } from '../support/gateway.js';
import { rawRequest } from '../support/net.js';
import { startIdp, type Idp } from './support/idp.js';

describe('an STS call while the first policies are loading', () => {
  const audit = recordingAudit();
  let idp: Idp;
  let stateDir: string;
  let iamgate: Iamgate;
  let release: () => void = () => undefined;

  beforeAll(async () => {
    idp = await startIdp();
    stateDir = await mkdtemp(join(tmpdir(), 'iamgate-loading-'));
    ({ iamgate, release } = await startWithHeldLoad({ issuers: [idp.issuerConfig()], stateDir, deps: { audit } }));
  });
  afterAll(async () => {
    release();
    await iamgate?.stop(1000);
    await idp?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it.each(['GetSessionToken', 'AssumeRole', 'mfa/enroll', 'mfa/confirm', 'RevokeSessions', 'AssumeRoleWithWebIdentity'])('answers %s 503 not_ready with one record, not 500', async (endpoint) => {
    const token = await idp.token(idp.claims('alice', Date.now()));
    const body = endpoint === 'AssumeRoleWithWebIdentity' ? { RoleArn: 'arn:aws:iam::111122223333:role/reader', RoleSessionName: 'loading-1', WebIdentityToken: token } : { RoleArn: 'arn:aws:iam::111122223333:role/reader', RoleSessionName: 'loading-1', TokenCode: '123456', PrincipalArn: 'arn:aws:iam::111122223333:user/alice' };
    const res = await rawRequest(`${iamgate.gateway.url}/.iamgate/sts/${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const answer = JSON.parse(res.body) as Record<string, unknown>;
    expect([res.status, answer['code']]).toEqual([503, 'not_ready']);
    const requestId = res.headers['x-iamgate-request-id'];
    expect(typeof requestId).toBe('string');
    expect(audit.decisionsFor(requestId as string)).toHaveLength(1);
  });

  it('answers the calls once the policies are loaded', async () => {
    release();
    expect((await iamgate.gateway.initialLoad).ok).toBe(true);
    const token = await idp.token(idp.claims('alice', Date.now()));
    const res = await rawRequest(`${iamgate.gateway.url}/.iamgate/sts/GetSessionToken`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
    expect([res.status, (JSON.parse(res.body) as Record<string, unknown>)['code']]).toEqual([403, 'mfa_required']);
  });
});
