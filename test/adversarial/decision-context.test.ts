// Request-derived condition keys an attacker writes himself: the transport a trusted proxy reports
// (aws:SecureTransport) when the caller adds X-Forwarded-Proto values of its own, and condition
// keys taken from the query under a name the upstream may read in another case.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_SOURCE_ADDRESS } from '../../src/gateway/index.js';
import { useTestGateway, type TestGateway } from '../support/gateway.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { exchange, jsonOf } from './support/raw.js';

/** Sends `GET target` as alice with extra header lines; the status, the error body and what reached the upstream. */
async function get(gw: TestGateway, target: string, lines: readonly string[] = []): Promise<{ status: number; body: Record<string, unknown>; forwarded: number }> {
  const port = Number(new URL(gw.url).port);
  const before = gw.upstream.arrivals();
  const r = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
  const status = r.statuses[0] ?? 0;
  return { status, body: status === 200 ? {} : jsonOf(r.text), forwarded: gw.upstream.arrivals() - before };
}

/** `GET target` as alice is refused as ambiguous_parameter, and nothing reaches the upstream. */
async function expectAmbiguous(gw: TestGateway, target: string): Promise<void> {
  const r = await get(gw, target);
  expect([r.status, r.body['code'], r.forwarded]).toEqual([400, 'ambiguous_parameter', 0]);
}

describe('aws:SecureTransport through a trusted proxy', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES, config: { trustedProxies: ['127.0.0.1/32'] } });

  it.each([
    ['one https value', ['X-Forwarded-Proto: https']],
    ['https in capitals', ['X-Forwarded-Proto: HTTPS']],
    ['https from every proxy of a chain', ['X-Forwarded-Proto: https, https']],
  ])('holds for %s', async (_name, lines) => {
    expect((await get(gw, '/invoices/1', lines)).status).toBe(200);
  });

  // A proxy that appends (a second line, or `, http` after the caller's value) rather than
  // replacing leaves the caller's own claim first: any value that is not https means plain HTTP.
  it.each([
    ['the caller’s https before the proxy’s http, in two lines', ['X-Forwarded-Proto: https', 'X-Forwarded-Proto: http']],
    ['the caller’s https before the proxy’s http, in one list', ['X-Forwarded-Proto: https, http']],
    ['http before https', ['X-Forwarded-Proto: http, https']],
    ['an empty value beside https', ['X-Forwarded-Proto: https', 'X-Forwarded-Proto:']],
    ['an empty entry in the list', ['X-Forwarded-Proto: https,,https']],
    ['no X-Forwarded-Proto, only Forwarded', ['Forwarded: for=203.0.113.5;proto=https']],
  ])('does not hold for %s', async (_name, lines) => {
    const r = await get(gw, '/invoices/1', lines);
    expect([r.status, r.body['reason'], r.forwarded]).toEqual([403, 'implicit_deny', 0]);
  });
});

describe('aws:SourceIp through a trusted proxy whose X-Forwarded-For does not name the client', () => {
  // The proxy (127.0.0.1) is trusted and inside the range the policy allows (127.0.0.0/8): a
  // request it forwards must never be taken for one it made itself.
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES, config: { trustedProxies: ['127.0.0.1/32'] } });

  it.each([
    ['no X-Forwarded-For: the proxy called itself', [], 200],
    ['a client inside the range', ['X-Forwarded-For: 127.0.0.9'], 200],
    ['a client outside the range', ['X-Forwarded-For: 203.0.113.5'], 403],
  ] as const)('is decided on %s', async (_name, lines, status) => {
    expect((await get(gw, '/internal/1', lines)).status).toBe(status);
  });

  it.each([
    ['an address with a port', 'X-Forwarded-For: 203.0.113.5:4711'],
    ['a bracketed IPv6 address with a port', 'X-Forwarded-For: [2001:db8::1]:443'],
    ['a name', 'X-Forwarded-For: client.example'],
    ['an empty entry after the client', 'X-Forwarded-For: 203.0.113.5,'],
    ['a malformed entry after a trusted hop', 'X-Forwarded-For: not-an-address, 127.0.0.1'],
  ])('is never the proxy’s own address, nor null, when the proxy wrote %s', async (_name, line) => {
    // Both of alice's statements on /internal/1 read aws:SourceIp: one wants 127.0.0.0/8, the
    // other (CallersWithoutAddress) a null address. An unknown address must satisfy neither.
    const r = await get(gw, '/internal/1', [line]);
    expect([r.status, r.body['reason'], r.forwarded]).toEqual([403, 'implicit_deny', 0]);
    expect(gw.audit.decisionsFor(String(r.body['requestId']))[0]?.['sourceIp']).toBe(UNKNOWN_SOURCE_ADDRESS);
  });
});

describe('aws:SecureTransport from a peer that is not a trusted proxy', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });

  it('ignores its X-Forwarded-Proto: https', async () => {
    const r = await get(gw, '/invoices/1', ['X-Forwarded-Proto: https']);
    expect([r.status, r.body['reason'], r.forwarded]).toEqual([403, 'implicit_deny', 0]);
  });
});

describe('a query parameter feeding a condition key, in another case', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });

  // ASP.NET Core, Spring's ignore-case binders and PHP frameworks that fold names read `Status`
  // as `status`: the value the upstream acts on would not be the one decided on.
  it.each([
    ['beside the parameter', '?status=open&Status=closed'],
    ['before the parameter', '?STATUS=closed&status=open'],
    ['percent-encoded, beside the parameter', '?status=open&%53tatus=closed'],
    ['alone', '?Status=closed'],
    ['as a list beside the parameter', '?status=open&Status[]=closed'],
  ])('is refused %s with 400, forwarding nothing', async (_name, query) => {
    await expectAmbiguous(gw, `/orders${query}`);
  });

  it('leaves parameters of other names alone', async () => {
    expect((await get(gw, '/orders?status=open&statuses=closed&xstatus=closed')).status).toBe(200);
  });
});

describe('a query parameter feeding a condition key, read otherwise by a reader that splits at ;', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });

  // Rack 2 (Rails, Sinatra), Perl's CGI.pm and Python's parse_qs before 3.9.2 split a query at `;`
  // as at `&`: the upstream would read another status, or one where iamgate read none.
  it.each([
    ['after another parameter', '?status=open&x=1;status=closed'],
    ['inside the parameter itself', '?status=open;status=closed'],
    ['as the only occurrence', '?x=1;status=closed'],
    ['in another case', '?status=open&x=1;Status=closed'],
  ])('is refused %s with 400, forwarding nothing', async (_name, query) => {
    await expectAmbiguous(gw, `/orders${query}`);
  });

  it('still decides a ; that both readings agree on, or that is encoded', async () => {
    expect((await get(gw, '/orders?status=open&note=a;b')).status).toBe(200);
    expect((await get(gw, '/orders?status=open&x=1%3Bstatus=closed')).status).toBe(200);
  });
});

describe('a header feeding a condition key, also sent with underscores', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });

  /** Asks forward-auth about GET /admin/users as alice, with extra header lines; the answer's status. */
  async function ask(lines: readonly string[]): Promise<number> {
    const r = await get(gw, '/.iamgate/authz', ['X-Original-URI: /admin/users', 'X-Original-Method: GET', ...lines]);
    return r.status;
  }

  it('is decided on the hyphenated header alone, as a baseline', async () => {
    expect(await ask(['X-Client-Id: ops-console'])).toBe(200);
  });

  // Behind forward-auth or ext_authz the proxy, not iamgate, forwards the request: CGI and FastCGI
  // upstreams (PHP, Caddy's php_fastcgi) read X_Client_Id and X-Client-Id as one HTTP_X_CLIENT_ID.
  it.each([
    ['after it', ['X-Client-Id: ops-console', 'X_Client_Id: other']],
    ['before it', ['x_client_id: other', 'X-Client-Id: ops-console']],
    ['alone', ['X_CLIENT_ID: ops-console']],
  ])('is refused as ambiguous when the underscored name comes %s', async (_name, lines) => {
    const r = await get(gw, '/.iamgate/authz', ['X-Original-URI: /admin/users', 'X-Original-Method: GET', ...lines]);
    expect([r.status, r.body['code']]).toEqual([400, 'ambiguous_parameter']);
  });
});

describe('a query parameter with _ in its name feeding a condition key, spelt as PHP reads it', () => {
  // The adversarial routes with the status taken from `order_status`.
  const dir = mkdtempSync(join(tmpdir(), 'iamgate-php-names-'));
  const routes = join(dir, 'routes.yaml');
  writeFileSync(routes, readFileSync(ADVERSARIAL_FIXTURES.routes, 'utf8').replace('orders:Status: { query: status }', 'orders:Status: { query: order_status }'));
  const gw = useTestGateway({ files: { directory: ADVERSARIAL_FIXTURES.directory, routes } });

  it('decides the parameter as written, as a baseline', async () => {
    expect((await get(gw, '/orders?order_status=open')).status).toBe(200);
  });

  it('decides it beside names PHP reads otherwise: longer, shorter, or another letter outside ASCII', async () => {
    expect((await get(gw, '/orders?order_status=open&order.statuses=x&order.statu=x&ord%C3%A9r.status=x')).status).toBe(200);
  });

  // PHP (Laravel, Symfony) drops leading spaces of a name and reads ` `, `.` and `[` in it as `_`.
  it.each([
    ['with a dot', '?order_status=open&order.status=closed'],
    ['with a space', '?order_status=open&order+status=closed'],
    ['with an unmatched bracket', '?order_status=open&order[status=closed'],
    ['after leading spaces', '?order_status=open&%20order_status=closed'],
    ['in another case', '?order_status=open&ORDER.Status=closed'],
    ['cut at a NUL', '?order_status=open&order.status%00x=closed'],
  ])('is refused beside a twin %s with 400, forwarding nothing', async (_name, query) => {
    await expectAmbiguous(gw, `/orders${query}`);
  });
});
