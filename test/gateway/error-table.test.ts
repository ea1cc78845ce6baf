// One error table for every answer iamgate gives instead of the upstream's (src/errors/), the
// gateway's and the STS endpoints': each code is answered with its status and one JSON shape, each
// is answered by some test over real HTTP, a throw is recognised by its class (never its message),
// and no answer body is built outside the table.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { AuditError } from '../../src/audit/errors.js';
import type { Authenticator } from '../../src/gateway/auth.js';
import { errorAnswer, GATEWAY_ERRORS, STS_ERRORS, stsErrorBody, type GatewayErrorCode, type StsErrorCode } from '../../src/errors/index.js';
import { errorCodeOf, failureStatus, GatewayError } from '../../src/gateway/errors.js';
import type { PolicyLoader } from '../../src/gateway/server.js';
import { classifyProxyError, UpgradeRefusedError } from '../../src/proxy/index.js';
import { exchange, jsonOf } from '../adversarial/support/raw.js';
import { useTestGateway } from '../support/gateway.js';

const CODES = Object.keys(GATEWAY_ERRORS) as GatewayErrorCode[];
const STS_CODES = Object.keys(STS_ERRORS) as StsErrorCode[];
const ROOT = new URL('../..', import.meta.url).pathname;

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath, e.name));
}

describe('the error table', () => {
  it('answers every code with its 4xx or 5xx status and the body { error, code, message, requestId }', () => {
    for (const code of CODES) {
      const info = GATEWAY_ERRORS[code];
      const { status, body } = errorAnswer(code, 'req-1');
      expect(status).toBe(info.status);
      expect(status >= 400 && status < 600).toBe(true);
      expect(body).toEqual({ error: info.error, code, message: info.title, requestId: 'req-1' });
    }
  });

  it('answers every STS code with its 4xx or 5xx status and the same body, its error name being the code', () => {
    for (const code of STS_CODES) {
      const info = STS_ERRORS[code];
      expect(info.status >= 400 && info.status < 600).toBe(true);
      expect(info.error).toBe(code);
      expect(stsErrorBody(code, 'req-1')).toEqual({ error: info.error, code, message: info.title, requestId: 'req-1' });
    }
  });

  it('answers every forwarding failure a caller can see from the table, and records a caller who left as 499', () => {
    for (const failure of ['upstream_unavailable', 'upstream_timeout', 'body_too_large', 'upgrade_refused'] as const) {
      expect(failureStatus(failure)).toBe(GATEWAY_ERRORS[failure].status);
    }
    expect(failureStatus('client_closed')).toBe(499);
  });

  it('tells a refused upgrade by its class, whatever its message', () => {
    expect(classifyProxyError(new UpgradeRefusedError())).toBe('upgrade_refused');
    expect(classifyProxyError(new Error('bad upgrade'))).toBe('upstream_unavailable');
    expect(GATEWAY_ERRORS.upgrade_refused.status).toBe(502);
  });

  it('answers a throw with its GatewayError code, an audit failure with audit_unavailable, and anything else with internal_error', () => {
    const thrown = new GatewayError('upstream_timeout');
    expect([thrown.code, thrown.status, thrown.message]).toEqual(['upstream_timeout', 504, GATEWAY_ERRORS.upstream_timeout.title]);
    expect(errorCodeOf(thrown)).toBe('upstream_timeout');
    expect(errorCodeOf(new AuditError('ERR_AUDIT_UNAVAILABLE', 'sink full'))).toBe('audit_unavailable');
    expect(errorCodeOf(new Error('upstream_timeout'))).toBe('internal_error');
    expect(errorCodeOf('not an error')).toBe('internal_error');
  });
});

/** Authorization values the injected authenticator treats as an outage (throws) and as a lockout (429). */
const OUTAGE = 'Bearer outage';
const LOCKED = 'Bearer locked';

function withOutages(authenticator: Authenticator): Authenticator {
  return {
    async authenticate(req) {
      if (req.authorization === OUTAGE) throw new Error('the key store is unreachable');
      if (req.authorization === LOCKED) return { ok: false, code: 'too_many_attempts', status: 429, message: 'Too many attempts' };
      return authenticator.authenticate(req);
    },
  };
}

/** Loads fail while `refused` is set (as a broken file would make them fail). */
const loads = { refused: false };

const outages = (load: PolicyLoader): PolicyLoader => async () => {
  if (loads.refused) return { ok: false, findings: [{ severity: 'error', code: 'INVALID_VALUE', path: 'version', message: 'must be 1' }] };
  const loaded = await load();
  return loaded.ok ? { ...loaded, snapshot: { ...loaded.snapshot, authenticator: withOutages(loaded.snapshot.authenticator) } } : loaded;
};

describe('answers over HTTP', () => {
  const gw = useTestGateway({ wrapLoader: outages, config: { limits: { maxBodyBytes: 16 } } });

  /** An answer through undici: its status and JSON body. */
  async function ask(path: string, headers: Record<string, string> = {}, init: { method?: 'GET' | 'POST' | 'DELETE'; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await request(`${gw.url}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  /** An answer to raw bytes (what no HTTP client would send). */
  async function raw(payload: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const r = await exchange(Number(new URL(gw.url).port), payload);
    return { status: r.statuses[0] ?? 0, body: jsonOf(r.text) };
  }

  it('gives each provoked code its table status, error name and request id, with exactly one audit record', async () => {
    const alice = await gw.bearer('alice');
    const carol = await gw.bearer('carol');
    const provoked: Array<[GatewayErrorCode, Promise<{ status: number; body: Record<string, unknown> }>]> = [
      ['unauthenticated', ask('/orders/1')],
      ['access_denied', ask('/orders/2', { authorization: carol }, { method: 'DELETE' })],
      ['reserved_path', ask('/.iamgate/nothing-here', { authorization: alice })],
      ['bad_path', ask('/orders/a%2Fb', { authorization: alice })],
      ['body_too_large', ask('/orders', { authorization: alice, 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify({ note: 'x'.repeat(64) }) })],
      ['forward_auth_incomplete', ask('/.iamgate/authz', { authorization: alice })],
      ['forward_auth_ambiguous', ask('/.iamgate/authz', { authorization: alice, 'x-original-uri': '/orders/1', 'x-original-method': 'GET', 'x-forwarded-uri': '/orders/2', 'x-forwarded-method': 'GET' })],
      ['auth_unavailable', ask('/orders/1', { authorization: OUTAGE })],
      ['rate_limited', ask('/orders/1', { authorization: LOCKED })],
      ['malformed_request', raw('GET /orders/1 HTTP/1.1 extra\r\nHost: x\r\n\r\n')],
      ['bad_header', raw(`GET /orders/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: ${alice}\r\nConnection: close\r\n\r\n`)],
      // Two Authorization lines are one malformed credential (token_malformed), as at the STS endpoints.
      ['unauthenticated', raw(`GET /orders/1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\nAuthorization: ${alice}\r\nConnection: close\r\n\r\n`)],
    ];
    for (const [code, pending] of provoked) {
      const { status, body } = await pending;
      const info = GATEWAY_ERRORS[code];
      expect({ code, status, error: body['error'] }).toEqual({ code, status: info.status, error: info.error });
      expect(body).toMatchObject({ code: expect.any(String), requestId: expect.any(String) });
      // One decision record; the status answered is the last record's (a body over the limit is
      // refused after an allowed decision, in its outcome record).
      const requestId = String(body['requestId']);
      expect(gw.audit.decisionsFor(requestId)).toHaveLength(1);
      expect(gw.audit.events.filter((e) => e.requestId === requestId).at(-1)).toMatchObject({ status: info.status });
    }
  });

  it('answers an operator endpoint from the table too (without a request id: operator calls are not audited)', async () => {
    const res = await request(`${gw.opsUrl}/v1/decisions/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' });
    expect(res.statusCode).toBe(GATEWAY_ERRORS.bad_request.status);
    expect(await res.body.json()).toEqual({ error: GATEWAY_ERRORS.bad_request.error, code: 'bad_request', message: expect.any(String) });
  });

  it('answers a reload whose policies fail with the table status of policies_invalid, and keeps serving', async () => {
    loads.refused = true;
    try {
      const res = await request(`${gw.opsUrl}/v1/policies/reload`, { method: 'POST' });
      await res.body.dump();
      expect(res.statusCode).toBe(GATEWAY_ERRORS['policies_invalid'].status);
    } finally {
      loads.refused = false;
    }
    expect((await ask('/orders/1', { authorization: await gw.bearer('alice') })).status).not.toBe(GATEWAY_ERRORS.not_ready.status);
  });
});

describe('the tests', () => {
  it('answer every code of the table somewhere over a real listener (or, for upgrade_refused, through its class)', () => {
    const texts = filesUnder(join(ROOT, 'test'), '.test.ts').map((f) => readFileSync(f, 'utf8'));
    const unanswered = CODES.filter((code) => !texts.some((t) => t.includes(`'${code}'`)));
    expect(unanswered).toEqual([]);
  });

  it('answer every STS code of the table somewhere over a real listener of the STS endpoints', () => {
    const overHttp = filesUnder(join(ROOT, 'test'), '.test.ts')
      .map((f) => readFileSync(f, 'utf8'))
      .filter((t) => t.includes('/.iamgate/sts/'));
    const unanswered = STS_CODES.filter((code) => !overHttp.some((t) => t.includes(`'${code}'`)));
    expect(unanswered).toEqual([]);
  });
});

describe('the source', () => {
  // An error body is an object literal with an `error` name (built only by the table's helpers),
  // and a status is a 4xx/5xx literal handed to a writer (only the table holds statuses).
  const BODY = /\{\s*error:\s*[^,}]+,\s*(code|message):/;
  const STATUS = /\b(writeJson|writeSocketJson|writeHead|json|Response\.json)\([^;]*\b[45]\d\d\b/;
  /** The table and the helpers that render it (and the audit trail's own codes); the demo upstream stands for a protected service. */
  const TABLES = new Set(['src/errors/table.ts', 'src/audit/errors.ts']);
  const OUTSIDE = ['src/policy/', 'src/demo/'];

  it('builds no error answer outside the error table', () => {
    const offending: string[] = [];
    for (const file of filesUnder(join(ROOT, 'src'), '.ts')) {
      const at = relative(ROOT, file);
      if (TABLES.has(at) || OUTSIDE.some((p) => at.startsWith(p))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.trimStart().startsWith('//') || line.trimStart().startsWith('*')) return;
          if (BODY.test(line) || STATUS.test(line)) offending.push(`${at}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offending).toEqual([]);
  });

  it('recognises no error by its message', () => {
    const byMessage = /\.message\s*===|\.message\.(includes|startsWith|endsWith|match)\(|\.test\(\w+\.message\)/;
    const offending = filesUnder(join(ROOT, 'src'), '.ts').flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (byMessage.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offending).toEqual([]);
  });
});
