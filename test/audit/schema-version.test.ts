// Schema versions: records carry the current version (2, which added traceId), and a trail written
// by an older gateway (version 1, or version 2 with `shadow` out of sorted order) still verifies.
import { describe, expect, it } from 'vitest';
import { buildAuditEvent } from '../../src/audit/build.js';
import { createChain, type UnsealedRecord } from '../../src/audit/chain.js';
import { SCHEMA_VERSION } from '../../src/audit/index.js';
import { splitTrailText } from '../../src/audit/trail.js';
import { verifyTrail } from '../../src/audit/verify.js';
import { decisionEvent, steppingClock } from './support.js';

const deps = { now: steppingClock(), randomId: () => 'e-1' };

/** The first record of a chain as a gateway writing schema `version` laid it out. */
function chainStart(version: number): UnsealedRecord {
  const start = { eventId: 'e-0', instanceId: undefined, kind: 'audit.start', prev: undefined, reason: 'chain_start', schemaVersion: version, seq: undefined, time: '2025-03-01T12:00:00.000Z' };
  return start as unknown as UnsealedRecord;
}

describe('the audit schema version', () => {
  it('is 2, and a request event keeps its trace id', () => {
    const record = buildAuditEvent(decisionEvent(1, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }), deps);
    expect(SCHEMA_VERSION).toBe(2);
    expect(record).toMatchObject({ schemaVersion: 2, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('of 1, written by an older gateway, still verifies: chained records, none malformed', async () => {
    const chain = createChain('gw-v1');
    const lines = [chain.seal(chainStart(1)).line];
    lines.push(...[1, 2, 3].map((i) => {
      const record = buildAuditEvent(decisionEvent(i), deps);
      (record as { schemaVersion: number }).schemaVersion = 1;
      return chain.seal(record).line;
    }));
    const report = await verifyTrail(splitTrailText(lines.join('')));
    expect(report.records).toBe(4);
    expect(report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
  });

  it('of 2 with a shadow verdict placed after cache, as earlier gateways wrote it, still verifies, and a changed verdict does not', async () => {
    const chain = createChain('gw-shadow');
    const lines = [chain.seal(chainStart(2)).line];
    lines.push(...[1, 2, 3].map((i) => {
      // The earlier member order: action, authn, cache, shadow, decision, then the rest sorted.
      const { action, authn, cache, ...rest } = buildAuditEvent(decisionEvent(i), deps);
      return chain.seal({ action, authn, cache, shadow: 'would_deny', ...rest } as unknown as UnsealedRecord).line;
    }));
    expect(lines[1]).toContain('"cache":"miss","shadow":"would_deny","decision":');
    const intact = await verifyTrail(splitTrailText(lines.join('')));
    expect(intact.records).toBe(4);
    expect(intact.findings.filter((f) => f.severity === 'tampered')).toEqual([]);

    const changed = lines.map((line, i) => (i === 2 ? line.replace('would_deny', 'would_allow') : line)).join('');
    const report = await verifyTrail(splitTrailText(changed));
    expect(report.findings.map((f) => f.code)).toContain('altered');
  });
});
