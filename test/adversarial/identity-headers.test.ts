// Identity headers a caller forges (X-Forwarded-User, Remote-User, X-Amzn-Oidc-Data, client
// certificates, iamgate's own x-iamgate-*): an upstream behind iamgate must be able to trust
// identity headers, so none of the caller's reaches it unless `headers.passThrough` names it. Every
// name on iamgate's list, a member of every prefix family, and every name written out again below
// is sent through the real gateway to a recording upstream.
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/app/config.js';
import { IDENTITY_HEADER_NAMES, IDENTITY_HEADER_PREFIX, IDENTITY_HEADER_PREFIXES, isIdentityHeader } from '../../src/proxy/index.js';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { sendThrough, unionOf, valuesOf } from './support/forwarded.js';
import { exchange } from './support/raw.js';

/** Written out independently of src/proxy/header-classes.ts: removing a name or family from iamgate's list fails this suite. */
const IDENTITY_WRITTEN_HERE = [
  'X-Forwarded-User',
  'X-Forwarded-Email',
  'X-Forwarded-Groups',
  'X-Forwarded-Preferred-Username',
  'X-Forwarded-Access-Token',
  'X-Auth-Request-User',
  'X-Auth-Request-Email',
  'X-Auth-Request-Groups',
  'X-Auth-Request-Preferred-Username',
  'X-Auth-Request-Access-Token',
  'Remote-User',
  'Remote-Email',
  'Remote-Groups',
  'Remote-Name',
  'X-Remote-User',
  'X-Remote-Group',
  'X-Remote-Extra-Scopes',
  'X-User',
  'X-Userinfo',
  'X-Email',
  'X-Authenticated-User',
  'X-Authenticated-Userid',
  'X-Consumer-Id',
  'X-Consumer-Username',
  'X-Consumer-Custom-Id',
  'X-Consumer-Groups',
  'X-Credential-Identifier',
  'X-Jwt-Payload',
  'X-Amzn-Oidc-Data',
  'X-Amzn-Oidc-Identity',
  'X-Amzn-Oidc-Accesstoken',
  'X-Goog-Authenticated-User-Email',
  'X-Goog-Authenticated-User-Id',
  'X-Goog-Iap-Jwt-Assertion',
  'X-MS-CLIENT-PRINCIPAL',
  'X-MS-CLIENT-PRINCIPAL-NAME',
  'X-MS-CLIENT-PRINCIPAL-ID',
  'X-MS-CLIENT-PRINCIPAL-IDP',
  'X-MS-TOKEN-AAD-ID-TOKEN',
  'Cf-Access-Jwt-Assertion',
  'Cf-Access-Authenticated-User-Email',
  'X-Webauth-User',
  'X-Webauth-Email',
  'X-Pomerium-Jwt-Assertion',
  'X-Authentik-Username',
  'X-Vouch-User',
  'X-Client-Cert',
  'X-Forwarded-Client-Cert',
  'X-Forwarded-Tls-Client-Cert',
  'X-Forwarded-Tls-Client-Cert-Info',
  'X-Amzn-Mtls-Clientcert',
  'X-SSL-Client-Cert',
  'Ssl-Client-Cert',
  'Ssl-Client-Verify',
  'Ssl-Client-S-Dn',
  'X-ARR-ClientCert',
];

/** iamgate's own identity headers: always iamgate's value, never the caller's, whatever the configuration. */
const OWN_WRITTEN_HERE = ['X-Iamgate-Principal', 'X-Iamgate-Account', 'X-Iamgate-Session', 'X-Iamgate-Mfa', 'X-Iamgate-Request-Id', 'X-Iamgate-Anything'];

/** A member of every prefix family (`x-amzn-oidc-` gives `x-amzn-oidc-probe`). */
const FAMILY_MEMBERS = IDENTITY_HEADER_PREFIXES.map((p) => (p.endsWith('-') ? `${p}probe` : `${p}-probe`));
const IDENTITY_ALL = unionOf(unionOf(IDENTITY_HEADER_NAMES, FAMILY_MEMBERS), IDENTITY_WRITTEN_HERE);
const FORGED = 'arn:aws:iam::999999999999:user/mallory';

describe('the list of identity headers', () => {
  it('covers every identity header name written out in this suite, by name or family', () => {
    expect(IDENTITY_WRITTEN_HERE.filter((n) => !isIdentityHeader(n.toLowerCase()))).toEqual([]);
  });

  it('leaves iamgate’s own headers out of the list (they are never passed through) but drops them by their prefix', () => {
    expect(OWN_WRITTEN_HERE.every((n) => n.toLowerCase().startsWith(IDENTITY_HEADER_PREFIX))).toBe(true);
    expect(OWN_WRITTEN_HERE.filter((n) => isIdentityHeader(n.toLowerCase()))).toEqual([]);
  });

  it('does not take ordinary headers for identity headers', () => {
    for (const name of ['authorization', 'x-user-agent', 'x-request-id', 'accept', 'x-auth-token', 'x-api-key', 'content-type']) expect([name, isIdentityHeader(name)]).toEqual([name, false]);
  });
});

describe('identity headers by default', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  it.each(IDENTITY_ALL)('never passes the caller’s %s to the upstream', async (name) => {
    const r = await sendThrough(gw, c, '/public/readme', [`${name}: ${FORGED}`, `${name.toUpperCase()}: ${FORGED}`]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).toEqual([]);
  });

  it.each(OWN_WRITTEN_HERE)('replaces the caller’s %s with iamgate’s own value or nothing', async (name) => {
    const r = await sendThrough(gw, c, '/public/readme', [`${name}: ${FORGED}`]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).not.toContain(FORGED);
    expect(valuesOf(r.raw!, 'x-iamgate-principal')).toEqual(['arn:aws:iam::111122223333:user/alice']);
  });

  it('answers a forward-auth call with iamgate’s identity headers only, whatever identity headers the call carried', async () => {
    const forged = IDENTITY_ALL.map((n) => `${n}: ${FORGED}`);
    const lines = ['X-Original-Method: GET', 'X-Original-URI: /public/readme', ...forged];
    const r = await exchange(c.port, `GET /.iamgate/authz HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    expect(r.statuses).toEqual([200]);
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n'));
    expect(head).not.toContain(FORGED);
    expect(head).toMatch(/\r\nx-iamgate-principal: arn:aws:iam::111122223333:user\/alice\r\n/i);
  });
});

describe('headers.passThrough', () => {
  const gw = useTestGateway({ config: { headers: { passThrough: ['X-Forwarded-User', 'x-amzn-oidc-data', 'SSL-Client-Verify'] } } });
  const c = useCallers(gw);

  it('passes the named identity headers with the caller’s value, and drops every other one', async () => {
    const r = await sendThrough(gw, c, '/public/readme', IDENTITY_ALL.map((n) => `${n}: ${FORGED}`));
    expect(r.status).toBe(200);
    const passed = IDENTITY_ALL.filter((n) => valuesOf(r.raw!, n).length > 0);
    expect(passed.sort()).toEqual(['ssl-client-verify', 'x-amzn-oidc-data', 'x-forwarded-user']);
    for (const name of passed) expect(valuesOf(r.raw!, name)).toEqual([FORGED]);
  });

  it('never passes iamgate’s own headers, which it cannot name', async () => {
    const r = await sendThrough(gw, c, '/public/readme', OWN_WRITTEN_HERE.map((n) => `${n}: ${FORGED}`));
    expect(r.status).toBe(200);
    for (const name of OWN_WRITTEN_HERE) expect(valuesOf(r.raw!, name)).not.toContain(FORGED);
  });

  it.each([
    ['x-iamgate-principal', "iamgate's own header"],
    ['content-type', 'not an identity header'],
    ['x_forwarded_user', 'holds "_"'],
    ['x forwarded user', 'not a header name'],
    [7, 'must be a string'],
  ])('refuses %j at load, naming the entry', (entry, message) => {
    // Development mode: a production configuration would also be asked for the audit trail's signing key.
    const read = readConfig({ version: 1, mode: 'development', headers: { passThrough: ['x-forwarded-user', entry] } }, {}, undefined);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.problems).toEqual([expect.objectContaining({ path: 'headers.passThrough[1]', message: expect.stringContaining(message) })]);
  });
});
