// Every record fits one atomic pipe write (PIPE_BUF), however many bytes its strings take once
// UTF-8 encoded and JSON-escaped, and it still verifies.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog, createAuditSigner, PIPE_BUF, splitTrailText, verifyTrail, type AuditEventInput, type RecordSink } from '../../src/audit/index.js';

/** A sink that keeps the lines it is given. */
function keepingSink(lines: string[]): RecordSink {
  return {
    name: 'kept',
    whenFull: 'refuse',
    accepting: () => true,
    write(record) {
      lines.push(record.line);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: () => ({ written: lines.length, dropped: 0, buffered: 0, failures: 0, healthy: true }),
  };
}

/** Each string at its field's limit, of a character that takes `bytes` bytes in the line. */
function widest(c: string): AuditEventInput {
  const s = (n: number): string => c.repeat(n);
  return {
    kind: 'request',
    requestId: s(64),
    decision: 'Deny',
    reason: 'explicit_deny',
    action: s(128),
    resource: s(512),
    path: `/${s(800)}`,
    method: s(16),
    sourceIp: s(64),
    principal: { arn: s(256), type: s(64), session: s(64), sourceIdentity: s(64) },
    authn: { issuer: s(200), methods: [s(16), s(16), s(16), s(16)], mfa: true },
    statements: Array.from({ length: 6 }, () => ({ policy: s(64), sid: s(64) })),
    upstream: { error: s(64), status: 503, latencyMs: 1.25 },
    cache: 'miss',
  };
}

describe('a record on a shared pipe', () => {
  it('fits one atomic pipe write even when its strings escape to many times that, and the trail verifies', async () => {
    const lines: string[] = [];
    const { privateKey } = generateKeyPairSync('ed25519');
    const log = createAuditLog({ instanceId: 'gw-wide', signer: createAuditSigner(privateKey), sinks: [keepingSink(lines)] });
    const plain = { kind: 'request', requestId: 'r-plain', decision: 'Allow', reason: 'allowed', action: 'orders:GetOrder', path: '/orders/1' } as const;
    await log.record(plain);
    for (const c of ['\u0001', 'é', '€', '😀', 'a']) await log.record(widest(c));
    await log.close();
    const sizes = lines.map((line) => Buffer.byteLength(line));
    expect(sizes.filter((bytes) => bytes > PIPE_BUF)).toEqual([]);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = records.filter((r) => r['kind'] === 'request');
    expect(requests).toHaveLength(6);
    // What says what the record is stays whole; the record that fitted is written as it was asked.
    expect(requests.map((r) => [r['decision'], r['reason'], r['cache']])).toEqual([['Allow', 'allowed', undefined], ...Array.from({ length: 5 }, () => ['Deny', 'explicit_deny', 'miss'])]);
    expect(requests[0]).toMatchObject({ requestId: 'r-plain', path: '/orders/1', action: 'orders:GetOrder' });
    const report = await verifyTrail(splitTrailText(lines.join('')));
    expect(report.findings).toEqual([]);
    expect(report.status).toBe('ok');
  });
});
