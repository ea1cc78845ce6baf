// The STS's free-text parameters that reach a record: AssumeRole's RoleArn and RevokeSessions'
// PrincipalArn, which the trail keeps as the record's resource. An ARN of the directory is printable
// ASCII (user and role names and paths are), so anything else names no one: it is refused as
// malformed before any principal is looked up, and the record of the refusal holds no part of it.
// Every answer still leaves one record on one line.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { useServedGateway } from './support/served.js';

/** Characters some line reader takes for a line break (Python's str.splitlines splits on each). */
const LINE_BREAKS = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

const gateway = useServedGateway();
let carol: string;

beforeAll(async () => {
  carol = await tokenFor(gateway.files.config, 'carol');
});

interface Answer {
  readonly status: number;
  readonly code: unknown;
  readonly id: string;
}

/** Posts `body` to the STS endpoint `action` as carol. */
async function sts(action: string, body: Record<string, unknown>): Promise<Answer> {
  const res = await rawRequest(`${gateway.served.gateway.url}/.iamgate/sts/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${carol}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, code: (JSON.parse(res.body) as Record<string, unknown>)['code'], id: String(res.headers['x-iamgate-request-id']) };
}

const assumeRole = (roleArn: string): Promise<Answer> => sts('AssumeRole', { RoleArn: roleArn, RoleSessionName: 's1' });
const revokeSessions = (principalArn: string): Promise<Answer> => sts('RevokeSessions', { PrincipalArn: principalArn });

/** The trail's lines once the STS records of every answer so far are in, each checked to be one line for every reader. */
async function trailRecords(): Promise<Record<string, unknown>[]> {
  // A request through the pipeline is recorded before it is answered: once answered, the STS records are in too.
  await rawRequest(`${gateway.served.gateway.url}/orders/1`);
  const lines = (await readFile(gateway.files.trail, 'utf8')).split('\n').slice(0, -1);
  expect(lines.filter((line) => LINE_BREAKS.test(line))).toEqual([]);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

const ROLE = 'arn:aws:iam::111122223333:role/';
const USER = 'arn:aws:iam::111122223333:user/';
/** ARNs that are not printable ASCII, or longer than 2048 characters, after `prefix`; and one that is no ARN. */
const hostile = (prefix: string): string[] => [
  `${prefix}a\u2028{"kind":"request","decision":"Allow"}`,
  `${prefix}a\u2029b`,
  `${prefix}a\u0085b`,
  `${prefix}a\u001b[2Jb`,
  `${prefix}a\u0000b`,
  `${prefix}a\r\nb`,
  `${prefix}\ud800`,
  `${prefix}caf\u00e9`,
  `${prefix}a b`,
  `${prefix}${'r'.repeat(3000)}`,
  'not an arn',
];

describe('an STS ARN parameter that is not printable ASCII, or longer than 2048 characters', () => {
  it.each([
    ['AssumeRole RoleArn', assumeRole, ROLE, 'sts:AssumeRole'],
    ['RevokeSessions PrincipalArn', revokeSessions, USER, 'iamgate:RevokeSessions'],
  ] as const)('is refused in %s with 400 invalid_request, each answer naming one record that holds none of it', async (_name, send, prefix, action) => {
    const answers = [];
    for (const arn of hostile(prefix)) answers.push(await send(arn));
    expect(answers.map((a) => [a.status, a.code])).toEqual(answers.map(() => [400, 'invalid_request']));
    const records = await trailRecords();
    for (const a of answers) {
      const mine = records.filter((r) => r['requestId'] === a.id);
      expect(mine.map((r) => [r['action'], r['decision'], r['reason'], r['resource']])).toEqual([[action, 'Deny', 'invalid_request', undefined]]);
    }
  });

  it('still names a role of the directory as before, as a baseline', async () => {
    const a = await assumeRole(`${ROLE}NoSuchRole`);
    expect([a.status, a.code]).toEqual([403, 'access_denied']);
  });

  it('still records a printable PrincipalArn as the resource of the decision, as a baseline', async () => {
    const a = await revokeSessions(`${USER}alice`);
    const mine = (await trailRecords()).filter((r) => r['requestId'] === a.id);
    expect(mine.map((r) => [r['action'], r['resource']])).toEqual([['iamgate:RevokeSessions', `${USER}alice`]]);
  });
});
