// STS bodies that say one thing twice. JSON.parse keeps the last of two members with one name and
// other readers keep the first, so a body naming RoleArn twice, a tag naming Key twice, or a session
// policy (as text or as an object) naming Effect twice is a question with two answers: each is
// refused with 400 invalid_request, and no session is issued.
import { afterEach, describe, expect, it } from 'vitest';
import { startAuthFixture, type AuthFixture } from '../auth/fixture.js';

const ACCOUNT = '111122223333';
const DIRECTORY = `
account: "${ACCOUNT}"
policies:
  Assume:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:TagSession", "orders:GetOrder"], Resource: "*" }]
users:
  dave: { policies: [Assume] }
roles:
  Reader:
    policies: [Assume]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]
  Admin:
    policies: [Assume]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Deny, Principal: "*", Action: "sts:AssumeRole" }]
`;

const ROLE = (name: string): string => `"arn:aws:iam::${ACCOUNT}:role/${name}"`;
const STATEMENT = (effect: string): string => `{"Effect":"${effect}","Action":"orders:GetOrder","Resource":"*"}`;
const DOUBLE_EFFECT = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"orders:GetOrder","Resource":"*","Effect":"Allow"}]}`;

describe('an STS body that names a member twice', () => {
  let f: AuthFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** POSTs the body text as written to AssumeRole as dave: the status and the error. */
  async function assumeWithText(text: string): Promise<{ status: number; error: unknown }> {
    f ??= await startAuthFixture({ directoryYaml: DIRECTORY });
    const res = await f.runtime.stsApp!.request('/AssumeRole', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await f.tokenFor('dave')}` },
      body: text,
    });
    return { status: res.status, error: ((await res.json()) as Record<string, unknown>)['error'] };
  }

  it('is answered as written when it names each member once', async () => {
    expect(await assumeWithText(`{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","Policy":${JSON.stringify(`{"Version":"2012-10-17","Statement":[${STATEMENT('Allow')}]}`)}}`)).toEqual({ status: 200, error: undefined });
  });

  it.each([
    ['RoleArn, the role that trusts the caller last', `{"RoleArn":${ROLE('Admin')},"RoleSessionName":"s1","RoleArn":${ROLE('Reader')}}`],
    ['RoleArn, the role that trusts the caller first', `{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","RoleArn":${ROLE('Admin')}}`],
    ['RoleSessionName', `{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","RoleSessionName":"s2"}`],
    ['Key in a tag', `{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","Tags":[{"Key":"team","Value":"red","Key":"owner"}]}`],
    ['Effect in a session policy given as an object', `{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","Policy":${DOUBLE_EFFECT}}`],
    ['Effect in a session policy given as text', `{"RoleArn":${ROLE('Reader')},"RoleSessionName":"s1","Policy":${JSON.stringify(DOUBLE_EFFECT)}}`],
  ])('is refused as invalid_request when it names %s twice', async (_name, text) => {
    expect(await assumeWithText(text)).toEqual({ status: 400, error: 'invalid_request' });
  });
});
