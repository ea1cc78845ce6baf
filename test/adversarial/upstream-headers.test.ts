// What reaches the upstream when the caller shapes its headers against it: iamgate's own headers
// pushed out by a flood of others, underscore spellings of protected headers (servers that fold
// `_` into `-` read them as the real ones), method and URL override headers, two Host headers,
// and a Connection header that would strip a header the decision read. A real upstream counts
// and records what it receives.
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { exchange, jsonOf } from './support/raw.js';

const ALICE_ARN = 'arn:aws:iam::111122223333:user/alice';

function valuesOf(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

function namesOf(raw: readonly string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

describe('headers the caller shapes against the upstream', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES });
  const c = useCallers(gw);

  /** Sends `GET target` with extra header lines; the status, JSON body and the upstream's raw headers (undefined when nothing arrived). */
  async function send(target: string, lines: readonly string[]): Promise<{ status: number; body: Record<string, unknown>; raw: readonly string[] | undefined }> {
    const before = gw.upstream.received.length;
    const r = await exchange(c.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    const seen = gw.upstream.received.slice(before);
    expect(seen.length).toBeLessThanOrEqual(1);
    const status = r.statuses[0] ?? 0;
    return { status, body: status === 200 ? {} : jsonOf(r.text), raw: seen[0]?.rawHeaders };
  }

  it('sends its own forwarding and identity headers before any of the caller’s', async () => {
    const r = await send('/orders/1', ['X-Early: 1', 'Accept: */*']);
    expect(r.status).toBe(200);
    const names = namesOf(r.raw!);
    const firstCallers = Math.min(names.indexOf('x-early'), names.indexOf('accept'));
    for (const own of ['x-forwarded-for', 'x-forwarded-proto', 'x-iamgate-principal', 'x-iamgate-account', 'x-iamgate-mfa', 'x-iamgate-request-id']) {
      expect([own, names.indexOf(own) >= 0 && names.indexOf(own) < firstCallers]).toEqual([own, true]);
    }
  });

  it('keeps the identity in front of 1,100 caller headers, or refuses them all', async () => {
    const filler = Array.from({ length: 1100 }, (_, i) => `x-f${i}: ${i}`);
    const r = await send('/orders/1', filler);
    if (r.status === 431) {
      expect(r.raw).toBeUndefined();
      return;
    }
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, 'x-iamgate-principal')).toEqual([ALICE_ARN]);
    expect(valuesOf(r.raw!, 'x-forwarded-for')).toEqual(['127.0.0.1']);
  });

  it('drops every caller header whose name contains an underscore', async () => {
    const r = await send('/orders/1', ['X_Iamgate_Principal: arn:aws:iam::111122223333:user/root', 'x_iamgate_mfa: true', 'X_Forwarded_For: 203.0.113.5', 'Auth_Token: t', 'X-Kept: yes']);
    expect(r.status).toBe(200);
    expect(namesOf(r.raw!).filter((n) => n.includes('_'))).toEqual([]);
    expect(valuesOf(r.raw!, 'x-iamgate-principal')).toEqual([ALICE_ARN]);
    expect(valuesOf(r.raw!, 'x-kept')).toEqual(['yes']);
  });

  it('never forwards the underscore twin of a header that fed a condition key', async () => {
    const r = await send('/admin/users', ['X-Client-Id: ops-console', 'X_Client_Id: other']);
    expect(r.status).toBe(200);
    expect(valuesOf(r.raw!, 'x-client-id')).toEqual(['ops-console']);
    expect(valuesOf(r.raw!, 'x_client_id')).toEqual([]);
  });

  it('strips method and URL override headers from an allowed request', async () => {
    const overrides = ['X-HTTP-Method-Override: DELETE', 'X-HTTP-Method: DELETE', 'X-Method-Override: DELETE', 'X-Original-URL: /admin/users', 'X-Original-URI: /admin/users', 'X-Rewrite-URL: /admin/users'];
    const r = await send('/orders/1', overrides);
    expect(r.status).toBe(200);
    const names = namesOf(r.raw!);
    expect(overrides.map((l) => l.slice(0, l.indexOf(':')).toLowerCase()).filter((n) => names.includes(n))).toEqual([]);
  });

  it('never forwards a hop-by-hop header of the caller’s, nor an upgrade asked for without Connection: Upgrade', async () => {
    const hopByHop = ['Keep-Alive: timeout=600', 'TE: trailers', 'Trailer: X-Iamgate-Principal', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Proxy-Connection: keep-alive', 'Proxy-Authorization: Basic YWRtaW46eA=='];
    const r = await send('/orders/1', hopByHop);
    expect(r.status).toBe(200);
    const names = namesOf(r.raw!);
    expect(hopByHop.map((l) => l.slice(0, l.indexOf(':')).toLowerCase()).filter((n) => names.includes(n))).toEqual([]);
    expect(valuesOf(r.raw!, 'connection')).toEqual(['keep-alive']);
  });

  it('answers 400 duplicate_host to two Host headers before deciding, and audits it', async () => {
    const before = gw.upstream.arrivals();
    const decided = gw.audit.events.length;
    const r = await exchange(c.port, `GET /orders/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n${c.line.alice}\r\nConnection: close\r\n\r\n`);
    expect(r.statuses).toEqual([400]);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ error: 'BadRequest', code: 'bad_header', reason: 'duplicate_host' });
    expect(gw.upstream.arrivals()).toBe(before);
    expect(gw.audit.decisionsFor(String(body['requestId']))).toEqual([expect.objectContaining({ kind: 'request', decision: 'Deny', reason: 'bad_header', status: 400 })]);
    expect(gw.audit.events.slice(decided).filter((e) => e.decision === 'Allow')).toEqual([]);
  });

  it.each([
    ['a header a route maps to a condition key', '/admin/users', ['X-Client-Id: ops-console', 'Connection: X-Client-Id']],
    ['User-Agent, read for aws:UserAgent', '/orders/1', ['User-Agent: probe/1', 'Connection: keep-alive, user-agent']],
  ])('refuses a Connection header naming %s with 400, forwarding nothing', async (_name, target, lines) => {
    const r = await send(target, lines);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'bad_header', reason: 'connection_names_condition_header' });
    expect(r.raw).toBeUndefined();
  });
});
