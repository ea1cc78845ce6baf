// Header attacks over real HTTP: forging iamgate's identity headers (any case, named hop-by-hop,
// repeated, buried among thousands of others), feeding condition keys several values through
// repeated query parameters and headers, and spoofing the source address from a peer that is not
// a trusted proxy.
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { exchange, jsonOf } from './support/raw.js';

const ALICE_ARN = 'arn:aws:iam::111122223333:user/alice';

/** Values of a header (case-insensitive) in a flat raw header list. */
function valuesOf(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

describe('forged identity headers', () => {
  // Room for the 900-header case below (the default listen.maxHeaders refuses it with 431).
  const gw = useTestGateway({ config: { listen: { host: '127.0.0.1', port: 0, maxHeaders: 1000 } } });
  let port: number;
  let alice: string;

  beforeAll(async () => {
    port = Number(new URL(gw.url).port);
    alice = await gw.bearer('alice');
  });

  /** Sends GET /public/readme with extra header lines; returns the status and what the upstream saw. */
  async function send(lines: readonly string[], version = '1.1'): Promise<{ status: number; raw: readonly string[] }> {
    const before = gw.upstream.received.length;
    const r = await exchange(port, `GET /public/readme HTTP/${version}\r\nHost: x\r\nAuthorization: ${alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    const seen = gw.upstream.received.slice(before);
    expect(seen).toHaveLength(1);
    return { status: r.statuses[0] ?? 0, raw: seen[0]!.rawHeaders };
  }

  function expectOnlyVerified(raw: readonly string[], requestId?: string): void {
    expect(valuesOf(raw, 'x-iamgate-principal')).toEqual([ALICE_ARN]);
    expect(valuesOf(raw, 'x-iamgate-account')).toEqual(['111122223333']);
    expect(valuesOf(raw, 'x-iamgate-mfa')).toEqual(['false']);
    expect(valuesOf(raw, 'x-iamgate-session')).toEqual([]);
    const ids = valuesOf(raw, 'x-iamgate-request-id');
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toBe('forged');
    if (requestId) expect(ids[0]).toBe(requestId);
  }

  const forged = [
    'X-IAMGATE-PRINCIPAL: arn:aws:iam::111122223333:user/root',
    'x-IaMgAtE-mFa: true',
    'X-Iamgate-Account: 999999999999',
    'X-Iamgate-Session: admin',
    'x-iamgate-request-id: forged',
  ];

  it('drops forged identity headers whatever their case', async () => {
    const r = await send(forged);
    expect(r.status).toBe(200);
    expectOnlyVerified(r.raw);
  });

  it('drops them when they are repeated, and over HTTP/1.0', async () => {
    const twice = await send([...forged, ...forged]);
    expectOnlyVerified(twice.raw);
    const old = await send(forged, '1.0');
    expect(old.status).toBe(200);
    expectOnlyVerified(old.raw);
  });

  it('still sends its own identity headers when the caller names them in Connection', async () => {
    const r = await send([...forged, 'Connection: x-iamgate-principal, X-Iamgate-Mfa, x-iamgate-account, x-iamgate-request-id']);
    expect(r.status).toBe(200);
    expectOnlyVerified(r.raw);
  });

  it('drops forged identity headers buried among 900 others', async () => {
    const filler = Array.from({ length: 900 }, (_, i) => `x-f${i}: ${i}`);
    const r = await send([forged[0]!, ...filler.slice(0, 450), forged[1]!, ...filler.slice(450), ...forged.slice(2)]);
    expect(r.status).toBe(200);
    expectOnlyVerified(r.raw);
    expect(valuesOf(r.raw, 'x-f899')).toEqual(['899']);
  });

  it('answers 431 to a header block over the limit, forwarding nothing', async () => {
    const before = gw.upstream.arrivals();
    const filler = Array.from({ length: 3000 }, (_, i) => `x-f${i}: aaaaaa\r\n`).join('');
    const r = await exchange(port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n${filler}\r\n`);
    expect(r.statuses).toEqual([431]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('never lets the caller choose the headers of its own answers', async () => {
    const r = await exchange(port, `GET /admin/users HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\nx-iamgate-request-id: forged\r\nConnection: close\r\n\r\n`);
    expect(r.statuses).toEqual([403]);
    const id = /\r\nx-iamgate-request-id: ([^\r]+)/i.exec(r.text)?.[1];
    expect(id).toBeDefined();
    expect(id).not.toBe('forged');
    expect(jsonOf(r.text)['requestId']).toBe(id);
  });
});

describe('condition keys with more than one value', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });
  let port: number;
  let alice: string;

  beforeAll(async () => {
    port = Number(new URL(gw.url).port);
    alice = await gw.bearer('alice');
  });

  async function get(target: string, lines: readonly string[] = []): Promise<{ status: number; body: Record<string, unknown>; forwarded: string[] }> {
    const before = gw.upstream.received.length;
    const r = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    const status = r.statuses[0] ?? 0;
    return { status, body: status === 200 ? {} : jsonOf(r.text), forwarded: gw.upstream.received.slice(before).map((x) => x.url) };
  }

  it('allows the one value the policy names, as a baseline', async () => {
    expect((await get('/orders?status=open')).status).toBe(200);
    expect((await get('/admin/users', ['X-Client-Id: ops-console'])).status).toBe(200);
  });

  it.each([
    ['a repeated parameter', '?status=open&status=closed'],
    ['a repeated parameter, the second one empty', '?status=open&status'],
    ['a repeated parameter with an encoded name', '?status=open&st%61tus=closed'],
    ['a repeated parameter with a plus in the name', '?status=open&status+=closed&status=x'],
    // Express (qs), Rails and PHP read status[]=x and status[0]=x as more values of status.
    ['the parameter again as a list', '?status=open&status[]=closed'],
    ['the parameter again as a list, encoded', '?status=open&status%5B%5D=closed'],
    ['the parameter again with an index', '?status=open&status[1]=closed'],
    ['the parameter only as a list', '?status[]=closed'],
    ['the parameter only as an object', '?status[x]=closed'],
    // ASP.NET Core and ignore-case binders read Status as status.
    ['the parameter only in another case', '?Status=open'],
    // Rack 2, CGI.pm and Python's parse_qs before 3.9.2 split at ; too, and read status=closed.
    ['a parameter whose value carries a second assignment after ;', '?status=open;status=closed'],
  ])('refuses %s feeding a condition key with 400, forwarding nothing', async (_name, query) => {
    const r = await get(`/orders${query}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'BadRequest', code: 'ambiguous_parameter' });
    expect(r.forwarded).toEqual([]);
  });

  it.each([
    ['an encoded ampersand inside the value', '?status=open%26status%3Dclosed'],
    ['a NUL after the value', '?status=open%00'],
    ['another case', '?status=OPEN'],
    ['the value in the name', '?status%3Dopen'],
  ])('decides %s on the literal value, which the policy does not allow', async (_name, query) => {
    const r = await get(`/orders${query}`);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'implicit_deny', action: 'orders:ListOrders' });
    expect(r.forwarded).toEqual([]);
  });

  it('decodes the value the policy sees and forwards the query as sent', async () => {
    const r = await get('/orders?status=op%65n&x=1');
    expect(r.status).toBe(200);
    expect(r.forwarded).toEqual(['/orders?status=op%65n&x=1']);
  });

  it.each([
    ['a repeated header', ['X-Client-Id: ops-console', 'X-Client-Id: ops-console']],
    ['a repeated header in another case', ['X-Client-Id: ops-console', 'x-client-id: other']],
    ['a repeated header, the first one empty', ['X-Client-Id:', 'X-Client-Id: ops-console']],
  ])('refuses %s feeding a condition key with 400, forwarding nothing', async (_name, lines) => {
    const r = await get('/admin/users', lines);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'ambiguous_parameter' });
    expect(r.forwarded).toEqual([]);
  });

  it.each([
    ['a comma-separated list', ['X-Client-Id: ops-console, other']],
    ['the value in another case', ['X-Client-Id: OPS-CONSOLE']],
    ['no header at all', []],
  ])('decides %s on the literal header value, which the policy does not allow', async (_name, lines) => {
    const r = await get('/admin/users', lines);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'implicit_deny', action: 'orders:Admin' });
    expect(r.forwarded).toEqual([]);
  });
});

describe('source address spoofing', () => {
  describe('from a peer that is not a trusted proxy', () => {
    const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });

    it.each([
      ['X-Forwarded-For', 'X-Forwarded-For: 203.0.113.5'],
      ['X-Real-IP', 'X-Real-IP: 203.0.113.5'],
      ['Forwarded', 'Forwarded: for=203.0.113.5;proto=https'],
      ['True-Client-IP', 'True-Client-IP: 203.0.113.5'],
    ])('ignores %s for aws:SourceIp and does not forward it', async (_name, line) => {
      const port = Number(new URL(gw.url).port);
      const before = gw.upstream.arrivals();
      const r = await exchange(port, `GET /reports/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${line}\r\nConnection: close\r\n\r\n`);
      expect(r.statuses).toEqual([403]);
      expect(jsonOf(r.text)).toMatchObject({ reason: 'implicit_deny', action: 'orders:GetReport' });
      expect(gw.audit.decisionsFor(String(jsonOf(r.text)['requestId']))[0]).toMatchObject({ sourceIp: '127.0.0.1' });
      expect(gw.upstream.arrivals()).toBe(before);
    });

    it('replaces the forwarding headers of an allowed request instead of passing them on', async () => {
      const port = Number(new URL(gw.url).port);
      const before = gw.upstream.received.length;
      const r = await exchange(
        port,
        `GET /orders/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\nX-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 203.0.113.5\r\nForwarded: for=203.0.113.5\r\nConnection: close\r\n\r\n`,
      );
      expect(r.statuses).toEqual([200]);
      const raw = gw.upstream.received.slice(before)[0]!.rawHeaders;
      expect(valuesOf(raw, 'x-forwarded-for')).toEqual(['127.0.0.1']);
      expect(valuesOf(raw, 'x-forwarded-proto')).toEqual(['http']);
      expect(valuesOf(raw, 'x-real-ip')).toEqual([]);
      expect(valuesOf(raw, 'forwarded')).toEqual([]);
    });
  });

  describe('through a trusted proxy', () => {
    const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES, config: { trustedProxies: ['127.0.0.1/32'] } });

    it.each([
      ['the client the proxy saw', ['X-Forwarded-For: 203.0.113.5'], 200],
      ['the mapped IPv6 form of that client', ['X-Forwarded-For: ::ffff:203.0.113.5'], 200],
      ['a client-written address left of the proxy-appended one', ['X-Forwarded-For: 203.0.113.5, 198.51.100.7'], 403],
      ['the same split over two headers', ['X-Forwarded-For: 203.0.113.5', 'X-Forwarded-For: 198.51.100.7'], 403],
      ['a malformed right-most hop', ['X-Forwarded-For: 203.0.113.5, not-an-address'], 403],
      ['an address with a port', ['X-Forwarded-For: 203.0.113.5:4711'], 403],
      ['only X-Real-IP', ['X-Real-IP: 203.0.113.5'], 403],
    ] as const)('decides aws:SourceIp from %s', async (_name, lines, status) => {
      const port = Number(new URL(gw.url).port);
      const r = await exchange(port, `GET /reports/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
      expect(r.statuses).toEqual([status]);
    });

    it('decides forward-auth calls on the same address', async () => {
      const port = Number(new URL(gw.url).port);
      const ask = async (xff: string): Promise<number> => {
        const r = await exchange(
          port,
          `GET /.iamgate/authz HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\nX-Original-URI: /reports/1\r\nX-Original-Method: GET\r\nX-Forwarded-For: ${xff}\r\nConnection: close\r\n\r\n`,
        );
        return r.statuses[0] ?? 0;
      };
      expect(await ask('203.0.113.5')).toBe(200);
      expect(await ask('203.0.113.5, 198.51.100.7')).toBe(403);
    });
  });
});
