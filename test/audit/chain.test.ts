// The chain's serialisation: what the writer produces with plain JSON.stringify is exactly the
// canonical form that verification recomputes, for every kind of record.
import { describe, expect, it } from 'vitest';
import { canonicalJson, type CanonicalValue } from '../../src/audit/canonical.js';
import { buildAuditEvent } from '../../src/audit/build.js';
import { createChain, recordHash, signedPayload } from '../../src/audit/chain.js';
import { createAuditLog } from '../../src/audit/log.js';
import type { AuditRecord } from '../../src/audit/schema.js';
import type { RecordSink } from '../../src/audit/sinks/types.js';
import { verifyDigestSignature } from '../../src/audit/signing.js';
import { decisionEvent, ed25519 } from './support.js';

function memorySink(): RecordSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    name: 'memory',
    whenFull: 'drop',
    accepting: () => true,
    write: (r) => void lines.push(r.line),
    flush: async () => undefined,
    close: async () => undefined,
    stats: () => ({ written: lines.length, dropped: 0, buffered: 0, failures: 0, healthy: true }),
  };
}

describe('the hash chain', () => {
  it('writes every record, digests included, in exactly its canonical form', async () => {
    const sink = memorySink();
    const key = ed25519();
    const log = createAuditLog({ instanceId: 'gw-c', sinks: [sink], signer: key.signer, digestEvery: { records: 3, ms: 0 } });
    const events = [
      decisionEvent(1),
      decisionEvent(2, { upstream: { status: 502, latencyMs: 12.5, error: 'unreachable' }, authn: { mfa: true } }),
      { kind: 'outcome' as const, reason: 'upstream_timeout', requestId: 'r', upstream: { latencyMs: 1e-7 } },
      decisionEvent(3, { principal: { arn: 'arn:aws:sts::1:assumed-role/R/s', type: 'AssumedRole', session: 's', sourceIdentity: 'alice' } }),
      { kind: 'policy_reload' as const, reason: 'reloaded', policyGeneration: 7, statements: [{ policy: 'P' }, { policy: 'Q', sid: 'S"\\u2028' }] },
      { kind: 'tunnel_close' as const, reason: 'session_revoked', requestId: 'r', action: 'orders:Stream', path: '/ws', policyGeneration: 7 },
    ];
    for (const e of events) await log.record(e);
    await log.close();
    const kinds = new Set<string>();
    for (const line of sink.lines) {
      const { hash, ...rest } = JSON.parse(line) as AuditRecord;
      kinds.add(rest.kind);
      const written = line.slice(0, line.lastIndexOf(',"hash":')) + '}';
      expect(written).toBe(canonicalJson(rest as unknown as CanonicalValue));
      expect(recordHash(rest)).toBe(hash);
      if (rest.kind === 'audit.digest') {
        const { sig, ...unsigned } = rest;
        expect(verifyDigestSignature(key.signer.key, signedPayload(unsigned), sig as string)).toBe(true);
      }
    }
    expect(kinds).toEqual(new Set(['audit.start', 'audit.digest', 'request', 'outcome', 'policy_reload', 'tunnel_close']));
  });

  it('links each record to the hash of the one before, from 64 zeros', () => {
    const chain = createChain('gw-l');
    const deps = { now: () => 0, randomId: () => 'e' };
    const a = JSON.parse(chain.seal(buildAuditEvent(decisionEvent(1), deps)).line) as AuditRecord;
    const b = JSON.parse(chain.seal(buildAuditEvent(decisionEvent(2), deps)).line) as AuditRecord;
    expect(a).toMatchObject({ seq: 1, prev: '0'.repeat(64), instanceId: 'gw-l' });
    expect(b).toMatchObject({ seq: 2, prev: a.hash });
    expect(chain.lastSeq).toBe(2);
  });

  it('gives each sealed record the UTF-8 length of its line, for values beyond ASCII too', () => {
    const chain = createChain('gw-bytes-é');
    const deps = { now: () => 0, randomId: () => 'e' };
    const values = ['plain', 'café', 'ключ', '注文', '😀 emoji', 'quote " and \\ backslash'];
    for (const value of values) {
      const sealed = chain.seal(buildAuditEvent(decisionEvent(1, { path: `/orders/${value}`, reason: value }), deps));
      expect(sealed.bytes).toBe(Buffer.byteLength(sealed.line));
    }
  });
});
