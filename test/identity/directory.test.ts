// Loading and checking directories: the example loads clean; every problem of a broken directory
// is reported at once with its file and path (dangling references, duplicates regardless of case,
// invalid trust and inline policies, unknown fields); `iamgate validate` reports them too.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.js';
import { loadDirectory, validateDirectoryDocument } from '../../src/identity/index.js';
import { createContext, evaluate } from '../../src/policy/index.js';

const EXAMPLE = new URL('../../policies/directory.yaml', import.meta.url).pathname;

describe('the example directory', () => {
  it('loads without findings, with ARNs in AWS grammar', async () => {
    const { directory, findings } = await loadDirectory(EXAMPLE);
    expect(findings).toEqual([]);
    expect(directory?.account).toBe('111122223333');
    expect(directory?.users.get('alice')?.arn).toBe('arn:aws:iam::111122223333:user/engineering/alice');
    expect(directory?.groups.get('developers')?.arn).toBe('arn:aws:iam::111122223333:group/developers');
    expect(directory?.roles.get('OrdersAdmin')?.arn).toBe('arn:aws:iam::111122223333:role/OrdersAdmin');
    expect(directory?.policies.get('OrdersReadOnly')?.arn).toBe('arn:aws:iam::111122223333:policy/OrdersReadOnly');
    expect(directory?.users.get('bob')?.id).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it('gives each user the policies of its groups and its boundary', async () => {
    const { directory } = await loadDirectory(EXAMPLE);
    const carol = directory!.users.get('carol')!;
    expect(carol.policySet.identity.map((p) => p.name)).toEqual(['OrdersReadWrite', 'OrdersDeleteWithMfa', 'AssumeOrdersAdmin', 'MfaSelfEnrolment']);
    expect(carol.policySet.boundary?.name).toBe('OrdersBoundary');
    expect(carol.policySet.boundary?.kind).toBe('boundary');
  });

  it('decides with the merged identity index exactly as with the identity policies one by one', async () => {
    const { directory } = await loadDirectory(EXAMPLE);
    const actions = ['orders:GetOrder', 'orders:ListOrders', 'orders:CreateOrder', 'orders:DeleteOrder', 'orders:Refund', 'sts:AssumeRole', 's3:GetObject'];
    const resources = ['arn:aws:orders:us-east-1:111122223333:order/1', 'arn:aws:iam::111122223333:role/OrdersAdmin', '*'];
    let merged = 0;
    for (const user of directory!.users.values()) {
      const { identityIndex, ...separate } = user.policySet;
      if (identityIndex) merged++;
      for (const mfa of [false, true]) {
        for (const action of actions) {
          for (const resource of resources) {
            const request = { principal: user.arn, action, resource, context: createContext({ 'aws:MultiFactorAuthPresent': mfa }) };
            expect(evaluate(user.policySet, request).decision, `${user.name} ${action} ${resource} mfa=${mfa}`).toBe(evaluate(separate, request).decision);
          }
        }
      }
    }
    expect(merged).toBeGreaterThan(0);
  });

  it('is stable across loads: same fingerprints and generation', async () => {
    const one = (await loadDirectory(EXAMPLE)).directory!;
    const two = (await loadDirectory(EXAMPLE)).directory!;
    expect(two.generation).toBe(one.generation);
    expect(two.users.get('alice')!.fingerprint).toBe(one.users.get('alice')!.fingerprint);
    expect(one.users.get('alice')!.fingerprint).not.toBe(one.users.get('carol')!.fingerprint);
  });
});

describe('a broken directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-dir-'));
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'policies', 'Good.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }] }));
    await writeFile(join(dir, 'policies', 'Bad.json'), '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "orders:GetOrder"}]}');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const BROKEN = `
account: "111122223333"
policies:
  Good: { file: policies/Good.json }
  Bad: { file: policies/Bad.json }
  Missing: { file: policies/Missing.json }
groups:
  devs: { policies: [Good, Nowhere] }
users:
  alice:
    groups: [devs, ghosts]
    boundry: Good
  Alice: {}
  bob:
    inlinePolicies:
      Mine: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "orders:*" }] }
roles:
  Admin:
    maxSessionDuration: 60
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { AWS: "111122223333" }
          Action: orders:DeleteOrder
          Resource: "*"
  NoTrust: {}
  Guarded:
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole }
        - { Effect: Deny, NotPrincipal: { AWS: ["111122223333", "arn:aws:iam::111122223333:user/alice"] }, Action: sts:AssumeRole }
  Loose:
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { AWS: "111122223333" }, NotAction: sts:TagSession }
        - { Effect: Deny, Principal: { AWS: "111122223333" }, NotAction: [sts:AssumeRole, "s3:*"] }
`;

  it('reports every problem at once, each with its file and path, and yields no directory', async () => {
    const file = join(dir, 'directory.yaml');
    await writeFile(file, BROKEN);
    const { directory, findings } = await loadDirectory(file);
    expect(directory).toBeUndefined();
    const got = findings.map((f) => `${f.code} ${f.path} @${f.file === file ? 'directory' : f.file?.slice(dir.length + 1)}`);
    expect(got).toEqual(
      expect.arrayContaining([
        'DANGLING_POLICY groups.devs.policies[1] @directory',
        'DANGLING_GROUP users.alice.groups[1] @directory',
        'UNKNOWN_KEY users.alice.boundry @directory',
        'DUPLICATE_NAME users.Alice @directory',
        'MISSING_RESOURCE users.bob.inlinePolicies.Mine.Statement[0] @directory',
        'TRUST_POLICY_ACTION roles.Admin.trustPolicy.Statement[0].Action @directory',
        'TRUST_POLICY_RESOURCE roles.Admin.trustPolicy.Statement[0].Resource @directory',
        'INVALID_SESSION_DURATION roles.Admin.maxSessionDuration @directory',
        'MISSING_KEY roles.NoTrust.trustPolicy @directory',
        'UNSUPPORTED_PRINCIPAL roles.Guarded.trustPolicy.Statement[1].NotPrincipal @directory',
        'TRUST_POLICY_ACTION roles.Loose.trustPolicy.Statement[0].NotAction @directory',
        'TRUST_POLICY_ACTION roles.Loose.trustPolicy.Statement[1].NotAction[1] @directory',
        'FILE_UNREADABLE policies.Missing.file @directory',
        'MISSING_RESOURCE Statement[0] @policies/Bad.json',
      ]),
    );
  });

  it('reports YAML syntax errors and duplicate keys with line numbers', async () => {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, 'account: "111122223333"\nusers:\n  alice: {}\n  alice: {}\n');
    const { findings } = await loadDirectory(file);
    expect(findings[0]).toMatchObject({ severity: 'error', code: 'DUPLICATE_KEY', file });
    expect(findings[0]?.message).toMatch(/line 4/);
  });

  it('refuses an inline policy number a double cannot hold, naming its path, instead of reading another number', async () => {
    const file = join(dir, 'inexact.yaml');
    const policy = '{ Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "s3:ListBucket", Resource: "*", Condition: { NumericLessThan: { "s3:max-keys": 9007199254740993 } } }] }';
    await writeFile(file, `account: "111122223333"\nusers:\n  alice:\n    inlinePolicies:\n      Keys: ${policy}\n`);
    const { directory, findings } = await loadDirectory(file);
    expect(directory).toBeUndefined();
    expect(findings).toEqual([
      {
        severity: 'error',
        code: 'INEXACT_NUMBER',
        path: 'users.alice.inlinePolicies.Keys.Statement[0].Condition.NumericLessThan.s3:max-keys',
        message: '9007199254740993 is beyond what a JSON number holds exactly here: write it as a string, "9007199254740993"',
        file,
      },
    ]);
    await writeFile(file, `account: "111122223333"\nusers:\n  alice:\n    inlinePolicies:\n      Keys: ${policy.replace('9007199254740993', '"9007199254740993"')}\n`);
    expect((await loadDirectory(file)).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('checks account ids, names and tags', () => {
    const findings = validateDirectoryDocument(
      { account: '1234', users: { 'not a name': {}, carol: { tags: { 'aws:team': 'x', ok: 7 } } }, roles: { R: { trustPolicy: 'x' } } },
      'inline.yaml',
    );
    expect(findings.map((f) => `${f.code} ${f.path}`)).toEqual(
      expect.arrayContaining(['INVALID_ACCOUNT account', 'INVALID_NAME users.not a name', 'INVALID_TAG users.carol.tags.aws:team']),
    );
    expect(findings.every((f) => f.file === 'inline.yaml')).toBe(true);
    expect(findings.some((f) => f.path.startsWith('users.carol.tags.ok'))).toBe(false);
  });

  it('is checked by iamgate validate, which exits 1 and prints file and path', async () => {
    const file = join(dir, 'directory.yaml');
    await writeFile(file, BROKEN);
    const lines: string[] = [];
    const code = await runValidate([file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines).toContainEqual(`${file}: error DANGLING_GROUP at users.alice.groups[1]: no group "ghosts" in groups`);
  });

  it('lets iamgate validate pass the example policies folder', async () => {
    const lines: string[] = [];
    const code = await runValidate([new URL('../../policies/', import.meta.url).pathname], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    expect(lines.filter((l) => l.includes(' error '))).toEqual([]);
    expect(code).toBe(0);
  });
});
