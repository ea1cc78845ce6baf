// The pipeline's fast path: once a caller's token is verified and its decision is in the
// in-process cache, a request is decided and audited with no Promise between the request and the
// outcome, so an allowed request reaches the upstream dispatch without waiting a turn. A request
// refused because its decision record's write failed has an `outcome` audit_unavailable follow it
// into the trail. Real parts: the test policy files, the real token authenticator over a real JWKS
// server, the real decision cache, an audit sink that keeps every event, and the real audit log on
// a real file (or on /dev/full, which refuses every write).
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, createFileSink, type AuditLog } from '../../src/audit/index.js';
import { createAuthenticator } from '../../src/auth/index.js';
import { gatewayDecisionCache } from '../../src/app/decisions.js';
import { failSafe, type FailSafePipeline } from '../../src/gateway/failsafe.js';
import { createDecisionCache } from '../../src/cache/index.js';
import {
  compileTrustedProxies,
  createDecider,
  createGatewayMetrics,
  createPipeline,
  createPolicyLoader,
  DEFAULT_PATH_RULES,
  type AuditEventInput,
  type DecisionSource,
  type Pipeline,
  type PipelineOutcome,
  type PolicySnapshot,
  type RequestFacts,
} from '../../src/gateway/index.js';
import { authConfig, makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../auth/helpers.js';
import { FIXTURES, recordingAudit, type RecordingAudit } from '../support/gateway.js';
import { promisesMadeBy } from '../support/promises.js';

const ISS = 'https://idp.pipeline.test';

describe('the pipeline', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let pipeline: Pipeline;
  let audit: RecordingAudit;
  let snapshot: PolicySnapshot;
  let ids = 0;

  beforeAll(async () => {
    key = await makeKey('p1');
    jwks = await startJwksServer([key.publicJwk]);
    const config = authConfig({ issuers: [{ name: 'idp', issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: jwks.url, claims: { user: 'sub' } }] });
    let resolver: Parameters<typeof createAuthenticator>[1]['resolver'] | undefined;
    const tokens = createAuthenticator(config, { resolver: () => resolver!() });
    const loaded = await createPolicyLoader(FIXTURES, (_directory, next) => {
      resolver = () => next;
      return tokens;
    })();
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.findings));
    snapshot = { ...loaded.snapshot, generation: 1 };
    audit = recordingAudit();
    pipeline = createPipeline({
      snapshot: () => snapshot,
      decider: createDecider(gatewayDecisionCache(createDecisionCache({ now: Date.now }))),
      audit,
      metrics: createGatewayMetrics(),
      pathRules: DEFAULT_PATH_RULES,
      trustedProxies: compileTrustedProxies([]),
      explainToCaller: false,
      realm: 'iamgate',
    });
  });
  afterAll(async () => {
    await jwks.close();
  });

  const request = (target: string, authorization: string): RequestFacts => ({
    requestId: `r${++ids}`,
    method: 'GET',
    target,
    rawHeaders: ['Host', 'orders', 'Authorization', authorization],
    peerAddress: '127.0.0.1',
    secure: false,
    now: Date.now(),
  });

  it('decides a cached allow synchronously, with one audit record, once the token and the decision are cached', async () => {
    const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
    const first = pipeline.run(request('/orders/1', bearer), 'proxy');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ kind: 'allow', verdict: { cache: 'miss' } });

    const facts = request('/orders/1', bearer);
    const again = pipeline.run(facts, 'proxy');
    expect(again).not.toBeInstanceOf(Promise);
    const outcome = again as PipelineOutcome;
    expect(outcome).toMatchObject({ kind: 'allow', verdict: { cache: 'l1' }, principal: { arn: 'arn:aws:iam::111122223333:user/alice' } });
    expect(audit.decisionsFor(facts.requestId)).toEqual([expect.objectContaining({ decision: 'Allow', reason: 'allowed', cache: 'l1', path: '/orders/1' })]);
  });

  it('decides a refusal before authentication synchronously, with its one audit record', () => {
    const facts = request('/orders/1%2F2', 'Bearer whatever');
    const outcome = pipeline.run(facts, 'proxy');
    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome).toMatchObject({ kind: 'reject', code: 'bad_path' });
    expect(audit.decisionsFor(facts.requestId)).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'bad_path' })]);
  });

  it('stays synchronous behind the failsafe wrapper that turns a throw into the audited 500', async () => {
    const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
    const wrapped = failSafe(pipeline, { audit, logger: pino({ level: 'silent' }), metrics: createGatewayMetrics(), trustedProxies: compileTrustedProxies([]), generation: () => 1 });
    await wrapped.run(request('/orders/1', bearer), 'proxy');
    const cached = wrapped.run(request('/orders/1', bearer), 'proxy');
    expect(cached).not.toBeInstanceOf(Promise);
    expect(cached).toMatchObject({ kind: 'allow', verdict: { cache: 'l1' } });
    const anonymous = wrapped.run(request('/orders/1', ''), 'proxy');
    expect(anonymous).not.toBeInstanceOf(Promise);
    expect(anonymous).toMatchObject({ kind: 'reject', code: 'unauthenticated', headers: { 'www-authenticate': 'Bearer realm="iamgate"' } });
  });

  it('never rejects behind the failsafe wrapper, even when answering the failure fails too: the 500 still comes back', async () => {
    const throwing: Pipeline = {
      run() {
        throw new Error('a stage fault');
      },
    };
    // A logger that fails while the fault is being reported: the wrapper must still answer.
    const brokenLogger = pino({ level: 'error' }, { write: () => { throw new Error('the log is gone'); } });
    const wrapped = failSafe(throwing, { audit, logger: brokenLogger, metrics: createGatewayMetrics(), trustedProxies: compileTrustedProxies([]), generation: () => 1 });
    const facts = request('/orders/1', '');
    await expect(wrapped.run(facts, 'proxy')).resolves.toMatchObject({ kind: 'reject', code: 'internal_error', status: 500, body: { code: 'internal_error', requestId: facts.requestId } });
  });

  it('counts no decision for an operator simulation that fails behind the failsafe wrapper, and counts one for a request that does', async () => {
    const throwing: Pipeline = {
      run() {
        throw new Error('a stage fault');
      },
    };
    const metrics = createGatewayMetrics();
    const wrapped = failSafe(throwing, { audit, logger: pino({ level: 'silent' }), metrics, trustedProxies: compileTrustedProxies([]), generation: () => 1 });
    const rejected = async (): Promise<number> => (await metrics.registry.getSingleMetricAsString('iamgate_decisions_total')).split('\n').filter((line) => line.includes('decision="Rejected"')).map((line) => Number(line.split(' ').at(-1))).reduce((a, b) => a + b, 0);
    await expect(wrapped.run(request('/orders/1', ''), 'operator')).resolves.toMatchObject({ kind: 'reject', code: 'internal_error' });
    expect(await rejected()).toBe(0);
    await expect(wrapped.run(request('/orders/1', ''), 'proxy')).resolves.toMatchObject({ kind: 'reject', code: 'internal_error' });
    expect(await rejected()).toBe(1);
  });

  it('answers through answerThen with the audited 500 when a stage throws at once or fails after a wait, and never calls back twice', async () => {
    const wrap = (runThen: NonNullable<Pipeline['runThen']>): FailSafePipeline =>
      failSafe({ run: () => Promise.reject(new Error('not used')), runThen }, { audit, logger: pino({ level: 'silent' }), metrics: createGatewayMetrics(), trustedProxies: compileTrustedProxies([]), generation: () => 1 });
    const answers = (wrapped: FailSafePipeline, facts: RequestFacts): Promise<PipelineOutcome[]> =>
      new Promise((resolve) => {
        const got: PipelineOutcome[] = [];
        wrapped.answerThen(facts, 'proxy', (outcome) => got.push(outcome));
        setTimeout(() => resolve(got), 20);
      });
    const throwsNow = wrap(() => {
      throw new Error('a stage fault');
    });
    const failsLater = wrap((_facts, _source, done) => void setImmediate(() => done(new Error('a stage fault after a wait'), undefined)));
    for (const wrapped of [throwsNow, failsLater]) {
      const facts = request('/orders/1', '');
      expect(await answers(wrapped, facts)).toEqual([expect.objectContaining({ kind: 'reject', code: 'internal_error', status: 500 })]);
      expect(audit.decisionsFor(facts.requestId)).toEqual([expect.objectContaining({ reason: 'internal_error' })]);
    }
    // A throw from the caller's own callback is the caller's: raised to it, not answered again.
    const calls: PipelineOutcome[] = [];
    expect(() =>
      failSafe(pipeline, { audit, logger: pino({ level: 'silent' }), metrics: createGatewayMetrics(), trustedProxies: compileTrustedProxies([]), generation: () => 1 }).answerThen(request('/orders/1', ''), 'proxy', (outcome) => {
        calls.push(outcome);
        throw new Error('the caller failed');
      }),
    ).toThrow('the caller failed');
    expect(calls).toEqual([expect.objectContaining({ kind: 'reject', code: 'unauthenticated' })]);
  });

  it('answers a target, a missing token and a cached deny the same way each time they come again', async () => {
    const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
    const deny = (): RequestFacts => ({ ...request('/orders/1', bearer), method: 'DELETE' });
    await pipeline.run(deny(), 'proxy');
    for (let i = 0; i < 3; i++) {
      const refused = request('/orders/1%2F2', bearer);
      expect(pipeline.run(refused, 'proxy')).toMatchObject({ kind: 'reject', code: 'bad_path', body: { reason: 'encoded_separator', requestId: refused.requestId } });
      const dotted = await pipeline.run(request('/orders/./7/../1', bearer), 'proxy');
      expect(dotted).toMatchObject({ kind: 'allow', target: { path: '/orders/1', segments: ['orders', '1'] } });
      const anonymous = request('/orders/1', '');
      expect(pipeline.run(anonymous, 'proxy')).toMatchObject({ kind: 'reject', code: 'unauthenticated', body: { code: 'token_missing', requestId: anonymous.requestId } });
      const denied = deny();
      expect(pipeline.run(denied, 'proxy')).toMatchObject({ kind: 'reject', code: 'access_denied', body: { requestId: denied.requestId }, verdict: { cache: 'l1' } });
      for (const facts of [refused, anonymous, denied]) expect(audit.decisionsFor(facts.requestId)).toEqual([expect.objectContaining({ decision: 'Deny' })]);
    }
  });

  it('waits for an audit sink that asks to be waited for, and answers 503 when it refuses the record', async () => {
    const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
    const refusing = createPipeline({
      snapshot: () => undefined,
      decider: createDecider(gatewayDecisionCache(createDecisionCache({ now: Date.now }))),
      audit: { record: () => Promise.reject(new Error('disk full')), flush: async () => undefined },
      metrics: createGatewayMetrics(),
      pathRules: DEFAULT_PATH_RULES,
      trustedProxies: compileTrustedProxies([]),
      explainToCaller: false,
      realm: 'iamgate',
    });
    const outcome = refusing.run(request('/orders/2', bearer), 'proxy');
    expect(outcome).toBeInstanceOf(Promise);
    expect(await outcome).toMatchObject({ kind: 'reject', code: 'audit_unavailable', status: 503 });
  });

  describe('over the audit log', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'iamgate-pipeline-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /** A pipeline recording into a real audit log on the file at `path`; `followed` keeps the follow-ups it asks the log for. */
    const auditedPipeline = (path: string): { pipeline: Pipeline; log: AuditLog; followed: AuditEventInput[] } => {
      const log = createAuditLog({ instanceId: 'gw-pipeline', sinks: [createFileSink(path, { retryMs: 60_000 })], followUps: { retryMs: 60_000 } });
      const followed: AuditEventInput[] = [];
      const run = createPipeline({
        snapshot: () => snapshot,
        decider: createDecider(gatewayDecisionCache(createDecisionCache({ now: Date.now }))),
        audit: {
          record: (event) => log.record(event),
          flush: () => log.flush(),
          recordWhenAccepting(event) {
            followed.push(event);
            log.recordWhenAccepting(event);
          },
        },
        metrics: createGatewayMetrics(),
        pathRules: DEFAULT_PATH_RULES,
        trustedProxies: compileTrustedProxies([]),
        explainToCaller: false,
        realm: 'iamgate',
      });
      return { pipeline: run, log, followed };
    };
    const traced = (facts: RequestFacts): RequestFacts => ({ ...facts, trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: undefined, flags: '01', tracestate: undefined } });

    it.each<DecisionSource>(['proxy', 'forward-auth', 'ext-authz'])('follows a %s decision whose record was sealed before its write failed with one outcome audit_unavailable, and one refused before it was sealed with none', async (source) => {
      const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
      // The token verified once (its key fetched), so that the decision below is recorded in the turn
      // the log starts: its record shares the first write, which /dev/full fails.
      await pipeline.run(request('/orders/1', bearer), source);
      const { pipeline: run, log, followed } = auditedPipeline('/dev/full');
      const sealed = traced(request('/orders/1', bearer));
      expect(await run.run(sealed, source)).toMatchObject({ kind: 'reject', code: 'audit_unavailable', status: 503 });
      expect(followed).toEqual([{ kind: 'outcome', reason: 'audit_unavailable', requestId: sealed.requestId, status: 503, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }]);
      expect(log.stats().followUps).toEqual({ queued: 1, dropped: 0 });

      // The sink has failed: the next record is refused before it is sealed, and is in no trail.
      const unsealed = request('/orders/1', bearer);
      expect(await run.run(unsealed, source)).toMatchObject({ kind: 'reject', code: 'audit_unavailable', status: 503 });
      expect(followed.map((e) => e.requestId)).toEqual([sealed.requestId]);
      expect(log.stats()).toMatchObject({ refused: 1, followUps: { queued: 1, dropped: 0 } });
      await log.close();
    });

    /** The pipeline over the audit log itself (its `recordThen` included), behind the failsafe wrapper. */
    const overLog = (path: string): { wrapped: FailSafePipeline; log: AuditLog } => {
      const log = createAuditLog({ instanceId: 'gw-then', sinks: [createFileSink(path, { retryMs: 60_000 })], followUps: { retryMs: 60_000 } });
      const run = createPipeline({
        snapshot: () => snapshot,
        decider: createDecider(gatewayDecisionCache(createDecisionCache({ now: Date.now }))),
        audit: log,
        metrics: createGatewayMetrics(),
        pathRules: DEFAULT_PATH_RULES,
        trustedProxies: compileTrustedProxies([]),
        explainToCaller: false,
        realm: 'iamgate',
      });
      return { wrapped: failSafe(run, { audit: log, logger: pino({ level: 'silent' }), metrics: createGatewayMetrics(), trustedProxies: compileTrustedProxies([]), generation: () => 1 }), log };
    };
    /** The outcome `answerThen` hands over. */
    const answered = (wrapped: FailSafePipeline, facts: RequestFacts): Promise<PipelineOutcome> => new Promise((resolve) => wrapped.answerThen(facts, 'proxy', resolve));

    it('answers a cached allow through answerThen only once its record is in the file, making no Promise on the way', async () => {
      const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
      const path = join(dir, 'then.jsonl');
      const { wrapped, log } = overLog(path);
      expect(await answered(wrapped, request('/orders/1', bearer))).toMatchObject({ kind: 'allow', verdict: { cache: 'miss' } });
      const facts = request('/orders/1', bearer);
      const got: { outcome: PipelineOutcome; inFile: boolean }[] = [];
      const made = promisesMadeBy(() => wrapped.answerThen(facts, 'proxy', (outcome) => got.push({ outcome, inFile: readFileSync(path, 'utf8').includes(`"requestId":"${facts.requestId}"`) })));
      expect(made).toBe(0);
      expect(got).toEqual([]);
      await log.flush();
      expect(got).toEqual([{ outcome: expect.objectContaining({ kind: 'allow', verdict: expect.objectContaining({ cache: 'l1' }) }), inFile: true }]);
      await log.close();
    });

    it('answers 503 through answerThen when the record of a cached allow cannot be written, with its outcome following it', async () => {
      const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
      await pipeline.run(request('/orders/1', bearer), 'proxy');
      const { wrapped, log } = overLog('/dev/full');
      const facts = request('/orders/1', bearer);
      expect(await answered(wrapped, facts)).toMatchObject({ kind: 'reject', code: 'audit_unavailable', status: 503, body: { requestId: facts.requestId } });
      expect(log.stats().followUps).toEqual({ queued: 1, dropped: 0 });
      expect(await answered(wrapped, request('/orders/1', bearer))).toMatchObject({ kind: 'reject', code: 'audit_unavailable', status: 503 });
      expect(log.stats()).toMatchObject({ refused: 1 });
      await log.close();
    });

    it('asks for no follow-up and writes no outcome while every decision record is written', async () => {
      const bearer = `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: Date.now() })}`;
      const path = join(dir, 'written.jsonl');
      const { pipeline: run, log, followed } = auditedPipeline(path);
      const answers = await Promise.all(['/orders/1', '/orders/2', '/admin/users'].map((target) => run.run(request(target, bearer), 'proxy')));
      expect(answers.map((a) => a.kind)).toEqual(['allow', 'allow', 'reject']);
      expect(followed).toEqual([]);
      expect(log.stats().followUps).toEqual({ queued: 0, dropped: 0 });
      await log.close();
      const kinds = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { kind: string }).kind);
      expect(kinds).toEqual(['audit.start', 'request', 'request', 'request']);
    });
  });
});
