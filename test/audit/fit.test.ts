// Every record fits one atomic pipe write (PIPE_BUF), however many bytes its strings take once
// UTF-8 encoded and JSON-escaped, and it still verifies.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditLog, createAuditSigner, CUT_MARK, FIELD_LIMITS, PIPE_BUF, splitTrailText, verifyTrail, type AuditEventInput, type RecordSink } from '../../src/audit/index.js';

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

/** The lines a signed audit log writes for `events`, its closing digest included. */
async function linesOf(events: readonly AuditEventInput[]): Promise<string[]> {
  const lines: string[] = [];
  const { privateKey } = generateKeyPairSync('ed25519');
  const log = createAuditLog({ instanceId: 'gw-wide', signer: createAuditSigner(privateKey), sinks: [keepingSink(lines)] });
  for (const event of events) await log.record(event);
  await log.close();
  return lines;
}

describe('a record on a shared pipe', () => {
  it('fits one atomic pipe write even when its strings escape to many times that, and the trail verifies', async () => {
    const plain = { kind: 'request', requestId: 'r-plain', decision: 'Allow', reason: 'allowed', action: 'orders:GetOrder', path: '/orders/1' } as const;
    const lines = await linesOf([plain, ...['\u0001', 'é', '€', '😀', 'a'].map(widest)]);
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

  it('is re-encoded with every string cut at one length shorter than its field, each cut string ending in the mark', async () => {
    const lines = await linesOf([widest('\u0001')]);
    const record = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r['kind'] === 'request') as Record<string, unknown>;
    const action = String(record['action']);
    const kept = action.length - CUT_MARK.length;
    expect(kept).toBeLessThan(FIELD_LIMITS.name);
    const cut = `${'\u0001'.repeat(kept)}${CUT_MARK}`;
    expect([action, record['resource'], record['requestId'], (record['principal'] as Record<string, unknown>)['arn']]).toEqual([cut, cut, cut, cut]);
  });
});
