// The same request through iamgate's front doors — the proxy, forward-auth behind a real nginx
// and a real Caddy, Envoy's HTTP ext_authz dialect and the gRPC ext_authz server (a real
// @grpc/grpc-js client) — must be decided the same way: the same decision, reason, action, resource and
// condition context (aws:SourceIp, aws:SecureTransport, query and header keys). A door that lets
// through what another refuses is the way around the other.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/gateway/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { extAuthzClient, type ExtAuthzClient } from '../support/grpc.js';
import { authRequestServer, startNginx, type RunningNginx } from '../support/nginx.js';
import { startCaddy, type RunningCaddy } from '../support/caddy.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { exchange } from './support/raw.js';

type Door = 'proxy' | 'nginx' | 'caddy' | 'envoy-http' | 'grpc';
const DOORS: readonly Door[] = ['proxy', 'nginx', 'caddy', 'envoy-http', 'grpc'];

interface Case {
  readonly method: string;
  readonly target: string;
  readonly user?: 'alice' | 'bob';
  readonly headers?: readonly (readonly [string, string])[];
  /** The reason every door answers with (`allowed` for an allow). */
  readonly want: string;
  /**
   * Where a door that only decides answers otherwise, by design and never more leniently: it
   * refuses a target it would have to normalise (the proxy forwards the normalised one), and a
   * header the proxy drops before forwarding but the other proxy would pass on. `refused` is
   * nginx refusing the request itself, before asking iamgate.
   */
  readonly nginx?: string;
  /**
   * Caddy (the Traefik dialect) also replaces the caller's X-Forwarded-For and -Proto with its own
   * (the caller's address, `http`), passes headers with `_` and a Connection-listed header's
   * removal on to iamgate, and reads methods and targets as Go does.
   */
  readonly caddy?: string;
  readonly envoy?: string;
  readonly grpc?: string;
}

/** A target forward-auth and ext_authz refuse as not normalised, and the proxy decides as `want`. */
const NORMALISED = { nginx: 'bad_path', caddy: 'bad_path', envoy: 'bad_path', grpc: 'bad_path' } as const;

/** What a door's decision is compared on: the one audit record the request left. */
type Seen = Record<string, unknown>;

function seenOf(e: AuditEventInput | undefined, status: number): Seen {
  if (!e) return { reason: status >= 400 ? 'refused' : `unaudited ${status}` };
  const r = e as unknown as Record<string, unknown>;
  const principal = r['principal'] as { arn?: string } | undefined;
  return {
    decision: r['decision'],
    reason: r['reason'],
    action: r['action'],
    resource: r['resource'],
    sourceIp: r['sourceIp'],
    principal: principal?.arn,
  };
}

describe('one request through every front door', () => {
  let gw: TestGateway;
  let nginx: RunningNginx;
  let caddy: RunningCaddy;
  let grpc: ExtAuthzClient;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway({ files: ADVERSARIAL_FIXTURES, config: { trustedProxies: ['127.0.0.1'], extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } } });
    nginx = await startNginx(authRequestServer(gw.url, gw.upstream.url));
    caddy = await startCaddy(`  route {\n    forward_auth ${new URL(gw.url).host} {\n      uri /.iamgate/authz\n      copy_headers X-Iamgate-Principal X-Iamgate-Account X-Iamgate-Mfa X-Iamgate-Request-Id\n    }\n    reverse_proxy ${new URL(gw.upstream.url).host}\n  }`);
    grpc = extAuthzClient(gw.gateway.extAuthzAddress!);
    for (const user of ['alice', 'bob']) tokens[user] = await gw.bearer(user);
  });

  afterAll(async () => {
    grpc?.close();
    await nginx?.close();
    await caddy?.close();
    await gw?.close();
  });

  function headerLines(c: Case): [string, string][] {
    const lines: [string, string][] = c.user ? [['Authorization', tokens[c.user]!]] : [];
    for (const [n, v] of c.headers ?? []) lines.push([n, v]);
    return lines;
  }

  function raw(port: number, requestLine: string, lines: readonly (readonly [string, string])[], host = 'orders.example'): Promise<number> {
    const text = `${requestLine} HTTP/1.1\r\nHost: ${host}\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`;
    return exchange(port, text).then((r) => r.statuses[0] ?? 0);
  }

  /** The doors iamgate answers itself (no proxy in front that could answer first). */
  const IAMGATE_DOORS: ReadonlySet<Door> = new Set<Door>(['proxy', 'envoy-http', 'grpc']);

  async function through(door: Door, c: Case): Promise<Seen> {
    const before = gw.audit.events.length;
    const arrived = gw.upstream.arrivals();
    const lines = headerLines(c);
    let status: number;
    switch (door) {
      case 'proxy':
        status = await raw(Number(new URL(gw.url).port), `${c.method} ${c.target}`, lines);
        break;
      case 'nginx':
        status = await raw(Number(new URL(nginx.url).port), `${c.method} ${c.target}`, lines);
        break;
      case 'caddy':
        // Caddy answers only the site's own host.
        status = await raw(Number(new URL(caddy.url).port), `${c.method} ${c.target}`, lines, new URL(caddy.url).host);
        break;
      case 'envoy-http':
        status = await raw(Number(new URL(gw.url).port), `${c.method} /.iamgate/authz${c.target}`, lines);
        break;
      case 'grpc': {
        const answer = await grpc.check({
          attributes: {
            source: { address: { socket_address: { address: '127.0.0.1', port_value: 51000 } } },
            request: {
              http: {
                method: c.method,
                path: c.target,
                host: 'orders.example',
                scheme: 'http',
                protocol: 'HTTP/1.1',
                header_map: { headers: lines.map(([n, v]) => ({ key: n.toLowerCase(), raw_value: Buffer.from(v) })) },
              },
            },
          },
        });
        status = answer.denied_response?.status?.code ?? 200;
        break;
      }
    }
    const events = gw.audit.events.slice(before).filter((e) => e.kind !== 'outcome');
    // iamgate's own doors leave exactly one record for every answer; nginx and Caddy answer some
    // requests themselves without asking iamgate, so behind them it is at most one.
    if (IAMGATE_DOORS.has(door)) expect(events.length, `${door} ${c.method} ${c.target}: audit records`).toBe(1);
    else expect(events.length, `${door} ${c.method} ${c.target}: audit records`).toBeLessThanOrEqual(1);
    // Nothing reaches the upstream without a decision that allowed it.
    const allowed = events[0]?.decision === 'Allow';
    if (!allowed) expect(gw.upstream.arrivals() - arrived, `${door} ${c.method} ${c.target}: forwarded undecided`).toBe(0);
    return seenOf(events[0], status);
  }

  const CASES: readonly Case[] = [
    { method: 'GET', target: '/orders/1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/%31', user: 'alice', want: 'allowed', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1', user: 'alice', want: 'explicit_deny' },
    { method: 'GET', target: '/orders/%73ecret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/secret%2D1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/secret%2d1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/./secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/x/../secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '//orders/secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders//secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/%2e%2e/orders/secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/se%63ret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/%6Frders/secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/./orders/secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1/.', user: 'alice', want: 'no_route', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1/..', user: 'alice', want: 'no_route', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1/%2e', user: 'alice', want: 'no_route', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1/', user: 'alice', want: 'no_route' },
    { method: 'GET', target: '/orders/secret-1;x', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders%2Fsecret-1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret-1%2e', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret-1.', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/%E2%80%8Bsecret-1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/secret%252D1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret\\1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/1%00', user: 'alice', want: 'bad_path', nginx: 'refused' },
    { method: 'GET', target: '/../orders/secret-1', user: 'alice', want: 'bad_path', nginx: 'refused', envoy: 'reserved_path' },
    { method: 'GET', target: '/orders/é', user: 'alice', want: 'malformed_request', nginx: 'bad_path', grpc: 'bad_path', caddy: 'allowed' },
    { method: 'GET', target: '/ORDERS/1', user: 'alice', want: 'no_route' },
    { method: 'GET', target: '/orders/1?x=1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/secret-1?', user: 'alice', want: 'explicit_deny' },
    { method: 'GET', target: '/orders/secret-1%3F', user: 'alice', want: 'explicit_deny' },
    { method: 'GET', target: '/orders/secret-1%23', user: 'alice', want: 'explicit_deny' },
    { method: 'GET', target: '/orders/1?_method=DELETE', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/*', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/%C3%A9', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/%c3%a9', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status=open', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status=closed', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?status=open&status=closed', user: 'alice', want: 'ambiguous_parameter' },
    { method: 'GET', target: '/orders?status=%6Fpen', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status=%6fpen', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status=open%00', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?Status=open', user: 'alice', want: 'ambiguous_parameter' },
    { method: 'GET', target: '/orders?status=open;status=closed', user: 'alice', want: 'ambiguous_parameter' },
    { method: 'GET', target: '/orders?status[]=open', user: 'alice', want: 'ambiguous_parameter' },
    { method: 'GET', target: '/orders?status=open+', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?%73tatus=open', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status=Open', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?status', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?status=', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?status=open&', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?&status=open', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders?status%3Dopen', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/orders?status=open&x=%zz', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders?status=open%26status%3Dclosed', user: 'alice', want: 'implicit_deny' },
    { method: 'HEAD', target: '/orders/secret-1', user: 'alice', want: 'explicit_deny' },
    { method: 'get', target: '/orders/1', user: 'alice', want: 'malformed_request', nginx: 'refused', grpc: 'no_route', caddy: 'allowed' },
    // A method node:http cannot read: the deciding doors decide it as the route map says (ANY).
    { method: 'BREW', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console']], want: 'malformed_request', nginx: 'allowed', grpc: 'allowed', caddy: 'allowed' },
    { method: 'Get', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console']], want: 'malformed_request', nginx: 'refused', grpc: 'allowed', caddy: 'allowed' },
    { method: 'DELETE', target: '/orders/1', user: 'alice', want: 'no_route' },
    { method: 'GET', target: '/orders/1', want: 'token_missing' },
    { method: 'GET', target: '/orders/1', user: 'bob', want: 'implicit_deny' },
    { method: 'GET', target: '/users/alice/orders/1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/users/bob/orders/1', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/users/ALICE/orders/1', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/users/%61lice/orders/1', user: 'alice', want: 'allowed', ...NORMALISED },
    { method: 'GET', target: '/users/alice%2F..%2Fbob/orders/1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/users/alice/../bob/orders/1', user: 'alice', want: 'implicit_deny', ...NORMALISED },
    { method: 'GET', target: '/teams/red/docs/1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/teams/re%64/docs/1', user: 'alice', want: 'allowed', ...NORMALISED },
    { method: 'GET', target: '/teams/blue/docs/1', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console']], want: 'allowed' },
    { method: 'POST', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console']], want: 'allowed' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'other']], want: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console'], ['X-Client-Id', 'other']], want: 'ambiguous_parameter' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console, other']], want: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', ' ops-console ']], want: 'allowed' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console\t']], want: 'allowed' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', '\tops-console']], want: 'allowed' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['x-client-id', 'ops-console']], want: 'allowed' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', '']], want: 'implicit_deny' },
    // UTF-8 on the wire: upstreams read it as Latin-1 or as UTF-8, so no condition can know the value.
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-consolé']], want: 'ambiguous_parameter' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console\u00a0']], want: 'ambiguous_parameter' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'OPS-CONSOLE']], want: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X_Client_Id', 'ops-console']], want: 'implicit_deny', envoy: 'ambiguous_parameter', grpc: 'ambiguous_parameter', caddy: 'ambiguous_parameter' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console'], ['X_Client_Id', 'other']], want: 'allowed', envoy: 'ambiguous_parameter', grpc: 'ambiguous_parameter', caddy: 'ambiguous_parameter' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console'], ['Connection', 'X-Client-Id']], want: 'bad_header', nginx: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console'], ['X-HTTP-Method-Override', 'DELETE']], want: 'allowed', nginx: 'forward_auth_ambiguous', envoy: 'forward_auth_ambiguous', caddy: 'forward_auth_ambiguous' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-\u0000console']], want: 'malformed_request', nginx: 'refused', caddy: 'refused' },
    { method: 'GET', target: '/admin/users', user: 'alice', headers: [['X-Client-Id', 'ops-console'], ['X Client', 'x']], want: 'malformed_request', nginx: 'refused', caddy: 'refused' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '203.0.113.5']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '203.0.113.5, 10.0.0.1']], want: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '10.0.0.1, 203.0.113.5']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '10.0.0.1'], ['X-Forwarded-For', '203.0.113.5']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '203.0.113.5:80']], want: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '::ffff:203.0.113.5']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '203.0.113.5, 127.0.0.1']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['Forwarded', 'for=203.0.113.5']], want: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Real-IP', '203.0.113.5']], want: 'implicit_deny' },
    { method: 'GET', target: '/reports/1', user: 'alice', headers: [['X-Forwarded-For', '']], want: 'implicit_deny' },
    { method: 'GET', target: '/internal/1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/internal/1', user: 'alice', headers: [['X-Forwarded-For', '203.0.113.5']], want: 'implicit_deny', caddy: 'allowed' },
    { method: 'GET', target: '/invoices/1', user: 'alice', want: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Proto', 'https']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Proto', 'https, http']], want: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Proto', 'https'], ['X-Forwarded-Proto', 'http']], want: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Proto', 'HTTPS']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Proto', ' https ']], want: 'allowed', caddy: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['X-Forwarded-Ssl', 'on']], want: 'implicit_deny' },
    { method: 'GET', target: '/invoices/1', user: 'alice', headers: [['Forwarded', 'proto=https']], want: 'implicit_deny' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Transfer-Encoding', 'chunked']], want: 'allowed' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Content-Length', '0'], ['Content-Length', '0']], want: 'malformed_request', nginx: 'refused', caddy: 'allowed' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Upgrade', 'h2c'], ['Connection', 'Upgrade']], want: 'unsupported_upgrade', nginx: 'allowed' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Expect', '100-continue']], want: 'allowed' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Expect', 'fancy']], want: 'expectation_failed', nginx: 'allowed', caddy: 'refused' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['X-Original-URI', '/orders/secret-1']], want: 'allowed', envoy: 'forward_auth_ambiguous', caddy: 'forward_auth_ambiguous' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['Authorization', 'Bearer x']], want: 'token_malformed', nginx: 'refused' },
    { method: 'GET', target: '/orders/1', user: 'alice', headers: [['X-Iamgate-Principal', 'arn:aws:iam::111122223333:user/bob']], want: 'allowed' },
    { method: 'GET', target: '/.iamgate/authz', user: 'alice', want: 'forward_auth_incomplete', nginx: 'no_route', envoy: 'no_route', grpc: 'no_route', caddy: 'no_route' },
    { method: 'GET', target: '/.iamgate/healthz', user: 'alice', want: 'reserved_path', nginx: 'no_route', envoy: 'no_route', grpc: 'no_route', caddy: 'no_route' },
    { method: 'GET', target: '/%2eiamgate/authz', user: 'alice', want: 'forward_auth_incomplete', nginx: 'bad_path', envoy: 'bad_path', grpc: 'bad_path', caddy: 'bad_path' },
    { method: 'GET', target: '/public/readme', want: 'token_missing' },
    { method: 'GET', target: '/orders/secret-1#x', user: 'alice', want: 'bad_path', caddy: 'explicit_deny' },
    { method: 'GET', target: '/orders/1#/../secret-1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: 'http://x/orders/secret-1', user: 'alice', want: 'bad_path', nginx: 'explicit_deny', envoy: 'reserved_path', caddy: 'unaudited 200' },
    { method: 'GET', target: '*', user: 'alice', want: 'bad_path', nginx: 'refused', envoy: 'reserved_path' },
    { method: 'GET', target: '/orders/secret-1?#', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret-1%09', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/%2F..%2Fsecret-1', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret-1%2F', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/.%2e/orders/secret-1', user: 'alice', want: 'explicit_deny', ...NORMALISED },
    { method: 'GET', target: '/orders/secret-1%3B', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/SECRET-1', user: 'alice', want: 'allowed' },
    { method: 'GET', target: '/orders/secret-1%u0041', user: 'alice', want: 'bad_path', nginx: 'refused', caddy: 'refused' },
    { method: 'GET', target: '/orders/%u0073ecret-1', user: 'alice', want: 'bad_path', nginx: 'refused', caddy: 'refused' },
    { method: 'GET', target: '/orders/secret-1\\u0000', user: 'alice', want: 'bad_path' },
    { method: 'GET', target: '/orders/secret-1 HTTP/1.1', user: 'alice', want: 'malformed_request', nginx: 'refused', grpc: 'bad_path', caddy: 'refused' },
    { method: 'GET', target: '/users/alice/orders/1?x=/../bob', user: 'alice', want: 'allowed' },
  ];

  it.each(CASES.map((c) => [`${c.method} ${c.target} ${JSON.stringify(c.headers ?? [])} as ${c.user ?? 'nobody'}`, c] as const))('decides %s alike at every door', async (_name, c) => {
    const seen: Partial<Record<Door, Seen>> = {};
    for (const door of DOORS) seen[door] = await through(door, c);
    const expected: Record<Door, string> = { proxy: c.want, nginx: c.nginx ?? c.want, caddy: c.caddy ?? c.want, 'envoy-http': c.envoy ?? c.want, grpc: c.grpc ?? c.want };
    expect(Object.fromEntries(DOORS.map((d) => [d, seen[d]!['reason']]))).toEqual(expected);
    // Doors that reached the same answer reached it on the same request: the same action, resource
    // (built from the path), principal and aws:SourceIp.
    // Caddy replaces the caller's X-Forwarded-For with the caller's own address, as it should.
    const forgedFor = (c.headers ?? []).some(([n]) => n.toLowerCase() === 'x-forwarded-for');
    for (const door of DOORS.slice(1)) {
      if (expected[door] !== c.want) continue;
      if (door === 'caddy' && forgedFor) expect([door, { ...seen[door], sourceIp: '?' }, seen[door]!['sourceIp']]).toEqual([door, { ...seen['proxy'], sourceIp: '?' }, '127.0.0.1']);
      else expect([door, seen[door]]).toEqual([door, seen['proxy']]);
    }
  });
});
