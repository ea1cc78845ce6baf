// Condition keys the gateway owns: what they say comes from the verified token, the directory and
// the connection, never from what a caller writes. Alice holds none of what the policy asks for; she
// writes each owned key's value herself, as token claims (named as AWS names the key, and as AWS's
// own claims for tags and source identity), as query parameters, and as the headers proxies and
// identity providers use, from a peer that is not a trusted proxy. Every statement of the policy
// reads one owned key, so any key she could set would allow her: none does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/net.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { startIdp, type Idp } from './support/idp.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

const ACCOUNT = '111122223333';
/** One statement per owned key; each allows GetOrder when its key holds what alice lacks. */
const OWNED: Record<string, Record<string, Record<string, unknown>>> = {
  MfaPresent: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
  MfaAge: { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } },
  Tag: { StringEquals: { 'aws:PrincipalTag/clearance': 'high' } },
  UserName: { StringEquals: { 'aws:username': 'admin' } },
  PrincipalArn: { StringEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/admin` } },
  UserId: { StringLike: { 'aws:userid': 'ADMIN*' } },
  SourceIp: { IpAddress: { 'aws:SourceIp': '10.9.9.9/32' } },
  SecureTransport: { Bool: { 'aws:SecureTransport': 'true' } },
  SourceIdentity: { StringEquals: { 'aws:SourceIdentity': 'admin' } },
  TokenIssueTime: { DateLessThan: { 'aws:TokenIssueTime': '2000-01-01T00:00:00Z' } },
  CurrentTime: { DateLessThan: { 'aws:CurrentTime': '2000-01-01T00:00:00Z' } },
  Method: { StringEquals: { 'iamgate:Method': 'DELETE' } },
};

const DIRECTORY = JSON.stringify({
  account: ACCOUNT,
  policies: {
    Owned: {
      document: {
        Version: '2012-10-17',
        Statement: Object.entries(OWNED).map(([Sid, Condition]) => ({ Sid, Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', Condition })),
      },
    },
  },
  users: { alice: { policies: ['Owned'] }, carol: { policies: ['Owned'], tags: { clearance: 'high' } } },
});

let idp: Idp;
let gw: RealGateway;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-owned-keys-'));
  const directory = join(dir, 'directory.yaml');
  await writeFile(directory, DIRECTORY);
  idp = await startIdp();
  gw = await startRealGateway({ issuers: [idp.issuerConfig()], files: { directory, routes: ADVERSARIAL_FIXTURES.routes } });
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The claims alice writes herself: each owned key under its own name, and AWS's claims for tags and source identity. */
const FORGED_CLAIMS: Record<string, unknown> = {
  ...Object.fromEntries(Object.values(OWNED).flatMap((c) => Object.entries(Object.values(c)[0]!))),
  'https://aws.amazon.com/tags': { principal_tags: { clearance: ['high'] } },
  'https://aws.amazon.com/source_identity': 'admin',
  clearance: 'high',
  amr: ['mfa', 'otp'],
  auth_time: 1,
  username: 'admin',
};

const FORGED_QUERY = Object.values(OWNED)
  .flatMap((c) => Object.entries(Object.values(c)[0]!))
  .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}&${k}=${String(v)}`)
  .join('&');

const FORGED_HEADERS: Record<string, string> = {
  'x-forwarded-for': '10.9.9.9',
  'x-real-ip': '10.9.9.9',
  forwarded: 'for=10.9.9.9;proto=https',
  'x-forwarded-proto': 'https',
  'x-forwarded-ssl': 'on',
  'x-iamgate-principal': `arn:aws:iam::${ACCOUNT}:user/admin`,
  'x-iamgate-mfa': 'true',
  'x-forwarded-user': 'admin',
  'x-amzn-oidc-identity': 'admin',
  'x-http-method-override': 'DELETE',
};

async function getOrder(user: string, claims: Record<string, unknown> = {}, query = '', headers: Record<string, string> = {}): Promise<number> {
  const token = await idp.token(idp.claims(user, Date.now(), claims));
  const res = await rawRequest(`${gw.url}/orders/1${query === '' ? '' : `?${query}`}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return res.status;
}

describe('condition keys the gateway owns', () => {
  it('allow carol, whose directory tag one statement reads, as a baseline', async () => {
    expect(await getOrder('carol')).toBe(200);
  });

  it.each([
    ['as token claims', FORGED_CLAIMS, '', {}],
    ['as query parameters, raw and encoded', {}, FORGED_QUERY, {}],
    ['as forwarding, identity and override headers from a peer that is no trusted proxy', {}, '', FORGED_HEADERS],
    ['every way at once', FORGED_CLAIMS, FORGED_QUERY, FORGED_HEADERS],
  ])('are never set by alice %s', async (_how, claims, query, headers) => {
    expect(await getOrder('alice', claims, query, headers)).toBe(403);
  });
});
