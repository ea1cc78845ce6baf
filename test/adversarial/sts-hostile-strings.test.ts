// The STS's one free-text parameter that reaches a record: RoleArn, which the trail keeps as the
// record's resource. A role ARN of the directory is printable ASCII (role names and paths are), so
// anything else names no role: it is refused as malformed before any role is looked up, and the
// record of the refusal holds no part of it. Every answer still leaves one record on one line.
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

async function assumeRole(roleArn: string): Promise<{ status: number; code: unknown; id: string }> {
  const res = await rawRequest(`${gateway.served.gateway.url}/.iamgate/sts/AssumeRole`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${carol}` },
    body: JSON.stringify({ RoleArn: roleArn, RoleSessionName: 's1' }),
  });
  return { status: res.status, code: (JSON.parse(res.body) as Record<string, unknown>)['code'], id: String(res.headers['x-iamgate-request-id']) };
}

describe('an AssumeRole RoleArn that is not printable ASCII, or longer than 2048 characters', () => {
  const ROLE = 'arn:aws:iam::111122223333:role/';
  const HOSTILE = [
    `${ROLE}a\u2028{"kind":"request","decision":"Allow"}`,
    `${ROLE}a\u2029b`,
    `${ROLE}a\u0085b`,
    `${ROLE}a\u001b[2Jb`,
    `${ROLE}a\u0000b`,
    `${ROLE}a\r\nb`,
    `${ROLE}\ud800`,
    `${ROLE}caf\u00e9`,
    `${ROLE}a b`,
    `${ROLE}${'r'.repeat(3000)}`,
    'not an arn',
  ];

  it('is refused with 400 invalid_request, each answer naming one record that holds none of it', async () => {
    const answers = [];
    for (const arn of HOSTILE) answers.push(await assumeRole(arn));
    expect(answers.map((a) => [a.status, a.code])).toEqual(HOSTILE.map(() => [400, 'invalid_request']));
    // A request through the pipeline is recorded before it is answered: once answered, the STS records are in too.
    await rawRequest(`${gateway.served.gateway.url}/orders/1`);
    const lines = (await readFile(gateway.files.trail, 'utf8')).split('\n').slice(0, -1);
    expect(lines.filter((line) => LINE_BREAKS.test(line))).toEqual([]);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const a of answers) {
      const mine = records.filter((r) => r['requestId'] === a.id);
      expect(mine.map((r) => [r['action'], r['decision'], r['reason'], r['resource']])).toEqual([['sts:AssumeRole', 'Deny', 'invalid_request', undefined]]);
    }
  });

  it('still names a role of the directory as before, as a baseline', async () => {
    const a = await assumeRole(`${ROLE}NoSuchRole`);
    expect([a.status, a.code]).toEqual([403, 'trust_policy_denied']);
  });
});
