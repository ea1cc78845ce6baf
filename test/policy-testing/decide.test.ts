// The offline decision (iamgate test, simulate against a directory, replay) takes its context as
// the gateway and the STS build theirs: the time keys of a request given as action and resource
// are those of a decision made without a request, written by the same writer.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { timeKeys } from '../../src/auth/index.js';
import { decideOffline, loadPolicyWorld, resolvePrincipal, runCase, type PolicyWorld } from '../../src/policy-testing/index.js';
import { readSuiteDocument } from '../../src/policy-testing/suite.js';
import type { Principal } from '../../src/identity/index.js';

const now = Date.UTC(2026, 11, 6, 16, 30, 0, 742);
let world: PolicyWorld;
let alice: Principal;
beforeAll(async () => {
  const load = await loadPolicyWorld(resolve('policies'));
  if (!load.ok) throw new Error(`the example policies do not load: ${JSON.stringify(load.findings)}`);
  world = load.world;
  alice = resolvePrincipal(world, { user: 'alice' }, now)!;
  expect(alice).toBeDefined();
});

describe('an offline decision’s time keys', () => {
  it('are those of a decision made without a request, aws:CurrentTime to the second as AWS writes it, for a request given as action and resource', () => {
    const decided = decideOffline(world, alice, { action: 'orders:ListOrders', resource: 'arn:aws:orders:us-east-1:111122223333:order/*' }, {}, now);
    expect('request' in decided).toBe(true);
    const context = 'request' in decided ? decided.request.context : new Map();
    expect(context.get('aws:currenttime')).toBe('2026-12-06T16:30:00Z');
    expect(context.get('aws:epochtime')).toBe(Math.floor(now / 1000));
    for (const [key, value] of Object.entries(timeKeys(now))) expect(context.get(key)).toEqual(value);
    expect([...context.keys()].filter((k) => k !== k.toLowerCase())).toEqual([]);
  });

  it('are the same for a request given as a path, which the gateway’s one writer sets', () => {
    const direct = decideOffline(world, alice, { action: 'orders:ListOrders', resource: 'arn:aws:orders:us-east-1:111122223333:order/*' }, {}, now);
    const routed = decideOffline(world, alice, { method: 'GET', path: '/orders' }, {}, now);
    const times = (d: typeof direct): unknown[] => ('request' in d ? [d.request.context.get('aws:currenttime'), d.request.context.get('aws:epochtime')] : []);
    expect(times(routed)).toEqual(['2026-12-06T16:30:00Z', Math.floor(now / 1000)]);
    expect(times(direct)).toEqual(times(routed));
  });
});

describe('a test case whose principal carries a source identity', () => {
  const CASE = { name: 'the operator reads', request: 'GET /orders/1', expect: 'Allow' };

  it('reads sourceIdentity for a role session and refuses it for a user, who has no session to carry one', () => {
    const role = readSuiteDocument({ cases: [{ ...CASE, principal: { role: 'OrdersAdmin', sourceIdentity: 'alice' } }] }, 'suite.yaml');
    expect(role.ok && role.suite.cases[0]?.principal).toEqual({ role: 'OrdersAdmin', sourceIdentity: 'alice' });
    const user = readSuiteDocument({ cases: [{ ...CASE, principal: { user: 'alice', sourceIdentity: 'alice' } }] }, 'suite.yaml');
    expect(user.ok ? [] : user.problems.map((p) => `${p.code} ${p.path}`)).toEqual(['INVALID_VALUE cases[0].principal.sourceIdentity']);
  });

  it('fails a case whose principal is an ARN naming a user and gives a source identity, rather than deciding without it', () => {
    const read = readSuiteDocument({ cases: [{ ...CASE, principal: { arn: alice.arn, sourceIdentity: 'alice' } }] }, 'suite.yaml');
    if (!read.ok) throw new Error(JSON.stringify(read.problems));
    const [c] = read.suite.cases;
    expect(runCase(world, read.suite, c!, now)).toMatchObject({
      passed: false,
      failures: [`cases[0].principal.sourceIdentity: only role sessions carry a source identity, and ${alice.arn} is not one`],
    });
    const session = readSuiteDocument({ cases: [{ ...CASE, principal: { role: 'OrdersAdmin', sourceIdentity: 'alice' } }] }, 'suite.yaml');
    if (!session.ok) throw new Error(JSON.stringify(session.problems));
    expect(runCase(world, session.suite, session.suite.cases[0]!, now).failures.filter((f) => f.includes('sourceIdentity'))).toEqual([]);
  });

  it('gives the resolved session aws:SourceIdentity, and a session without one none', () => {
    expect(resolvePrincipal(world, { role: 'OrdersAdmin', sourceIdentity: 'alice' }, now)?.context['aws:SourceIdentity']).toBe('alice');
    expect(resolvePrincipal(world, { role: 'OrdersAdmin' }, now)?.context['aws:SourceIdentity']).toBeUndefined();
  });
});
