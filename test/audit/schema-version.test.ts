// Schema versions: records carry the current version (2, which added traceId), and a trail written
// by an older gateway at version 1 still verifies.
import { describe, expect, it } from 'vitest';
import { buildAuditEvent } from '../../src/audit/build.js';
import { createChain, type UnsealedRecord } from '../../src/audit/chain.js';
import { SCHEMA_VERSION } from '../../src/audit/index.js';
import { splitTrailText } from '../../src/audit/trail.js';
import { verifyTrail } from '../../src/audit/verify.js';
import { decisionEvent, steppingClock } from './support.js';

const deps = { now: steppingClock(), randomId: () => 'e-1' };

describe('the audit schema version', () => {
  it('is 2, and a request event keeps its trace id', () => {
    const record = buildAuditEvent(decisionEvent(1, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }), deps);
    expect(SCHEMA_VERSION).toBe(2);
    expect(record).toMatchObject({ schemaVersion: 2, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('of 1, written by an older gateway, still verifies: chained records, none malformed', async () => {
    const chain = createChain('gw-v1');
    const start = { eventId: 'e-0', instanceId: undefined, kind: 'audit.start', prev: undefined, reason: 'chain_start', schemaVersion: 1, seq: undefined, time: '2025-03-01T12:00:00.000Z' };
    const lines = [chain.seal(start as unknown as UnsealedRecord).line];
    lines.push(...[1, 2, 3].map((i) => {
      const record = buildAuditEvent(decisionEvent(i), deps);
      (record as { schemaVersion: number }).schemaVersion = 1;
      return chain.seal(record).line;
    }));
    const report = await verifyTrail(splitTrailText(lines.join('')));
    expect(report.records).toBe(4);
    expect(report.findings.filter((f) => f.severity === 'tampered')).toEqual([]);
  });
});
