import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyLoad } from '../../src/gateway/index.js';
import { FIXTURES, startTestGateway, useTestGateway } from '../support/gateway.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line is a HELP or TYPE
 * comment or a sample; every sample belongs to a family declared by TYPE; histograms have
 * cumulative buckets ending in +Inf equal to their count. Throws on anything else.
 */
function parsePrometheus(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleLine = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!m) throw new Error(`bad comment: ${line}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`bad type: ${line}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`bad sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelPair.lastIndex = 0;
      while (labelPair.lastIndex < m[2].length) {
        const l = labelPair.exec(m[2]);
        if (!l) throw new Error(`bad labels: ${line}`);
        labels[l[1]!] = l[2]!;
      }
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value: ${line}`);
    const family = [m[1]!, m[1]!.replace(/_(bucket|sum|count|total|created)$/, '')].find((n) => types.has(n));
    if (!family) throw new Error(`sample without TYPE: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family} buckets not cumulative`);
      const last = buckets[buckets.length - 1]!;
      if (last.labels['le'] !== '+Inf') throw new Error(`${family} lacks +Inf`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== last.value) throw new Error(`${family} count differs from +Inf bucket`);
    }
  }
  return samples;
}

describe('operations listener', () => {
  const gw = useTestGateway();

  it('answers /healthz and a ready /readyz', async () => {
    const health = await request(`${gw.opsUrl}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ status: 'ok' });
    const ready = await request(`${gw.opsUrl}/readyz`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({ ready: true, reasons: [], generation: 1 });
  });

  it('serves /metrics as valid Prometheus text that counts requests, decisions, latency and cache lookups', async () => {
    await (await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } })).body.dump();
    await (await request(`${gw.url}/orders/secret`, { headers: { authorization: await gw.bearer('bob') } })).body.dump();
    await (await request(`${gw.url}/orders/1`)).body.dump();
    const res = await request(`${gw.opsUrl}/metrics`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await res.body.text());
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('iamgate_requests_total', { outcome: 'allowed' })).toBeGreaterThanOrEqual(1);
    expect(value('iamgate_requests_total', { outcome: 'denied' })).toBeGreaterThanOrEqual(1);
    expect(value('iamgate_requests_total', { outcome: 'unauthenticated' })).toBeGreaterThanOrEqual(1);
    expect(value('iamgate_decisions_total', { decision: 'ExplicitDeny', reason: 'explicit_deny' })).toBeGreaterThanOrEqual(1);
    expect(value('iamgate_decision_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(value('iamgate_upstream_duration_seconds_count', { outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(value('iamgate_request_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(value('iamgate_decision_cache_lookups_total', { result: 'miss' })).toBeGreaterThanOrEqual(2);
    expect(value('iamgate_policy_reloads_total', { result: 'success' })).toBe(1);
    expect(samples.some((s) => s.name === 'iamgate_redis_errors_total' || s.name.startsWith('iamgate_process_'))).toBe(true);
  });

  it('explains a simulated decision for a directory principal, without forwarding or auditing it', async () => {
    const arrivals = gw.upstream.arrivals();
    const events = gw.audit.events.length;
    const explain = async (body: unknown) => {
      const res = await request(`${gw.opsUrl}/v1/decisions/explain`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const carol = await explain({ method: 'DELETE', path: '/orders/3', principal: 'arn:aws:iam::111122223333:user/carol' });
    expect(carol.status).toBe(200);
    expect(carol.body).toMatchObject({ outcome: 'reject', status: 403, reason: 'mfa_required', action: 'orders:DeleteOrder' });
    expect((carol.body['explanation'] as string[]).join('\n')).toMatch(/MultiFactorAuthPresent/);
    const withMfa = await explain({ method: 'DELETE', path: '/orders/3', principal: 'arn:aws:iam::111122223333:user/carol', mfa: true });
    expect(withMfa.body).toMatchObject({ outcome: 'allow', status: 200, reason: 'allowed' });
    const byToken = await explain({ method: 'GET', path: '/orders/1', headers: { authorization: await gw.bearer('alice') } });
    expect(byToken.body).toMatchObject({ outcome: 'allow', principal: 'arn:aws:iam::111122223333:user/alice' });
    expect((await explain({ path: 42 })).status).toBe(400);
    expect((await explain({ path: '/x', principal: 'arn:aws:iam::111122223333:user/nobody' })).status).toBe(400);
    expect(gw.upstream.arrivals()).toBe(arrivals);
    expect(gw.audit.events.length).toBe(events);
  });
});

describe('operator endpoints given a large body', () => {
  const gw = useTestGateway();

  /** Sends a POST head with `framing` and then up to `send` bytes of body; the status line, and whether the socket was closed. */
  async function post(framing: string, send: number, frame: (chunk: Buffer) => Buffer): Promise<{ status: string; closed: boolean }> {
    const { hostname, port } = new URL(gw.opsUrl);
    const socket = connect(Number(port), hostname);
    let answer = '';
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.write(`POST /v1/decisions/explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`);
    const chunk = frame(Buffer.alloc(16 * 1024, 0x5b));
    for (let sent = 0; sent < send && !socket.destroyed && answer === ''; sent += chunk.length) {
      if (!socket.write(chunk)) await Promise.race([once(socket, 'drain').catch(() => undefined), closed]);
    }
    return { closed: await closed, status: answer.split('\r\n')[0] ?? '' };
  }

  it('refuses a body announced larger than 64 KiB with 413 body_too_large, before reading it, and closes the connection', async () => {
    expect(await post(`Content-Length: ${64 * 1024 * 1024}`, 0, (c) => c)).toEqual({ status: 'HTTP/1.1 413 Payload Too Large', closed: true });
  });

  it('refuses a chunked body once it grows past 64 KiB, and closes the connection instead of reading the rest', async () => {
    const chunked = (c: Buffer): Buffer => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]);
    expect(await post('Transfer-Encoding: chunked', 64 * 1024 * 1024, chunked)).toEqual({ status: 'HTTP/1.1 413 Payload Too Large', closed: true });
  });
});

describe('readiness', () => {
  it('is not ready until the policies are loaded, and says why', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const gw = await startTestGateway({ noWait: true, wrapLoader: (load) => async () => {
      await held;
      return load();
    } });
    try {
      const before = await request(`${gw.opsUrl}/readyz`);
      expect(before.statusCode).toBe(503);
      expect(await before.body.json()).toEqual({ ready: false, reasons: ['policies are loading'] });
      const early = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
      expect(early.statusCode).toBe(503);
      expect(await early.body.json()).toMatchObject({ code: 'not_ready' });
      release!();
      await gw.gateway.initialLoad;
      const after = await request(`${gw.opsUrl}/readyz`);
      expect(after.statusCode).toBe(200);
      await after.body.dump();
    } finally {
      release?.();
      await gw.close();
    }
  });

  it('reports a failed load with its problems, and keeps the last good policies serving after a failed reload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iamgate-reload-'));
    const routes = join(dir, 'routes.yaml');
    await copyFile(FIXTURES.routes, routes);
    // Only the endpoint reloads here: the file watch would count a second failure.
    const gw = await startTestGateway({ files: { routes }, config: { policies: { watch: false } } });
    try {
      await writeFile(routes, 'version: 1\nservice: orders\nroutes:\n  - route: GET /x\n    action: not-an-action\n    resource: arn:aws:orders:::x\n');
      const failed = (await (await request(`${gw.opsUrl}/v1/policies/reload`, { method: 'POST' })).body.json()) as { ok: boolean; problems: string[] };
      expect(failed.ok).toBe(false);
      expect(failed.problems.join('\n')).toMatch(/routes\[0\]\.action/);
      const readyz = (await (await request(`${gw.opsUrl}/readyz`)).body.json()) as { ready: boolean; reasons: string[] };
      expect(readyz.ready).toBe(true);
      expect(readyz.reasons.join('\n')).toMatch(/routes\[0\]\.action/);
      const still = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
      expect(still.statusCode).toBe(200);
      await still.body.dump();
      const metrics = await (await request(`${gw.opsUrl}/metrics`)).body.text();
      expect(metrics).toMatch(/iamgate_policy_reloads_total\{result="failure"\} 1/);
    } finally {
      await gw.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is not ready when the first load fails', async () => {
    const failing = async (): Promise<PolicyLoad> => ({ ok: false, findings: [{ severity: 'error', code: 'X', path: 'users.alice', message: 'broken', file: 'directory.yaml' }] });
    const gw = await startTestGateway({ noWait: true, wrapLoader: () => failing });
    try {
      expect((await gw.gateway.initialLoad).ok).toBe(false);
      const res = await request(`${gw.opsUrl}/readyz`);
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toEqual({ ready: false, reasons: ['policies failed to load', 'directory.yaml: users.alice: broken [X]'] });
    } finally {
      await gw.close();
    }
  });
});

describe('failures inside the pipeline', () => {
  it('answers 503 with an audited decision when the authenticator throws, and never forwards', async () => {
    const gw = await startTestGateway({
      wrapLoader: (load) => async () => {
        const loaded = await load();
        if (!loaded.ok) return loaded;
        return { ...loaded, snapshot: { ...loaded.snapshot, authenticator: { authenticate: () => Promise.reject(new Error('keys store down')) } } };
      },
    });
    try {
      const res = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toMatchObject({ error: 'ServiceUnavailable', code: 'auth_error' });
      expect(gw.audit.decisionsFor(String(res.headers['x-iamgate-request-id']))).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'auth_error', status: 503 })]);
      expect(gw.upstream.arrivals()).toBe(0);
    } finally {
      await gw.close();
    }
  });

  it('refuses the request (503) when the audit sink cannot keep the decision', async () => {
    const gw = await startTestGateway();
    try {
      const record = gw.audit.record;
      (gw.audit as { record: typeof record }).record = () => Promise.reject(new Error('disk full'));
      const res = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toMatchObject({ code: 'audit_unavailable' });
      expect(gw.upstream.arrivals()).toBe(0);
    } finally {
      await gw.close();
    }
  });
});
