// Headers that describe another request than the request line (URL, path, prefix, method, host
// overrides): an upstream or framework that believes one would act on what iamgate never
// authorised, and iamgate's own forward-auth believes some of them. Every name on iamgate's list,
// and every name written out again below, is sent through the real gateway to a recording
// upstream — from an untrusted peer and from a trusted proxy — and must never arrive; repeated in a
// forward-auth call, each one makes the call ambiguous. Forwarding headers (client address, scheme,
// host) pass only from a trusted proxy.
import { describe, expect, it } from 'vitest';
import { DESCRIBING_HEADERS, FORWARDING_HEADERS } from '../../src/proxy/index.js';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { sendThrough, unionOf, valuesOf } from './support/forwarded.js';
import { exchange, jsonOf } from './support/raw.js';

/** Written out independently of src/proxy/header-classes.ts: removing a name from iamgate's list fails this suite. */
const DESCRIBING_WRITTEN_HERE = [
  'X-Original-URL',
  'X-Original-URI',
  'X-Original-Path',
  'X-Rewrite-URL',
  'X-Forwarded-Uri',
  'X-Forwarded-Url',
  'X-Forwarded-Path',
  'X-Forwarded-Prefix',
  'X-Replaced-Path',
  'X-Request-URI',
  'X-Envoy-Original-Path',
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
  'X-Forwarded-Method',
  'X-Original-Method',
  'X-Original-Host',
  'X-Host',
  'X-HTTP-Host-Override',
  'X-Forwarded-Server',
  'X-Envoy-Original-Dst-Host',
];

const FORWARDING_WRITTEN_HERE = [
  'Forwarded',
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-Forwarded-Host',
  'X-Forwarded-Port',
  'X-Forwarded-Scheme',
  'X-Forwarded-Protocol',
  'X-Forwarded-Ssl',
  'X-Url-Scheme',
  'X-Scheme',
  'Front-End-Https',
  'X-Real-IP',
  'X-Client-IP',
  'True-Client-IP',
  'CF-Connecting-IP',
  'Fastly-Client-IP',
  'X-Cluster-Client-IP',
  'X-Originating-IP',
  'X-Envoy-External-Address',
];

const DESCRIBING_ALL = unionOf(DESCRIBING_HEADERS, DESCRIBING_WRITTEN_HERE);
const FORWARDING_ALL = unionOf(FORWARDING_HEADERS, FORWARDING_WRITTEN_HERE);
/** iamgate sets these three itself, so the upstream always gets one value of each. */
const SET_BY_IAMGATE = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
const FORGED = '/admin/users';

describe('the lists of describing and forwarding headers', () => {
  it('holds every describing header name written out in this suite', () => {
    expect(DESCRIBING_HEADERS).toEqual(expect.arrayContaining(DESCRIBING_WRITTEN_HERE.map((n) => n.toLowerCase())));
  });

  it('holds every forwarding header name written out in this suite, and no name is in both lists', () => {
    expect(FORWARDING_HEADERS).toEqual(expect.arrayContaining(FORWARDING_WRITTEN_HERE.map((n) => n.toLowerCase())));
    expect(DESCRIBING_ALL.filter((n) => FORWARDING_ALL.includes(n))).toEqual([]);
  });
});

describe('describing headers from an untrusted caller', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  it.each(DESCRIBING_ALL)('never passes %s to the upstream, in any case spelling', async (name) => {
    const spellings = [name, name.toUpperCase(), name.replace(/(^|-)([a-z])/g, (_, d: string, ch: string) => d + ch.toUpperCase())];
    const r = await sendThrough(gw, c, '/public/readme', spellings.map((s) => `${s}: ${FORGED}`));
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).toEqual([]);
  });

  it.each(FORWARDING_ALL)('drops %s from a peer that is not a trusted proxy', async (name) => {
    const r = await sendThrough(gw, c, '/public/readme', [`${name}: 203.0.113.9`]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).toEqual(SET_BY_IAMGATE.has(name) ? [expect.not.stringContaining('203.0.113.9')] : []);
  });

  it.each(DESCRIBING_ALL)('refuses a forward-auth call that repeats %s as ambiguous', async (name) => {
    const before = gw.upstream.arrivals();
    const lines = ['X-Original-Method: GET', 'X-Original-URI: /public/readme', `${name}: ${FORGED}`, `${name}: ${FORGED}`];
    const r = await exchange(c.port, `GET /.iamgate/authz HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    expect(r.statuses).toEqual([400]);
    expect(jsonOf(r.text)).toMatchObject({ code: 'forward_auth_ambiguous' });
    expect(gw.upstream.arrivals()).toBe(before);
  });
});

describe('describing headers from a trusted proxy', () => {
  const gw = useTestGateway({ config: { trustedProxies: ['127.0.0.1', '::1'] } });
  const c = useCallers(gw);

  it.each(DESCRIBING_ALL)('never passes %s to the upstream, even from a trusted proxy', async (name) => {
    const r = await sendThrough(gw, c, '/public/readme', [`${name}: ${FORGED}`]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).toEqual([]);
  });

  it.each(FORWARDING_ALL)('passes %s from a trusted proxy', async (name) => {
    const r = await sendThrough(gw, c, '/public/readme', [`${name}: 203.0.113.9`]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, name)).toEqual([expect.stringContaining('203.0.113.9')]);
  });
});

describe('the scheme a trusted proxy reports, as the upstream hears it', () => {
  const gw = useTestGateway({ config: { trustedProxies: ['127.0.0.1', '::1'] } });
  const c = useCallers(gw);

  // Express, Rails, Django and most frameworks read the first X-Forwarded-Proto value; iamgate
  // believes https only when every value says it. The upstream must never hear https when iamgate
  // decided on plain HTTP, so disagreeing values reach it as the one value iamgate decided on.
  it.each([
    ['https, then http in one list', ['X-Forwarded-Proto: https, http']],
    ['https, then http in two lines', ['X-Forwarded-Proto: https', 'X-Forwarded-Proto: http']],
    ['https beside an empty entry', ['X-Forwarded-Proto: https,,https']],
    ['https beside an empty line', ['X-Forwarded-Proto: https', 'X-Forwarded-Proto:']],
  ])('sends X-Forwarded-Proto: http for %s', async (_name, lines) => {
    const r = await sendThrough(gw, c, '/public/readme', lines);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, 'x-forwarded-proto')).toEqual(['http']);
  });

  it.each([
    ['one https value', ['X-Forwarded-Proto: https'], 'https'],
    ['https from every proxy of a chain', ['X-Forwarded-Proto: https, https'], 'https'],
    ['one http value', ['X-Forwarded-Proto: http'], 'http'],
  ])('sends the value on for %s', async (_name, lines, value) => {
    const r = await sendThrough(gw, c, '/public/readme', lines);
    expect(valuesOf(r.raw!, 'x-forwarded-proto').map((v) => v.split(',')[0]!.trim())).toEqual([value]);
  });

  // Rails reads X-Forwarded-Ssl and X-Forwarded-Scheme, IIS Front-End-Https, Spring and Tomcat
  // Forwarded's proto: each would make the upstream believe TLS that iamgate did not.
  it.each([
    ['X-Forwarded-Ssl: on'],
    ['Front-End-Https: On'],
    ['X-Forwarded-Scheme: https'],
    ['X-Forwarded-Protocol: https'],
    ['X-Url-Scheme: https'],
    ['X-Scheme: HTTPS'],
    ['Forwarded: for=203.0.113.9;proto=https'],
  ])('drops %s when iamgate decided on plain HTTP', async (line) => {
    const r = await sendThrough(gw, c, '/public/readme', ['X-Forwarded-Proto: http', line]);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, line.slice(0, line.indexOf(':')))).toEqual([]);
  });

  it.each([
    ['X-Forwarded-Ssl: on'],
    ['Forwarded: for=203.0.113.9;proto=https'],
  ])('passes %s when iamgate decided on https', async (line) => {
    const r = await sendThrough(gw, c, '/public/readme', ['X-Forwarded-Proto: https', line]);
    expect(valuesOf(r.raw!, line.slice(0, line.indexOf(':')))).toEqual([line.slice(line.indexOf(':') + 2)]);
  });
});
