// `iamgate test` on real suite files against real policy folders: the example's own suite passes
// (this is how `npm test` runs it), a failing case exits 1 and shows why the decision went the
// way it did, malformed suites are refused with file, JSON path and reason, and --junit writes XML.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway.js';
import { copyExample, EXAMPLE, iamgate } from './cli.js';

let policies: string;

beforeAll(async () => {
  policies = await copyExample('iamgate-test-');
});

afterAll(async () => {
  await rm(dirname(policies), { recursive: true, force: true });
});

async function suite(name: string, text: string): Promise<string> {
  const file = join(policies, 'tests', name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

describe('iamgate test', () => {
  it('passes every case of the suite shipped in policies/tests and exits 0', async () => {
    const run = await iamgate('test', join(EXAMPLE, 'tests'));
    expect(run.err).toEqual([]);
    expect(run.out.at(-1)).toBe('20 cases: 20 passed, 0 failed');
    expect(run.out.filter((l) => l.startsWith('  ✓ '))).toHaveLength(20);
    expect(run.code).toBe(0);
  });

  it('reads a policy folder given in place of suites as its tests/ folder, as validate takes the same folder', async () => {
    const asFolder = await iamgate('test', EXAMPLE);
    expect(asFolder).toEqual(await iamgate('test', join(EXAMPLE, 'tests')));
    expect(asFolder.code).toBe(0);
    const bare = join(dirname(policies), 'bare-policy-folder');
    await mkdir(bare, { recursive: true });
    await writeFile(join(bare, 'directory.yaml'), 'version: 1\naccount: "111122223333"\n');
    expect(await iamgate('test', bare)).toEqual({ code: 2, out: [], err: [`iamgate test: ${bare}: a policy folder without a tests/ folder of suites (no ${join(bare, 'tests')})`] });
  });

  it('exits 1 on a case whose expectation is wrong and prints the explanation of the actual decision', async () => {
    const file = await suite(
      'wrong.yaml',
      ['cases:', '  - name: bob creates an order', '    principal: bob', '    request: POST /orders', '    expect: Allow', ''].join('\n'),
    );
    const run = await iamgate('test', file);
    expect(run.code).toBe(1);
    expect(run.out).toContain('  ✗ bob creates an order');
    expect(run.out).toContain('      expected Allow, got ImplicitDeny (implicit_deny)');
    expect(run.out).toContain('      Implicitly denied: no identity-based policy allows the action on the resource');
    expect(run.out.at(-1)).toBe('1 cases: 0 passed, 1 failed');
  });

  it('fails a case whose decision is right but comes from another statement or for another reason', async () => {
    const file = await suite(
      'by.yaml',
      [
        'cases:',
        '  - name: alice reads through the read-only policy',
        '    principal: alice',
        '    request: GET /orders/1',
        '    expect: Allow',
        '    statement: OrdersReadOnly:ReadOrders',
        '  - name: carol is denied outright',
        '    principal: carol',
        '    request: DELETE /orders/1',
        '    expect: ImplicitDeny',
        '    reason: implicit_deny',
        '',
      ].join('\n'),
    );
    const run = await iamgate('test', file);
    expect(run.code).toBe(1);
    expect(run.out).toContain('      expected the decision to come from OrdersReadOnly:ReadOrders, it came from OrdersReadWrite:ReadAndCreateOrders, OrdersBoundary:OnlyOrdersAndAssumeRole');
    expect(run.out).toContain('      expected reason implicit_deny, got mfa_required (no_identity_allow)');
    expect(run.out.at(-1)).toBe('2 cases: 0 passed, 2 failed');
  });

  it('refuses a malformed suite with the file, the JSON path and the reason of every problem, running no case', async () => {
    const file = await suite(
      'bad.json',
      JSON.stringify({
        cases: [
          { name: 'ok', principal: 'alice', request: 'GET /orders', expect: 'Allow' },
          { name: 'no expectation', principal: { user: 'alice', mfa: 'yes' }, request: { method: 'GET' }, expect: 'Maybe' },
        ],
      }),
    );
    const run = await iamgate('test', file);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toContain(`${file}: cases[1].principal.mfa: must be true or false`);
    expect(run.err).toContain(`${file}: cases[1].request.path: must be a non-empty string`);
    expect(run.err).toContain(`${file}: cases[1].expect: must be one of Allow, Deny, ExplicitDeny, ImplicitDeny`);
    expect(run.err.at(-1)).toBe('3 problem(s) in the test suites; no case was run');
  });

  it('refuses a case whose context gives one key in two spellings, as condition key names are case-insensitive', async () => {
    const file = await suite(
      'spellings.json',
      JSON.stringify({
        cases: [{ name: 'two spellings', principal: 'alice', request: 'GET /orders', context: { 'aws:SourceIp': '192.0.2.1', 'AWS:SOURCEIP': '198.51.100.1' }, expect: 'Allow' }],
      }),
    );
    const run = await iamgate('test', file);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toContain(`${file}: cases[0].context.AWS:SOURCEIP: names the key of "aws:SourceIp" again: condition key names are case-insensitive`);
    expect(run.err.at(-1)).toBe('1 problem(s) in the test suites; no case was run');
  });

  it('says, when a suite stands where no policy folder is above it, how to name the folder', async () => {
    const lone = join(dirname(policies), 'elsewhere', 'tests', 'lone.yaml');
    await mkdir(dirname(lone), { recursive: true });
    await writeFile(lone, 'cases:\n  - { name: reads, principal: alice, request: GET /orders/1, expect: Allow }\n');
    const run = await iamgate('test', lone);
    expect(run.code).toBe(1);
    expect(run.err.at(-1)).toBe(
      `${dirname(dirname(lone))}: the policies do not load; no case was run (a suite is decided by the policy folder above its own folder, or the one its "policies" key names; --policies DIR names another)`,
    );
    const named = await iamgate('test', lone, '--policies', policies);
    expect(named.out.at(-1)).toBe('1 cases: 1 passed, 0 failed');
    expect(named.code).toBe(0);
  });

  it('says, run where there is no policies/tests/, that the default folder is missing there and how to name the suites', async () => {
    const elsewhere = join(dirname(policies), 'no-checkout');
    await mkdir(elsewhere, { recursive: true });
    const before = process.cwd();
    process.chdir(elsewhere);
    try {
      const here = process.cwd();
      expect(await iamgate('test')).toEqual({
        code: 2,
        out: [],
        err: [`iamgate test: policies/tests: no such folder in ${here} (the default): name the suites, or the policy folder above their tests/ folder (iamgate test DIR)`],
      });
      expect((await iamgate('test', 'policies/tests')).err).toEqual(['iamgate test: policies/tests: no such file or folder']);
    } finally {
      process.chdir(before);
    }
  });

  it('prints the problems of policies that do not load as iamgate validate prints them, file, severity, code and JSON path', async () => {
    const broken = await copyExample('iamgate-test-broken-');
    try {
      const policy = join(broken, 'policies', 'OrdersReadOnly.json');
      await writeFile(policy, (await readFile(policy, 'utf8')).replace('"Effect": "Allow"', '"Effect": "Alow"'));
      const run = await iamgate('test', join(EXAMPLE, 'tests'), '--policies', broken);
      expect(run.code).toBe(1);
      const line = `${policy}: error INVALID_EFFECT at Statement[0].Effect: Effect "Alow" is neither "Allow" nor "Deny" (case-sensitive)`;
      expect(run.err).toEqual([line, `${broken}: the policies do not load; no case was run`]);
      expect((await iamgate('validate', broken)).out).toContain(line);
    } finally {
      await rm(dirname(broken), { recursive: true, force: true });
    }
  });

  it('says in its help which policy folder decides a suite and what each exit code means, as it behaves', async () => {
    const help = (await iamgate('test', '--help')).out.join('\n').replace(/\s+/g, ' ');
    expect(help).toContain('A suite is decided by the policy folder above its own folder (policies/tests/orders.yaml tests policies/)');
    expect(help).toContain('Exits 0 when every case passes; 1 when a case fails, or a suite or the policies do not load; 2 on a usage error or a suite path it cannot read.');
    expect((await iamgate('test', join(dirname(policies), 'no-such-suite.yaml'))).code).toBe(2);
    expect((await iamgate('test', '--junit')).code).toBe(2);
  });

  // A suite comes with a change under review: printed raw, an escape in it could erase or recolour
  // the lines of a CI log that report its failure.
  it('prints control characters of a suite, in a problem, a case name or a failure, as escapes', async () => {
    const malformed = await suite('escape-bad.yaml', 'cases:\n  - { name: x, principal: alice, request: GET /orders, expect: Allow, "ex\\x1b[2Kpect": Deny }\n');
    const refused = await iamgate('test', malformed);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${malformed}: cases[0].ex\\u001b[2Kpect: unknown key (expected one of: name, principal, request, context, expect, statement, reason)`);
    expect(refused.err.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);

    const failing = await suite('escape-case.yaml', 'cases:\n  - { name: "bob\\x1b[1A\\x1b[2K passes", principal: "da\\x1b[2Kve", request: GET /orders, expect: Deny }\n');
    const run = await iamgate('test', failing);
    expect(run.code).toBe(1);
    expect(run.out).toContain('  ✗ bob\\u001b[1A\\u001b[2K passes');
    expect(run.out).toContain('      cases[0].principal: "da\\u001b[2Kve" is not a user or role of the directory (or its session policy is invalid)');
    expect(run.out.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('fails a case whose principal is not in the directory, naming it', async () => {
    const file = await suite('ghost.yaml', 'cases:\n  - { name: ghost, principal: dave, request: GET /orders, expect: Deny }\n');
    const run = await iamgate('test', file);
    expect(run.code).toBe(1);
    expect(run.out).toContain('      cases[0].principal: "dave" is not a user or role of the directory (or its session policy is invalid)');
  });

  it('decides a path as the gateway configured by the folder\'s iamgate.yaml does: a path its `paths` options accept is not a bad_path', async () => {
    const folder = await copyExample('iamgate-test-paths-');
    try {
      const config = join(folder, 'iamgate.yaml');
      await writeFile(config, `${await readFile(config, 'utf8')}\npaths:\n  allowSemicolon: true\n`);
      const request = 'GET /orders/1;v=2';
      const gw = await startTestGateway({ files: { directory: join(folder, 'directory.yaml'), routes: join(folder, 'routes.yaml') }, config: { paths: { allowSemicolon: true } } });
      try {
        expect(await gw.statusOfGet('alice', '/orders/1;v=2'), 'the gateway with these options allows it').toBe(200);
      } finally {
        await gw.close();
      }
      await mkdir(join(folder, 'tests'), { recursive: true });
      const file = join(folder, 'tests', 'paths.yaml');
      await writeFile(file, `cases:\n  - { name: as the gateway allows, principal: alice, request: "${request}", expect: Allow }\n  - { name: refused as a bad path, principal: alice, request: "${request}", expect: Deny, reason: bad_path }\n`);
      const run = await iamgate('test', file);
      expect(run.out.filter((l) => l.startsWith('  ✓ ') || l.startsWith('  ✗ '))).toEqual(['  ✓ as the gateway allows', '  ✗ refused as a bad path']);
    } finally {
      await rm(dirname(folder), { recursive: true, force: true });
    }
  });

  it('writes a JUnit report with one testcase per case and a failure for each failed one', async () => {
    const file = await suite(
      'junit.yaml',
      'cases:\n  - { name: alice lists, principal: alice, request: GET /orders, expect: Allow }\n  - { name: "bob <deletes>", principal: bob, request: DELETE /orders/1, expect: Allow }\n',
    );
    const report = join(dirname(policies), 'junit.xml');
    const run = await iamgate('test', file, '--junit', report);
    expect(run.code).toBe(1);
    const xml = await readFile(report, 'utf8');
    expect(xml).toContain('<testsuites name="iamgate policy tests" tests="2" failures="1">');
    expect(xml).toContain('<testcase name="alice lists"');
    expect(xml).toMatch(/<testcase name="bob &lt;deletes&gt;"[^>]*>\s*<failure message="expected Allow, got ImplicitDeny \(implicit_deny\)">/);
  });

  // XML 1.0 has no form for most control characters, not even a reference: one in a case name
  // would make the whole report unreadable to the CI that is to show its failures.
  it('writes a JUnit report a CI can read when a case name or a failure holds a control character', async () => {
    const file = await suite('junit-controls.yaml', 'cases:\n  - { name: "bob\\x1b[2K\\x00 deletes", principal: "da\\x08ve", request: DELETE /orders/1, expect: Allow }\n');
    const report = join(dirname(policies), 'junit-controls.xml');
    expect((await iamgate('test', file, '--junit', report)).code).toBe(1);
    const xml = await readFile(report, 'utf8');
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
    expect(xml).toContain('<testcase name="bob\\u001b[2K\\u0000 deletes"');
    expect(xml).toContain('&quot;da\\u0008ve&quot; is not a user or role of the directory');
  });
});
