// A large directory for the data-path benchmark, generated at run time (never committed): 100,000
// users in 1,000 groups over 100 customer-managed policies of 100 statements each (10,000
// statements over 200 services, a third with conditions, some denies; the first of each reads
// orders). Each user is in one group, which attaches one policy: a request to the orders API is
// decided among that policy's 100 statements. One policy a user because today the directory
// builds a merged index for every user with more than one (about 140 KB each at 200 statements:
// 14 GB for 100,000 users); docs/benchmarks.md has the figures.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LARGE = { users: 100_000, groups: 1_000, policies: 100, statementsPerPolicy: 100 } as const;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** The user the benchmark calls as: one in the middle of a directory of `userCount` users. */
export const largeUser = (userCount: number): string => `user${pad(Math.floor(userCount * 0.54321), 6)}`;

const ACCOUNT = '111122223333';

/** Policy number `p` of the large set: 100 statements, as bench/policy.ts's large set draws them. */
function largePolicy(p: number): unknown {
  return {
    Version: '2012-10-17',
    Statement: Array.from({ length: LARGE.statementsPerPolicy }, (_, s) => {
      if (s === 0) return { Sid: 'ReadOrders', Effect: 'Allow', Action: ['orders:GetOrder', 'orders:ListOrders'], Resource: `arn:aws:orders:us-east-1:${ACCOUNT}:order/*` };
      const n = p * LARGE.statementsPerPolicy + s;
      const service = `svc${n % 200}`;
      return {
        Sid: `S${n}`,
        Effect: n % 97 === 1 ? 'Deny' : 'Allow',
        Action: `${service}:Op${n % 37}*`,
        Resource: `arn:aws:${service}:us-east-1:${ACCOUNT}:thing/${n % 3 === 0 ? '*' : `team${n % 7}/*`}`,
        ...(n % 3 === 1
          ? { Condition: { StringEquals: { 'aws:PrincipalTag/team': `team${n % 7}` }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }
          : {}),
      };
    }),
  };
}

/**
 * Writes the large directory as JSON (which is YAML) into `dir`, beside the quick start's own policy
 * documents, and returns its path.
 */
export async function writeLargeDirectory(dir: string, userCount: number = LARGE.users): Promise<string> {
  const policies: Record<string, unknown> = {};
  for (let p = 0; p < LARGE.policies; p++) policies[`Large${pad(p, 3)}`] = { document: largePolicy(p) };
  const groups: Record<string, unknown> = {};
  for (let g = 0; g < LARGE.groups; g++) groups[`team${pad(g, 4)}`] = { policies: [`Large${pad(g % LARGE.policies, 3)}`] };
  const users: Record<string, unknown> = {};
  for (let u = 0; u < userCount; u++) users[`user${pad(u, 6)}`] = { groups: [`team${pad(u % LARGE.groups, 4)}`], tags: { team: `team${u % 7}` } };
  const file = join(dir, 'large-directory.json');
  await writeFile(file, JSON.stringify({ version: 1, account: ACCOUNT, partition: 'aws', policies, groups, users }));
  return file;
}
