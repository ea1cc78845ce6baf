// STS calls decided on the request they arrive in: the caller's own policies may refuse by where
// the call comes from (aws:SourceIp), how (aws:SecureTransport) and when (aws:CurrentTime), and a
// key the call does not carry must not pass over a Deny written on it. Over real HTTP, with the
// real authenticator and iamgate's STS, as `iamgate serve` assembles them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/net.js';
import type { Idp } from './support/idp.js';
import type { RealGateway } from './support/real-gateway.js';
import { startStsGateway, type StsGateway } from './support/sts-gateway.js';

const ALLOW_STS = '{ Effect: Allow, Action: ["sts:AssumeRole", "iamgate:RevokeSessions"], Resource: "*" }';
/** Each user may assume Worker and revoke sessions, unless its one Deny says otherwise. */
const DIRECTORY = `
version: 1
account: "111122223333"
partition: aws
users:
  plain-http-denied:
    inlinePolicies:
      P: { Version: "2012-10-17", Statement: [${ALLOW_STS}, { Effect: Deny, Action: "*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }
  loopback-denied:
    inlinePolicies:
      P: { Version: "2012-10-17", Statement: [${ALLOW_STS}, { Effect: Deny, Action: "*", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } } }] }
  expired:
    inlinePolicies:
      P: { Version: "2012-10-17", Statement: [${ALLOW_STS}, { Effect: Deny, Action: "*", Resource: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } } }] }
  agent-denied:
    inlinePolicies:
      P: { Version: "2012-10-17", Statement: [${ALLOW_STS}, { Effect: Deny, Action: "*", Resource: "*", Condition: { StringLike: { "aws:UserAgent": "blocked-agent*" } } }] }
  unrestricted:
    inlinePolicies:
      P: { Version: "2012-10-17", Statement: [${ALLOW_STS}] }
roles:
  Worker:
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole }]
`;

describe('STS calls decided on the request they arrive in', () => {
  let sts: StsGateway;
  let idp: Idp;
  let gw: RealGateway;

  beforeAll(async () => {
    sts = await startStsGateway(DIRECTORY);
    ({ idp, gw } = sts);
  });

  afterAll(async () => {
    await sts?.close();
  });

  async function call(user: string, action: 'AssumeRole' | 'RevokeSessions', userAgent = 'test-client'): Promise<{ status: number; code: string }> {
    const body = action === 'AssumeRole' ? { RoleArn: 'arn:aws:iam::111122223333:role/Worker', RoleSessionName: 'probe' } : { PrincipalArn: 'arn:aws:iam::111122223333:role/Worker', Before: '2000-01-01T00:00:00Z' };
    const res = await rawRequest(`${gw.url}/.iamgate/sts/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await idp.token(idp.claims(user, Date.now()))}`, 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify(body),
    });
    const parsed = JSON.parse(res.body) as Record<string, unknown>;
    return { status: res.status, code: typeof parsed['code'] === 'string' ? parsed['code'] : 'ok' };
  }

  it.each(['AssumeRole', 'RevokeSessions'] as const)('lets %s through for a caller whose policies allow it, as a baseline', async (action) => {
    expect(await call('unrestricted', action)).toEqual({ status: 200, code: 'ok' });
  });

  it.each([
    ['a Deny on plain HTTP', 'plain-http-denied'],
    ['a Deny on the caller’s address', 'loopback-denied'],
    ['a Deny after a date', 'expired'],
  ])('refuses AssumeRole and RevokeSessions to a caller whose policies hold %s', async (_name, user) => {
    expect(await call(user, 'AssumeRole')).toEqual({ status: 403, code: 'access_denied' });
    expect(await call(user, 'RevokeSessions')).toEqual({ status: 403, code: 'access_denied' });
  });

  it('records the address every STS call came from, allowed, denied or refused before its operation', async () => {
    const before = gw.audit.events.length;
    await call('unrestricted', 'AssumeRole');
    await call('loopback-denied', 'RevokeSessions');
    await rawRequest(`${gw.url}/.iamgate/sts/AssumeRole`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const sts = gw.audit.events.slice(before).filter((e) => e.kind === 'sts' || e.kind === 'revocation');
    expect(sts.map((e) => [e.action, e.reason, e.sourceIp])).toEqual([
      ['sts:AssumeRole', 'allowed', '127.0.0.1'],
      ['iamgate:RevokeSessions', 'caller_not_allowed', '127.0.0.1'],
      ['sts:AssumeRole', 'token_missing', '127.0.0.1'],
    ]);
  });

  it('refuses AssumeRole and RevokeSessions to a caller whose policies deny its user agent, and only that agent', async () => {
    expect(await call('agent-denied', 'AssumeRole', 'blocked-agent/1.0')).toEqual({ status: 403, code: 'access_denied' });
    expect(await call('agent-denied', 'RevokeSessions', 'blocked-agent/1.0')).toEqual({ status: 403, code: 'access_denied' });
    expect(await call('agent-denied', 'AssumeRole', 'other-agent')).toEqual({ status: 200, code: 'ok' });
  });
});
