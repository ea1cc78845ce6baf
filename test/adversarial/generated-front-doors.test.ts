// Generated (caller, method, path) triples decided through every front door iamgate answers itself:
// the proxy (raw socket), forward-auth in nginx's and Traefik's dialects, Envoy's HTTP ext_authz
// dialect and the gRPC ext_authz server (a real @grpc/grpc-js client). Each leaves exactly one
// audit record. Where no door has anything to normalise (an upper-case method, a path already in
// its normal form, not under iamgate's own prefix) every door decides alike: the same decision and
// reason. Whatever the triple, no door allows what the proxy would refuse for the request the
// upstream is to act on (the method upper-cased, the path normalised; decided by the engine, as the
// proxy cannot read a method such as BREW that a route for any method allows): the doors that only
// decide may refuse more (a path they would have to normalise), never less. front-doors.test.ts pins
// examples through real nginx and Caddy as well.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeTarget } from '../../src/gateway/index.js';
import { decideOffline, resolvePrincipal } from '../../src/policy-testing/index.js';
import { runsOf, useGeneratedGateway, type User } from './support/generated.js';
import { exchange } from './support/raw.js';
import { ALLOWED, pathMutation } from './support/requests.js';

type Door = 'proxy' | 'nginx' | 'traefik' | 'envoy-http' | 'grpc';
const DOORS: readonly Door[] = ['proxy', 'nginx', 'traefik', 'envoy-http', 'grpc'];

interface Triple {
  readonly user: User | undefined;
  readonly method: string;
  readonly target: string;
  /** Condition headers the route reads (X-Client-Id), sent through every door alike. */
  readonly headers: readonly (readonly [string, string])[];
}

/** What a door decided: the decision and reason of the one record it left. */
interface Seen {
  readonly decision: unknown;
  readonly reason: unknown;
}

const gw = useGeneratedGateway();

/** The bases whose decision needs nothing a door carries differently (no forwarding headers). */
const BASES = ALLOWED.filter((r) => r.headers.every(([n]) => n === 'X-Client-Id'));

const triple: fc.Arbitrary<Triple> = fc
  .tuple(
    fc.constantFrom(...BASES),
    fc.array(pathMutation, { maxLength: 3 }),
    fc.constantFrom<User | undefined>('alice', 'alice', 'bob', undefined),
    fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'get', 'Get', 'BREW'),
  )
  .map(([base, mutations, user, method]) => ({ user, method, target: mutations.reduce((r, m) => m(r), base).target, headers: base.headers }));

function lines(t: Triple, extra: readonly string[]): string {
  const all = [...(t.user ? [`Authorization: ${gw.bearer[t.user]}`] : []), ...t.headers.map(([n, v]) => `${n}: ${v}`), ...extra, 'Connection: close'];
  return `Host: orders.example\r\n${all.map((l) => `${l}\r\n`).join('')}\r\n`;
}

async function ask(door: Door, t: Triple): Promise<void> {
  switch (door) {
    case 'proxy':
      await exchange(gw.port, Buffer.from(`${t.method} ${t.target} HTTP/1.1\r\n${lines(t, [])}`, 'latin1'), { timeoutMs: 5000 });
      return;
    case 'nginx':
      await exchange(gw.port, Buffer.from(`GET /.iamgate/authz HTTP/1.1\r\n${lines(t, [`X-Original-Method: ${t.method}`, `X-Original-URI: ${t.target}`])}`, 'latin1'), { timeoutMs: 5000 });
      return;
    case 'traefik':
      await exchange(gw.port, Buffer.from(`GET /.iamgate/authz HTTP/1.1\r\n${lines(t, [`X-Forwarded-Method: ${t.method}`, `X-Forwarded-Uri: ${t.target}`])}`, 'latin1'), { timeoutMs: 5000 });
      return;
    case 'envoy-http':
      await exchange(gw.port, Buffer.from(`${t.method} /.iamgate/authz${t.target} HTTP/1.1\r\n${lines(t, [])}`, 'latin1'), { timeoutMs: 5000 });
      return;
    case 'grpc': {
      const headers = [...(t.user ? [['authorization', gw.bearer[t.user]] as const] : []), ...t.headers.map(([n, v]) => [n.toLowerCase(), v] as const)];
      await gw.grpc.check({
        attributes: {
          source: { address: { socket_address: { address: '127.0.0.1', port_value: 51000 } } },
          request: { http: { method: t.method, path: Buffer.from(t.target, 'latin1').toString('utf8'), host: 'orders.example', scheme: 'http', protocol: 'HTTP/1.1', header_map: { headers: headers.map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) } } },
        },
      });
      return;
    }
  }
}

/** Sends the triple through one door; what the one record it left says. */
async function through(door: Door, t: Triple, shown: string): Promise<Seen> {
  const arrived = gw.upstream.arrivals();
  await gw.fresh();
  await ask(door, t);
  const fresh = await gw.fresh();
  expect([shown, door, fresh.length]).toEqual([shown, door, 1]);
  const seen = { decision: fresh[0]!['decision'], reason: fresh[0]!['reason'] };
  // Only the proxy forwards, and only what it allowed. A path that climbs out of the Envoy form's
  // endpoint (`/.iamgate/authz/%2e%2e/%2e%2e/orders/1`) is the proxied request it resolves to
  // (forward-auth.test.ts): its record is the proxy's.
  const forwarded = gw.upstream.arrivals() - arrived;
  const proxied = door === 'proxy' || (door === 'envoy-http' && fresh[0]!.kind === 'request');
  expect([shown, door, forwarded]).toEqual([shown, door, proxied && seen.decision === 'Allow' ? 1 : 0]);
  return seen;
}

/** No door has anything to normalise: an upper-case method, a path already normal, outside iamgate's prefix. */
function plain(t: Triple): boolean {
  const n = normalizeTarget(t.target);
  const q = t.target.indexOf('?');
  const path = q < 0 ? t.target : t.target.slice(0, q);
  return n.ok && n.target.path === path && !path.startsWith('/.iamgate') && t.method === t.method.toUpperCase() && t.method !== 'BREW';
}

/** The target the upstream is to act on when `door` allows: the Envoy form's path resolved, where it climbs out of the endpoint. */
function actedOn(door: Door, target: string): ReturnType<typeof normalizeTarget> {
  const whole = normalizeTarget(`/.iamgate/authz${target}`);
  return door === 'envoy-http' && whole.ok && !whole.target.path.startsWith('/.iamgate/') ? whole : normalizeTarget(target);
}

let compared = 0;

async function decideEverywhere(t: Triple): Promise<void> {
  const shown = JSON.stringify({ ...t, user: t.user ?? 'nobody' });
  const seen = {} as Record<Door, Seen>;
  for (const door of DOORS) seen[door] = await through(door, t, shown);
  if (plain(t)) {
    compared++;
    for (const door of DOORS) expect([shown, door, seen[door]]).toEqual([shown, door, seen.proxy]);
    return;
  }
  // A door allowed a request it had to read leniently (a method node:http cannot parse, in another
  // case; the Envoy form's path climbing out of its endpoint): the engine must allow the request the
  // upstream is to act on, the method upper-cased and the path normalised, for the same caller.
  for (const door of DOORS.filter((d) => seen[d].decision === 'Allow')) {
    const n = actedOn(door, t.target);
    expect([shown, door, n.ok, t.user !== undefined]).toEqual([shown, door, true, true]);
    if (!n.ok || t.user === undefined) return;
    const principal = resolvePrincipal(gw.world, { user: t.user }, Date.now())!;
    const path = n.target.query === undefined ? n.target.path : `${n.target.path}?${n.target.query}`;
    const d = decideOffline(gw.world, principal, { method: t.method.toUpperCase(), path, headers: Object.fromEntries(t.headers) }, {}, Date.now());
    expect([shown, door, d.decision]).toEqual([shown, door, 'Allow']);
  }
}

describe('a generated (caller, method, path) triple', () => {
  it('is decided alike by the proxy, forward-auth, and HTTP and gRPC ext_authz where none normalises, and no door allows what the proxy refuses', async () => {
    await fc.assert(fc.asyncProperty(triple, decideEverywhere), runsOf(Number(process.env['FC_RUNS'] ?? 150)));
    expect(compared).toBeGreaterThan(20);
  }, 240_000);
});
