// The gateway as `iamgate serve` assembles it, with its configured audit trail (a durable file,
// signed digests), over real HTTP on loopback: every request leaves exactly one decision record
// with the schema's fields and never the token, STS calls and policy reloads are recorded, the
// trail's counters are on /metrics, and `iamgate audit verify` proves the trail with the public
// key the operations port serves.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/audit/index.js';
import { runAudit } from '../../src/cli/audit.js';
import { createIamgate, loadConfig, type Iamgate } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { rawRequest, type RawResponse } from '../support/net.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { decisionsFor, readTrail, tokenFor, writeServedConfig, type ServedFiles, type TrailRecord } from './served.js';

let files: ServedFiles;
let upstream: TestUpstream;
let served: Iamgate;
let url: string;
let opsUrl: string;
const tokens = new Map<string, string>();
/** Every gateway request the suite made: its request id and the kind of decision record it must leave. */
const made: { requestId: string; kind: 'request' | 'forward_auth'; status: number }[] = [];

beforeAll(async () => {
  upstream = await startTestUpstream();
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, upstream: 'connectTimeoutMs: 1000, headersTimeoutMs: 400', audit: ['digestEvery: { records: 7 }'] });
  const loaded = await loadConfig({ file: files.config, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  served = await createIamgate(loaded.config, { logger: pino({ level: 'silent' }) });
  const first = await served.gateway.initialLoad;
  if (!first.ok) throw new Error(first.problems.join('\n'));
  url = served.gateway.url;
  opsUrl = served.gateway.opsUrl;
  for (const user of ['alice', 'bob', 'carol']) tokens.set(user, await tokenFor(files.config, user));
}, 30_000);

afterAll(async () => {
  await served?.stop(1000);
  await upstream?.close();
  await files?.remove();
});

const bearer = (user: string): string => `Bearer ${tokens.get(user)}`;

/** Sends one request and returns the answer with the single decision record it left. */
async function call(path: string, o: { method?: string; user?: string; headers?: Record<string, string> } = {}): Promise<{ res: RawResponse; record: TrailRecord }> {
  const headers: Record<string, string> = { ...o.headers, ...(o.user ? { authorization: bearer(o.user) } : {}) };
  const res = await rawRequest(`${url}${path}`, { method: o.method ?? 'GET', headers });
  const requestId = res.headers['x-iamgate-request-id'];
  expect(typeof requestId).toBe('string');
  made.push({ requestId: requestId as string, kind: path.startsWith('/.iamgate/authz') ? 'forward_auth' : 'request', status: res.status });
  const records = decisionsFor(await readTrail(files.trail), requestId as string);
  expect(records).toHaveLength(1);
  return { res, record: records[0]! };
}

/** The members every record has, and those every request's decision has. */
function expectRequestRecord(r: TrailRecord, kind: string): void {
  expect(r).toMatchObject({ schemaVersion: SCHEMA_VERSION, kind, method: expect.any(String), sourceIp: '127.0.0.1' });
  if (r['reason'] !== 'bad_path') expect(r['path']).toMatch(/^\//);
  expect(r['time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(r['eventId']).toMatch(/^[0-9a-f-]{36}$/);
  expect(r['instanceId']).toEqual(expect.any(String));
  expect(r.seq).toBeGreaterThan(1);
  expect(r['prev']).toMatch(/^[0-9a-f]{64}$/);
  expect(r['hash']).toMatch(/^[0-9a-f]{64}$/);
  expect(['Allow', 'Deny']).toContain(r['decision']);
  expect(r['reason']).toEqual(expect.any(String));
  expect(Object.keys(r).filter((k) => /token|authorization|header/i.test(k))).toEqual([]);
}

/** The members of a decision about an authenticated caller. */
function expectAuthenticated(r: TrailRecord, user: string): void {
  expect(r['principal']).toEqual({ arn: `arn:aws:iam::111122223333:user/${user}`, type: 'user' });
  expect(r['authn']).toMatchObject({ issuer: 'https://dev.test', mfa: false });
  expect(r['action']).toMatch(/^orders:/);
  expect(r['resource']).toMatch(/^arn:aws:orders:us-east-1:111122223333:/);
  expect(['l1', 'l2', 'miss', 'off']).toContain(r['cache']);
  expect(r['policyGeneration']).toBe(1);
}

describe('one decision record per request, through the configured trail', () => {
  it('records an allowed 200 with the statement that allowed it, and without its query string', async () => {
    const { res, record } = await call('/orders/1?access_token=not-in-the-trail', { user: 'alice' });
    expect(res.status).toBe(200);
    expectRequestRecord(record, 'request');
    expectAuthenticated(record, 'alice');
    expect(record).toMatchObject({ decision: 'Allow', reason: 'allowed', action: 'orders:GetOrder', path: '/orders/1', statements: [{ policy: 'user/alice/ReadWrite', sid: 'ReadWrite' }] });
  });

  it('records 401s for a missing and for a forged token', async () => {
    const missing = await call('/orders/1');
    expect(missing.res.status).toBe(401);
    expectRequestRecord(missing.record, 'request');
    expect(missing.record).toMatchObject({ decision: 'Deny', reason: 'token_missing', status: 401 });
    const forged = `${tokens.get('alice')!.slice(0, -4)}AAAA`;
    const bad = await call('/orders/1', { headers: { authorization: `Bearer ${forged}` } });
    expect(bad.res.status).toBe(401);
    expect(bad.record).toMatchObject({ decision: 'Deny', status: 401 });
    expect(bad.record['principal']).toBeUndefined();
  });

  it('records 403s with their reason: explicit deny, implicit deny, MFA required', async () => {
    const explicit = await call('/orders/secret-1', { user: 'bob' });
    expect(explicit.res.status).toBe(403);
    expectAuthenticated(explicit.record, 'bob');
    expect(explicit.record).toMatchObject({ decision: 'Deny', reason: 'explicit_deny', status: 403, statements: [{ policy: 'user/bob/ReadNoSecrets', sid: 'NoSecrets' }] });
    const implicit = await call('/orders', { user: 'bob', method: 'POST' });
    expect(implicit.res.status).toBe(403);
    expect(implicit.record).toMatchObject({ decision: 'Deny', reason: 'implicit_deny', action: 'orders:CreateOrder', status: 403 });
    const mfa = await call('/orders/9', { user: 'carol', method: 'DELETE' });
    expect(mfa.res.status).toBe(403);
    expect(JSON.parse(mfa.res.body)).toMatchObject({ reason: 'mfa_required' });
    expect(mfa.record).toMatchObject({ decision: 'Deny', reason: 'mfa_required', action: 'orders:DeleteOrder', status: 403 });
  });

  it('records a 400 path rejection before anyone is authenticated', async () => {
    const { res, record } = await call('/orders/..%2Fadmin', { user: 'alice' });
    expect(res.status).toBe(400);
    expectRequestRecord(record, 'request');
    expect(record).toMatchObject({ decision: 'Deny', reason: 'bad_path', status: 400 });
    expect(record['principal']).toBeUndefined();
    expect(record['path']).toBeUndefined();
  });

  it('records a 504 from a slow upstream as an allowed decision followed by its outcome', async () => {
    const { res, record } = await call('/slow?ms=3000', { user: 'alice' });
    expect(res.status).toBe(504);
    expect(record).toMatchObject({ decision: 'Allow', reason: 'allowed', action: 'orders:Stream' });
    const outcome = await eventuallyOutcome(record['requestId'] as string);
    expect(outcome).toMatchObject({ status: 504, reason: 'upstream_timeout', upstream: { error: 'upstream_timeout' } });
  });

  it('records forward-auth decisions, allowed and denied, as forward_auth', async () => {
    const allowed = await call('/.iamgate/authz', { user: 'alice', headers: { 'x-original-uri': '/orders/12', 'x-original-method': 'GET' } });
    expect(allowed.res.status).toBe(200);
    expectRequestRecord(allowed.record, 'forward_auth');
    expect(allowed.record).toMatchObject({ decision: 'Allow', reason: 'allowed', path: '/orders/12', action: 'orders:GetOrder' });
    const denied = await call('/.iamgate/authz', { user: 'bob', headers: { 'x-original-uri': '/orders/secret-2', 'x-original-method': 'GET' } });
    expect(denied.res.status).toBe(403);
    expect(denied.record).toMatchObject({ kind: 'forward_auth', decision: 'Deny', reason: 'explicit_deny' });
  });

  it('records STS calls (an MFA enrolment) and policy reloads with their generation', async () => {
    const enrol = await rawRequest(`${url}/.iamgate/sts/mfa/enroll`, { method: 'POST', headers: { authorization: bearer('carol'), 'content-type': 'application/json' }, body: '{}' });
    expect(enrol.status).toBe(200);
    const secret = (JSON.parse(enrol.body) as { SecretBase32: string }).SecretBase32;
    const reload = await rawRequest(`${opsUrl}/v1/policies/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
    const trail = await readTrail(files.trail);
    expect(trail.filter((r) => r.kind === 'mfa')).toEqual([
      expect.objectContaining({ action: 'iamgate:EnrollMfa', decision: 'Allow', reason: 'allowed', principal: { arn: 'arn:aws:iam::111122223333:user/carol', type: 'user' } }),
    ]);
    expect(trail.filter((r) => r.kind === 'policy_reload').map((r) => [r['decision'], r['policyGeneration']])).toEqual([
      ['Allow', 1],
      ['Allow', 2],
    ]);
    expect(await readFile(files.trail, 'utf8')).not.toContain(secret);
  });

  it('answers a path under /.iamgate/sts/ that names no STS endpoint 404 reserved_path, as any unknown reserved path, with its one record', async () => {
    const before = upstream.received.length;
    for (const [path, method] of [['/.iamgate/sts/AssumeRol', 'POST'], ['/.iamgate/sts/AssumeRole', 'GET']] as const) {
      const { res, record } = await call(path, { method, user: 'carol' });
      expect([path, res.status, (JSON.parse(res.body) as { code: string }).code]).toEqual([path, 404, 'reserved_path']);
      expect(record).toMatchObject({ decision: 'Deny', reason: 'reserved_path', status: 404 });
    }
    expect(upstream.received.length).toBe(before);
  });

  it('records a 502 when the upstream is down', async () => {
    await upstream.close();
    const { res, record } = await call('/orders/2', { user: 'alice' });
    expect(res.status).toBe(502);
    expect(record).toMatchObject({ decision: 'Allow', reason: 'allowed' });
    expect(await eventuallyOutcome(record['requestId'] as string)).toMatchObject({ status: 502, reason: 'upstream_unavailable' });
  });

  it('has exactly one decision record for every request made, and no token anywhere', async () => {
    const trail = await readTrail(files.trail);
    const decisions = trail.filter((r) => r.kind === 'request' || r.kind === 'forward_auth');
    expect(made.length).toBe(13);
    expect(decisions).toHaveLength(made.length);
    for (const m of made) expect(decisionsFor(trail, m.requestId).map((r) => r.kind)).toEqual([m.kind]);
    const text = await readFile(files.trail, 'utf8');
    for (const token of tokens.values()) expect(text).not.toContain(token);
    expect(text).not.toContain('eyJ');
    expect(text).not.toContain('access_token');
  });

  it('exports the trail counters on /metrics', async () => {
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    const recorded = Number(/^iamgate_audit_events_total\{result="recorded"\} (\d+)$/m.exec(text)?.[1]);
    expect(recorded).toBeGreaterThanOrEqual(made.length);
    expect(text).toMatch(/^iamgate_audit_events_total\{result="refused"\} 0$/m);
    expect(text).toMatch(/^iamgate_audit_sink_records_total\{sink="file",result="written"\} [1-9]\d*$/m);
    expect(text).toMatch(/^iamgate_audit_sink_records_total\{sink="file",result="dropped"\} 0$/m);
    expect(text).toMatch(/^iamgate_audit_digests_total [1-9]\d*$/m);
  });

  it('publishes the chain head on /audit/head and /metrics: a record the trail holds, with its hash', async () => {
    const res = await fetch(`${opsUrl}/audit/head`);
    expect(res.status).toBe(200);
    const head = (await res.json()) as { instanceId: string; seq: number; hash?: string };
    expect(head).toEqual({ instanceId: expect.any(String), seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const record = (await readTrail(files.trail)).find((r) => r.seq === head.seq);
    expect(record).toMatchObject({ instanceId: head.instanceId, hash: head.hash });
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    const published = new RegExp(`^iamgate_audit_chain_head_seq\\{instance_id="${head.instanceId}"\\} (\\d+)$`, 'm').exec(text);
    expect(Number(published?.[1])).toBeGreaterThanOrEqual(head.seq);
  });

  it('answers /audit/head on the operations port only: on the gateway port it is a request like any other, decided and recorded, never the head', async () => {
    const head = (await (await fetch(`${opsUrl}/audit/head`)).json()) as { instanceId: string };
    for (const user of [undefined, 'alice']) {
      const { res, record } = await call('/audit/head', user ? { user } : {});
      expect(res.body).not.toContain(head.instanceId);
      expect(record).toMatchObject({ kind: 'request', path: '/audit/head', status: res.status });
    }
  });

  it('verifies clean with `iamgate audit verify` and the public key the operations port serves', async () => {
    const res = await fetch(`${opsUrl}/audit/public-key`);
    expect(res.status).toBe(200);
    const jwk = (await res.json()) as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) });
    const jwkFile = join(files.dir, 'fetched-key.json');
    await writeFile(jwkFile, JSON.stringify(jwk));
    await served.stop(1000);
    const trail = await readTrail(files.trail);
    expect(trail.at(-1)).toMatchObject({ kind: 'audit.digest', digest: { final: true, kid: jwk['kid'] } });

    for (const keyFile of [jwkFile, files.publicKey]) {
      const out: string[] = [];
      const code = await runAudit(['verify', files.trail, '--public-key', keyFile], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
      expect(out.join('\n')).toMatch(/records, 0 other lines: intact$/);
      expect(code).toBe(0);
    }
  });

  it('is caught by verify when a record is changed after the fact, so the check above can fail', async () => {
    const text = await readFile(files.trail, 'utf8');
    const altered = join(files.dir, 'altered.jsonl');
    await writeFile(altered, text.replace('"reason":"explicit_deny"', '"reason":"allowed"'));
    const code = await runAudit(['verify', altered, '--public-key', files.publicKey], { stdout: () => undefined, stderr: () => undefined });
    expect(code).toBe(1);
  });
});

/** The `outcome` record of a request, once written (it follows the answer); read for up to 15 s, however slowly a loaded machine writes it. */
async function eventuallyOutcome(requestId: string): Promise<TrailRecord | undefined> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = (await readTrail(files.trail)).find((r) => r.kind === 'outcome' && r['requestId'] === requestId);
    if (found || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}
