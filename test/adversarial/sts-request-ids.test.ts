// The STS calls are answered as every other request through the gateway is: each answer carries
// its request id in x-iamgate-request-id (and, when refused, in the body's `requestId`), and the
// audit trail holds exactly one record under that id, of that call's action and outcome.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTrail, tokenFor, type TrailRecord } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { startServedGateway, type ServedGateway } from './support/served.js';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let gateway: ServedGateway;
let carol: string;

beforeAll(async () => {
  gateway = await startServedGateway();
  carol = await tokenFor(gateway.files.config, 'carol');
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

interface Answer {
  readonly call: string;
  readonly status: number;
  readonly id: string | undefined;
  readonly body: Record<string, unknown>;
}

/** POSTs to an STS endpoint (JSON unless text), as carol unless `authorization` is given. */
async function sts(path: string, body: unknown, authorization: string | null = `Bearer ${carol}`): Promise<Answer> {
  const res = await rawRequest(`${gateway.served.gateway.url}/.iamgate/sts/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const id = res.headers['x-iamgate-request-id'];
  return { call: path, status: res.status, id: typeof id === 'string' ? id : undefined, body: JSON.parse(res.body) as Record<string, unknown> };
}

/** The whole trail once every record of the calls so far is in it: a request through the pipeline is recorded before it is answered, and after them. */
async function trailAfterCalls(): Promise<TrailRecord[]> {
  await rawRequest(`${gateway.served.gateway.url}/orders/1`);
  return readTrail(gateway.files.trail);
}

describe('the request id of STS answers', () => {
  it('is on every STS answer, in the body of every refusal, and names exactly one audit record of that call', async () => {
    const answers: Answer[] = [];
    const call = async (path: string, body: unknown, authorization?: string | null): Promise<Answer> => {
      const a = await sts(path, body, authorization);
      answers.push(a);
      return a;
    };

    expect(await call('GetSessionToken', {})).toMatchObject({ status: 403, body: { code: 'mfa_required' } });
    const enrolled = await call('mfa/enroll', {});
    expect(enrolled.status).toBe(200);
    const secret = enrolled.body['SecretBase32'] as string;
    const now = Math.floor(Date.now() / 1000);
    const nearby = new Set(await Promise.all([-30, 0, 30].map((s) => generate({ secret, epoch: now + s }))));
    const wrong = ['000000', '111111', '222222'].find((c) => !nearby.has(c))!;
    expect(await call('mfa/confirm', { TokenCode: wrong })).toMatchObject({ status: 403, body: { code: 'mfa_code_invalid' } });
    expect((await call('mfa/confirm', { TokenCode: await generate({ secret, epoch: now }) })).status).toBe(200);
    expect(await call('mfa/confirm', { TokenCode: await generate({ secret, epoch: now }) })).toMatchObject({ status: 409, body: { code: 'mfa_already_enrolled' } });
    // Each code is accepted once: the confirmation took this step's, GetSessionToken takes the next.
    expect((await call('GetSessionToken', { TokenCode: await generate({ secret, epoch: now + 30 }) })).status).toBe(200);
    const role = { RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', RoleSessionName: 'carol' };
    expect(await call('AssumeRole', role)).toMatchObject({ status: 403, body: { code: 'access_denied' } });
    expect(await call('AssumeRole', role, null)).toMatchObject({ status: 401, body: { code: 'token_missing' } });
    expect(await call('AssumeRole', '{"RoleArn":')).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(await call('AssumeRoleWithWebIdentity', { RoleArn: 'arn:aws:iam::111122223333:role/OrdersWorker', RoleSessionName: 'w', WebIdentityToken: 'not.a.token' }, null)).toMatchObject({ status: 400 });

    const trail = await trailAfterCalls();
    for (const a of answers) {
      expect([a.call, a.id]).toEqual([a.call, expect.stringMatching(ID)]);
      if (a.status >= 400) expect([a.call, a.body['requestId']]).toEqual([a.call, a.id]);
      const records = trail.filter((r) => r['requestId'] === a.id);
      expect([a.call, a.status, records.length]).toEqual([a.call, a.status, 1]);
      expect([a.call, a.status, records[0]!['decision']]).toEqual([a.call, a.status, a.status === 200 ? 'Allow' : 'Deny']);
      // The record names the answer's code, or for access_denied the reason the answer keeps to itself:
      // for the one such call here, on OrdersAdmin, which this directory does not hold, role_unknown.
      const reason = a.body['code'] === 'access_denied' ? 'role_unknown' : a.body['code'];
      if (a.status >= 400) expect([a.call, records[0]!['reason']]).toEqual([a.call, reason]);
    }
    expect(new Set(answers.map((a) => a.id)).size).toBe(answers.length);
  });

  it('draws the ids of STS calls and proxied requests sent interleaved from one source: one format, none given twice, each naming one audit record', async () => {
    const role = { RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', RoleSessionName: 'carol' };
    const proxied = async (i: number): Promise<Answer> => {
      const res = await rawRequest(`${gateway.served.gateway.url}/orders/${i}`, { headers: { authorization: `Bearer ${carol}` } });
      const id = res.headers['x-iamgate-request-id'];
      return { call: `orders/${i}`, status: res.status, id: typeof id === 'string' ? id : undefined, body: {} };
    };
    // Sent all at once, alternating, so that the two kinds of answer are named at the same time.
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? sts('AssumeRole', role) : proxied(i))));
    const trail = await trailAfterCalls();
    const named = new Map<string, number>();
    for (const r of trail) if (typeof r['requestId'] === 'string') named.set(r['requestId'], (named.get(r['requestId']) ?? 0) + 1);
    for (const a of answers) expect([a.call, a.id, named.get(a.id ?? '')]).toEqual([a.call, expect.stringMatching(ID), 1]);
    const ids = answers.map((a) => a.id ?? '');
    expect(new Set(ids).size).toBe(answers.length);
    // One source: one random part (all but the last 12 hex digits, its counter) on every answer.
    expect(new Set(ids.map((id) => id.slice(0, -12)))).toEqual(new Set([ids[0]!.slice(0, -12)]));
    expect(answers.filter((a) => a.call === 'AssumeRole').map((a) => a.status)).toEqual(Array(30).fill(403));
  });

  it('names the one audit record of an STS path asked with another method than POST', async () => {
    const res = await rawRequest(`${gateway.served.gateway.url}/.iamgate/sts/AssumeRole`, { headers: { authorization: `Bearer ${carol}` } });
    const id = res.headers['x-iamgate-request-id'];
    const body = JSON.parse(res.body) as Record<string, unknown>;
    const trail = await trailAfterCalls();
    expect([res.status, typeof id === 'string' && ID.test(id), body['requestId']]).toEqual([res.status, true, id]);
    expect(trail.filter((r) => r['requestId'] === id)).toEqual([expect.objectContaining({ decision: 'Deny', reason: body['code'] })]);
  });

});
