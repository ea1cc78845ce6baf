// `iamgate diff` on real policy folders and on a real git repository: a widened wildcard, a
// removed Deny, a new group membership and a narrowed boundary each show as the gains and losses
// they cause; --fail-on new-access, --check-not-granted and --json.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { copyExample, iamgate } from './cli.js';

const git = promisify(execFile);
const made: string[] = [];

async function example(): Promise<string> {
  const dir = await copyExample('iamgate-diff-');
  made.push(dirname(dir));
  return dir;
}

afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});

async function edit(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  expect(text, `${file} holds the text to replace`).toContain(from);
  await writeFile(file, text.replace(from, to));
}

const policy = (dir: string, name: string): string => join(dir, 'policies', `${name}.json`);

/** The example committed to a new git repository, then OrdersReadWrite widened to UpdateOrder in the working copy. */
async function committedExampleThenWidened() {
  const dir = await example();
  const repo = dirname(dir);
  const g = (...args: string[]) => git('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
  await g('init', '-q');
  await g('add', '.');
  await g('commit', '-qm', 'policies');
  await edit(policy(dir, 'OrdersReadWrite'), '"orders:CreateOrder"', '"orders:CreateOrder", "orders:UpdateOrder"');
  return { dir, repo, g };
}

describe('iamgate diff', () => {
  it('reports no change between a folder and its copy', async () => {
    const [a, b] = [await example(), await example()];
    const run = await iamgate('diff', a, b, '--fail-on', 'new-access');
    expect(run.out).toEqual(['5 principals × 11 routes and actions: 0 gained, 0 lost']);
    expect(run.code).toBe(0);
  });

  it('catches a widened wildcard: every reader gains every orders route, and --fail-on new-access exits 1', async () => {
    const [a, b] = [await example(), await example()];
    await edit(policy(b, 'OrdersReadOnly'), '"Action": ["orders:GetOrder", "orders:ListOrders"]', '"Action": "orders:*"');
    const run = await iamgate('diff', a, b, '--fail-on', 'new-access');
    const gains = run.out.filter((l) => l.startsWith('+ '));
    expect(new Set(gains)).toEqual(
      new Set([
        '+ user bob: POST /orders — allowed (was denied)',
        '+ user bob: PUT /orders/:id — allowed (was denied)',
        '+ user bob: DELETE /orders/:id — allowed (was denied)',
        '+ role OrdersWorker: POST /orders — allowed (was denied)',
        '+ role OrdersWorker: PUT /orders/:id — allowed (was denied)',
        '+ role OrdersWorker: DELETE /orders/:id — allowed (was denied)',
      ]),
    );
    expect(run.out.at(-1)).toBe('5 principals × 11 routes and actions: 6 gained, 0 lost');
    expect(run.code).toBe(1);
  });

  it('catches a removed Deny statement as access gained', async () => {
    const [a, b] = [await example(), await example()];
    const deny = '{ "Sid": "NoCreate", "Effect": "Deny", "Action": "orders:CreateOrder", "Resource": "*" },\n    {\n      "Sid": "ReadAndCreateOrders"';
    await edit(policy(a, 'OrdersReadWrite'), '{\n      "Sid": "ReadAndCreateOrders"', deny);
    const run = await iamgate('diff', a, b);
    expect(new Set(run.out.filter((l) => l.startsWith('+ ') || l.startsWith('- ')))).toEqual(
      new Set(['+ user alice: POST /orders — allowed (was denied)', '+ user carol: POST /orders — allowed (was denied)']),
    );
    expect(run.code).toBe(0);
  });

  it('catches a new group membership: bob joins the developers and gains creating orders', async () => {
    const [a, b] = [await example(), await example()];
    await edit(join(b, 'directory.yaml'), 'groups: [auditors]', 'groups: [auditors, developers]');
    const run = await iamgate('diff', a, b, '--json');
    const report = JSON.parse(run.out[0] as string) as { changes: { principal: string; column: string; direction: string }[]; gained: number; lost: number };
    expect(report.changes.map((c) => [c.principal, c.column, c.direction])).toEqual([['user bob', 'POST /orders', 'gain']]);
    expect([report.gained, report.lost]).toEqual([1, 0]);
  });

  it('catches a narrowed boundary as losses, a conditional grant among them, and passes --fail-on new-access', async () => {
    const [a, b] = [await example(), await example()];
    await edit(policy(b, 'OrdersBoundary'), '"Action": ["orders:*", "sts:AssumeRole"]', '"Action": ["orders:GetOrder", "orders:ListOrders", "sts:AssumeRole"]');
    const run = await iamgate('diff', a, b, '--fail-on', 'new-access');
    expect(new Set(run.out.filter((l) => l.startsWith('- ')))).toEqual(
      new Set([
        '- user alice: POST /orders — denied (was allowed)',
        '- user carol: POST /orders — denied (was allowed)',
        '- user carol: DELETE /orders/:id — denied (was conditional on aws:MultiFactorAuthPresent)',
      ]),
    );
    expect(run.out.some((l) => l.startsWith('+ '))).toBe(false);
    expect(run.code).toBe(0);
  });

  it('catches a Deny on some source addresses, which the loopback request the matrix samples does not meet, as a change depending on aws:SourceIp', async () => {
    const [a, b] = [await example(), await example()];
    const deny = '{ "Effect": "Deny", "Action": "orders:CreateOrder", "Resource": "*", "Condition": { "IpAddress": { "aws:SourceIp": "192.168.0.0/16" } } },\n    {\n      "Sid": "ReadAndCreateOrders"';
    await edit(policy(b, 'OrdersReadWrite'), '{\n      "Sid": "ReadAndCreateOrders"', deny);
    const run = await iamgate('diff', a, b, '--fail-on', 'new-access');
    expect(new Set(run.out.filter((l) => l.startsWith('+ ') || l.startsWith('- ')))).toEqual(
      new Set(['+ user alice: POST /orders — allowed, depending on aws:SourceIp (was allowed)', '+ user carol: POST /orders — allowed, depending on aws:SourceIp (was allowed)']),
    );
    expect(run.code, 'a changed condition may allow where nothing did before: the gate fails').toBe(1);
  });

  it('compares a git revision of the policy folder with the working copy', async () => {
    const { dir, repo, g } = await committedExampleThenWidened();
    const run = await iamgate('diff', 'HEAD', dir, '--fail-on', 'new-access');
    expect(new Set(run.out.filter((l) => l.startsWith('+ ')))).toEqual(
      new Set(['+ user alice: PUT /orders/:id — allowed (was denied)', '+ user carol: PUT /orders/:id — allowed (was denied)']),
    );
    expect(run.code).toBe(1);
    const named = await iamgate('diff', 'HEAD:policies', dir);
    expect(named.out.filter((l) => l.startsWith('+ '))).toHaveLength(2);
    const missing = await iamgate('diff', 'no-such-revision', dir);
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([`iamgate diff: no-such-revision: not a folder, nor a commit of the git repository at ${repo}`]);
    const elsewhere = await iamgate('diff', 'HEAD:nowhere', dir);
    expect(elsewhere.err).toEqual(['iamgate diff: HEAD:nowhere: nowhere is not in the repository at HEAD']);
  });

  it('reads a git revision with git alone, on a PATH that has git but no tar', async () => {
    const { dir, g } = await committedExampleThenWidened();
    const onlyGit = await mkdtemp(join(tmpdir(), 'iamgate-only-git-'));
    made.push(onlyGit);
    const { stdout: gitPath } = await git('sh', ['-c', 'command -v git']);
    await symlink(gitPath.trim(), join(onlyGit, 'git'));
    const path = process.env['PATH'];
    process.env['PATH'] = onlyGit;
    try {
      const run = await iamgate('diff', 'HEAD', dir);
      expect(run.err).toEqual([]);
      expect(run.out.filter((l) => l.startsWith('+ '))).toHaveLength(2);
      const status = await iamgate('diff', 'HEAD', dir, '--fail-on', 'new-access');
      expect(status.code).toBe(1);
    } finally {
      process.env['PATH'] = path;
    }
    expect((await g('status', '--porcelain')).stdout, 'the repository\'s own index is left as it was').toBe(' M policies/policies/OrdersReadWrite.json\n');
  });

  it('names a side that is not a folder, beside a folder outside any git repository, without git\'s own command line', async () => {
    const dir = await example();
    const run = await iamgate('diff', 'main', dir);
    expect(run.code).toBe(1);
    expect(run.err).toEqual([`iamgate diff: main: not a folder, nor a git revision: ${dir} is not in a git repository`]);
  });

  it('--check-not-granted names who holds an action, conditional grants included, and exits 1; 0 when nobody does', async () => {
    const dir = await example();
    const held = await iamgate('diff', dir, dir, '--check-not-granted', 'orders:DeleteOrder');
    expect(held.out).toContain('! user carol is granted orders:DeleteOrder on arn:aws:orders:us-east-1:111122223333:order/example (conditional on aws:MultiFactorAuthPresent)');
    expect(held.out).toContain('! role OrdersAdmin is granted orders:DeleteOrder on arn:aws:orders:us-east-1:111122223333:order/example (allowed)');
    expect(held.code).toBe(1);
    const none = await iamgate('diff', dir, dir, '--check-not-granted', 'iam:CreateUser', 's3:GetObject');
    expect(none.out.at(-1)).toBe('not granted to anyone: iam:CreateUser, s3:GetObject');
    expect(none.code).toBe(0);
  });

  it('answers --help with what it does and every option, wherever --help stands', async () => {
    for (const argv of [['--help'], ['main', '-h']]) {
      const run = await iamgate('diff', ...argv);
      expect(run.code).toBe(0);
      expect(run.err).toEqual([]);
      const text = run.out.join('\n');
      expect(text).toMatch(/^usage: iamgate diff OLD NEW/);
      for (const option of ['--fail-on new-access', '--check-not-granted ACTION', '--json']) expect(text).toMatch(new RegExp(`^  ${option} +\\S`, 'm'));
    }
  });
});
