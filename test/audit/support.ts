// Shared by the audit suites: a temporary folder, a signing key, and a real trail written through
// the audit log's public API.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog, type AuditLog, type AuditLogDeps } from '../../src/audit/log.js';
import type { AuditEventInput } from '../../src/audit/schema.js';
import { createAuditSigner, type AuditSigner } from '../../src/audit/signing.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import { readTrailFile } from '../../src/audit/trail.js';
import { verifyTrail, type VerifyReport } from '../../src/audit/verify.js';

export interface TempDir {
  readonly path: string;
  file(name: string): string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'iamgate-audit-'));
  return { path, file: (name) => join(path, name), remove: () => rm(path, { recursive: true, force: true }) };
}

export function ed25519(): { signer: AuditSigner; privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: createAuditSigner(privateKey),
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A decision event as the gateway would record it for request number i. */
export function decisionEvent(i: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  const user = i % 3 === 0 ? 'bob' : 'alice';
  return {
    kind: 'request',
    requestId: `req-${i}`,
    principal: { arn: `arn:aws:iam::111122223333:user/${user}`, type: 'user' },
    authn: { issuer: 'https://idp.example', methods: ['jwt'], mfa: false },
    action: i % 2 === 0 ? 'orders:GetOrder' : 'orders:ListOrders',
    resource: i % 2 === 0 ? `arn:aws:orders:::order/${i % 5}` : 'arn:aws:orders:::order/*',
    decision: user === 'bob' && i % 2 === 1 ? 'Deny' : 'Allow',
    reason: user === 'bob' && i % 2 === 1 ? 'implicit_deny' : 'allowed',
    statements: [{ policy: 'OrdersRead', sid: 'Read' }],
    cache: 'miss',
    policyGeneration: 1,
    sourceIp: '10.0.0.7',
    method: 'GET',
    path: `/orders/${i % 5}`,
    status: 200,
    ...overrides,
  };
}

/** A clock that starts at a fixed instant and advances one second per reading. */
export function steppingClock(start = Date.parse('2025-03-01T12:00:00Z')): () => number {
  let t = start;
  return () => (t += 1000);
}

/** Writes `count` decision events to a file through the audit log and closes it. */
export async function writeTrail(
  path: string,
  count: number,
  deps: Partial<AuditLogDeps> = {},
): Promise<{ log: AuditLog }> {
  const log = createAuditLog({
    instanceId: 'gw-test-1',
    sinks: [createFileSink(path)],
    now: steppingClock(),
    digestEvery: { records: 5, ms: 0 },
    ...deps,
  });
  for (let i = 1; i <= count; i++) await log.record(decisionEvent(i));
  await log.close();
  return { log };
}

export async function verifyFile(path: string, trustedKeys?: Parameters<typeof verifyTrail>[1]): Promise<VerifyReport> {
  return verifyTrail(readTrailFile(path), trustedKeys);
}

export async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '');
}
