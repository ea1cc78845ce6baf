// The tunnel registry's revocations: a tunnel ends when any name its session answers to is revoked
// (the role session's own ARN, or its role's), as the authenticator refuses the session's requests.
// The registry is told of revocations by a real revocation list, as the composition root wires it.
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/index.js';
import { createMemoryStateStore, createRevocations } from '../../src/auth/index.js';
import { createTunnelRegistry, type RequestFacts } from '../../src/gateway/index.js';
import type { Principal } from '../../src/identity/index.js';

const ROLE = 'arn:aws:iam::111122223333:role/Worker';
const sessionArn = (name: string): string => `arn:aws:sts::111122223333:assumed-role/Worker/${name}`;

function session(name: string, issuedAt: number): Principal {
  return {
    arn: sessionArn(name),
    type: 'AssumedRole',
    accountId: '111122223333',
    name: 'Worker',
    sessionName: name,
    roleArn: ROLE,
    userId: `AROAWORKER:${name}`,
    policySet: { identity: [] },
    fingerprint: 'f',
    context: {},
    mfa: false,
    issuedAt,
    expiresAt: issuedAt + 3_600_000,
    issuer: 'iamgate',
    authMethods: [],
  };
}

interface Registry {
  tunnels: ReturnType<typeof createTunnelRegistry>;
  closed: AuditEventInput[];
  open(name: string, issuedAt: number): void;
  revoke(subjectArn: string, before: number): Promise<void>;
}

async function registry(issuedAheadMs = 0): Promise<Registry> {
  const closed: AuditEventInput[] = [];
  const now = (): number => 10_000;
  let tunnels: ReturnType<typeof createTunnelRegistry> | undefined;
  const revocations = createRevocations({ store: createMemoryStateStore({ now }), now, issuedAheadMs, onRevoked: (subject, before) => tunnels?.revoked(subject, before) });
  await revocations.refresh();
  tunnels = createTunnelRegistry({
    audit: { record: (e) => void closed.push(e), flush: async () => undefined },
    logger: pino({ level: 'silent' }),
    now,
    maxLifetimeMs: 0,
    generation: () => 1,
    redecide: async () => undefined,
    sessionRevocation: (principal) => revocations.checkPrincipal(principal),
  });
  const registered = tunnels;
  return {
    tunnels: registered,
    closed,
    open(name, issuedAt) {
      const facts = { requestId: name } as Pick<RequestFacts, 'requestId'> as RequestFacts;
      registered.open({ facts, principal: session(name, issuedAt), event: { kind: 'request', reason: 'allowed', decision: 'Allow', requestId: name } }, new PassThrough(), new PassThrough());
    },
    revoke: (subjectArn, before) => revocations.revoke(subjectArn, before),
  };
}

describe('tunnels of role sessions', () => {
  it('close when that one session is revoked by its session ARN, leaving the role’s other sessions open', async () => {
    const r = await registry();
    r.open('w1', 1000);
    r.open('w2', 1000);
    await r.revoke(sessionArn('w1'), 2000);
    expect(r.closed.map((e) => [e.requestId, e.reason])).toEqual([['w1', 'session_revoked']]);
    expect(r.tunnels.size()).toBe(1);
  });

  it('close, every one, when their role is revoked, but not those issued after the revocation', async () => {
    const r = await registry();
    r.open('w1', 1000);
    r.open('w2', 1000);
    r.open('w3', 3000);
    await r.revoke(ROLE, 2000);
    expect(r.closed.map((e) => e.requestId).sort()).toEqual(['w1', 'w2']);
    expect(r.tunnels.size()).toBe(1);
  });

  it('close when their session is dated up to the clock tolerance after the revocation, its issuer’s clock running ahead', async () => {
    const r = await registry(1000);
    r.open('w1', 2900);
    r.open('w2', 3100);
    await r.revoke(ROLE, 2000);
    expect(r.closed.map((e) => [e.requestId, e.reason])).toEqual([['w1', 'session_revoked']]);
    expect(r.tunnels.size()).toBe(1);
  });

  it('close as they open when their session was revoked while the handshake was under way', async () => {
    const r = await registry();
    await r.revoke(sessionArn('w1'), 2000);
    r.open('w1', 1000);
    r.open('w2', 1000);
    expect(r.closed.map((e) => e.requestId)).toEqual(['w1']);
  });
});
