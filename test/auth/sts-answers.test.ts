// Every code of the STS part of the error table, answered over real HTTP by a gateway with the STS
// turned on, real tokens, real TOTP codes and a real redis-server (stopped for the codes of an
// outage): each with its table status and the one body of every error answer, `error` naming the
// code, and its request id.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { STS_ERRORS, type StsErrorCode } from '../../src/errors/index.js';
import { startIdp, type Idp } from '../adversarial/support/idp.js';
import { startRealGateway, type RealGateway } from '../adversarial/support/real-gateway.js';
import { ADVERSARIAL_FIXTURES } from '../adversarial/support/fixtures.js';
import { startWithHeldLoad } from '../support/gateway.js';
import { rawRequest } from '../support/net.js';
import { freePort, startOwnedRedis, type TestRedis } from '../support/redis.js';

const ACCOUNT = '111122223333';
const CAROL = `arn:aws:iam::${ACCOUNT}:user/carol`;
const WORKER = `arn:aws:iam::${ACCOUNT}:role/Worker`;
const WORKLOADS = 'https://workloads.test';

const DIRECTORY = `
version: 1
account: "${ACCOUNT}"
partition: aws
policies:
  StsCaller:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "iamgate:*"], Resource: "*" }] }
users:
  carol: { policies: [StsCaller] }
roles:
  Worker:
    trustPolicy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: ["${CAROL}", "${WORKER}"] }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"] }] }
`;

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

let redis: TestRedis;
let idp: Idp;
let gw: RealGateway;
let dir: string;
// A second gateway whose first policy load is held until the end, for the code answered meanwhile.
let loading: Iamgate;
let releaseLoad: () => void = () => undefined;

beforeAll(async () => {
  redis = await startOwnedRedis();
  idp = await startIdp();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-sts-answers-'));
  await writeFile(join(dir, 'directory.yaml'), DIRECTORY);
  gw = await startRealGateway({
    // A workload issuer whose keys are out of reach: a port nothing listens on.
    issuers: [idp.issuerConfig(), { name: 'workloads', issuer: WORKLOADS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`, webIdentity: { roles: ['Worker'] } }],
    auth: { sts: { enabled: true } },
    config: { redis: { url: redis.url } },
    files: { directory: join(dir, 'directory.yaml'), routes: ADVERSARIAL_FIXTURES.routes },
  });
  ({ iamgate: loading, release: releaseLoad } = await startWithHeldLoad({ issuers: [idp.issuerConfig()], stateDir: dir }));
}, 30_000);

afterAll(async () => {
  releaseLoad();
  await loading?.stop(1000);
  await gw?.close();
  await idp?.close();
  await redis?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** POSTs to an STS endpoint (JSON unless text), with the bearer token given, of `base` or the main gateway. */
async function sts(path: string, body: unknown, token?: string, base: string = gw.url): Promise<Answer> {
  const res = await rawRequest(`${base}/.iamgate/sts/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> };
}

const answered = new Map<StsErrorCode, Answer>();

/** Keeps the answer under the code it is expected to carry. */
function expectCode(code: StsErrorCode, answer: Answer): void {
  expect({ code, got: answer.body['code'] }).toEqual({ code, got: code });
  answered.set(code, answer);
}

describe('the STS codes of the error table over HTTP', () => {
  it('answers each with its table status and the body { error, code, message, requestId }, error naming the code', async () => {
    const carol = await idp.token(idp.claims('carol', Date.now()));
    const role = (extra: Record<string, unknown>): Record<string, unknown> => ({ RoleArn: WORKER, RoleSessionName: 'probe', ...extra });

    expectCode('not_ready', await sts('GetSessionToken', {}, await idp.token(idp.claims('alice', Date.now())), loading.gateway.url));

    expectCode('invalid_request', await sts('AssumeRole', '[', carol));
    expectCode('request_too_large', await sts('AssumeRole', { Pad: 'x'.repeat(20_000) }, carol));
    expectCode('invalid_duration', await sts('AssumeRole', role({ DurationSeconds: 10 }), carol));
    expectCode('invalid_session_name', await sts('AssumeRole', role({ RoleSessionName: 'x' }), carol));
    expectCode('invalid_tags', await sts('AssumeRole', role({ Tags: 'none' }), carol));
    expectCode('invalid_source_identity', await sts('AssumeRole', role({ SourceIdentity: 'aws:me' }), carol));
    expectCode('session_policy_too_large', await sts('AssumeRole', role({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: `arn:aws:orders:::${'x'.repeat(4000)}` }] }) }), carol));
    expectCode('session_policy_invalid', await sts('AssumeRole', role({ Policy: '{"Version":"2012-10-17","Statement":5}' }), carol));
    expectCode('access_denied', await sts('AssumeRole', { RoleArn: `arn:aws:iam::${ACCOUNT}:role/Nobody`, RoleSessionName: 'probe' }, carol));

    const assumed = await sts('AssumeRole', role({ SourceIdentity: 'carol' }), carol);
    expect(assumed.status).toBe(200);
    const session = (assumed.body['Credentials'] as { SessionToken: string }).SessionToken;
    expectCode('caller_not_user', await sts('mfa/enroll', {}, session));
    expectCode('source_identity_immutable', await sts('AssumeRole', role({ SourceIdentity: 'mallory' }), session));

    expectCode('mfa_required', await sts('GetSessionToken', {}, carol));
    expectCode('mfa_not_enrolled', await sts('GetSessionToken', { TokenCode: '123456' }, carol));
    const secret = String((await sts('mfa/enroll', {}, carol)).body['SecretBase32']);
    const now = Math.floor(Date.now() / 1000);
    const nearby = new Set(await Promise.all([-30, 0, 30].map((s) => generate({ secret, epoch: now + s }))));
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !nearby.has(c))!;
    expectCode('mfa_code_invalid', await sts('mfa/confirm', { TokenCode: wrong }, carol));
    const good = await generate({ secret, epoch: now });
    expect((await sts('mfa/confirm', { TokenCode: good }, carol)).status).toBe(200);
    expectCode('mfa_already_enrolled', await sts('mfa/confirm', { TokenCode: good }, carol));
    expectCode('mfa_code_replayed', await sts('GetSessionToken', { TokenCode: good }, carol));

    expectCode('invalid_identity_token', await sts('AssumeRoleWithWebIdentity', role({ WebIdentityToken: 'not.a.token' })));
    const workload = await idp.token({ ...idp.claims('system:serviceaccount:orders:worker', Date.now()), iss: WORKLOADS });
    expectCode('identity_key_unavailable', await sts('AssumeRoleWithWebIdentity', role({ WebIdentityToken: workload })));

    // Failed attempts lock the caller out (auth.mfa.maxFailures), even with the right code.
    let locked: Answer | undefined;
    for (let attempt = 0; attempt <= 5 && locked === undefined; attempt++) {
      const answer = await sts('GetSessionToken', { TokenCode: wrong }, carol);
      if (answer.body['code'] === 'mfa_locked') locked = answer;
    }
    expectCode('mfa_locked', locked ?? { status: 0, body: {} });

    // Shared state out of reach: no code is accepted, no revocation is promised.
    await redis.stop();
    expectCode('mfa_unavailable', await sts('GetSessionToken', { TokenCode: await generate({ secret, epoch: now + 30 }) }, carol));
    expectCode('state_unavailable', await sts('RevokeSessions', { PrincipalArn: CAROL }, carol));

    for (const [code, { status, body }] of answered) {
      const info = STS_ERRORS[code];
      expect({ code, status, body: { error: body['error'], code: body['code'], message: typeof body['message'], requestId: typeof body['requestId'] } }).toEqual({
        code,
        status: info.status,
        body: { error: info.error, code, message: 'string', requestId: 'string' },
      });
    }
    expect(Object.keys(STS_ERRORS).filter((code) => !answered.has(code as StsErrorCode))).toEqual([]);
  });
});
