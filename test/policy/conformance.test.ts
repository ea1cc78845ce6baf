// IAM semantics pinned as data: every case in test/policy/cases/*.json runs through the public
// engine API (one test per case), and one file runs through `iamgate simulate --cases` as a
// process, so the command and the API are held to the same answers.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Decision, DecisionKind } from '../../src/policy/types.js';
import { engineDecide } from './harness.js';
import type { ReferencePolicies, ReferenceRequest } from './reference.js';
import { CHILD_PROCESS_MS, CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

interface ConformanceCase {
  readonly name: string;
  readonly policies: ReferencePolicies;
  readonly request: ReferenceRequest;
  readonly expect: DecisionKind;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CASES_DIR = fileURLToPath(new URL('./cases', import.meta.url));
const FILES = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const DECISIONS: readonly string[] = ['Allow', 'ExplicitDeny', 'ImplicitDeny'];

function loadCases(file: string): ConformanceCase[] {
  return JSON.parse(readFileSync(join(CASES_DIR, file), 'utf8')) as ConformanceCase[];
}

function decide(c: ConformanceCase): Decision {
  return engineDecide(c.policies, c.request);
}

describe('conformance case files', () => {
  it('every case file holds well-formed cases with unique names that cite the AWS documentation', () => {
    const names = new Set<string>();
    for (const file of FILES) {
      const cases: unknown = JSON.parse(readFileSync(join(CASES_DIR, file), 'utf8'));
      expect(Array.isArray(cases), file).toBe(true);
      for (const c of cases as ConformanceCase[]) {
        const where = `${file}: ${c.name}`;
        expect(typeof c.name, where).toBe('string');
        expect(c.name, where).toMatch(/ \(AWS .+\)$/);
        expect(names.has(c.name), `duplicate case name ${where}`).toBe(false);
        names.add(c.name);
        expect(Array.isArray(c.policies.identity), where).toBe(true);
        for (const key of ['scp', 'rcp', 'session'] as const) {
          if (c.policies[key] !== undefined) expect(Array.isArray(c.policies[key]), where).toBe(true);
        }
        expect(Object.keys(c.policies).every((k) => ['identity', 'boundary', 'resource', 'scp', 'rcp', 'session'].includes(k)), where).toBe(true);
        expect(typeof c.request.principal, where).toBe('string');
        expect(c.request.action, where).toMatch(/^[\w-]+:[\w*?-]+$/);
        expect(typeof c.request.resource, where).toBe('string');
        expect(typeof c.request.context, where).toBe('object');
        expect(DECISIONS, where).toContain(c.expect);
      }
    }
    // docs/policy-evaluation.md and README.md state the count: a case removed must be a choice.
    expect(names.size).toBeGreaterThanOrEqual(1200);
  });
});

for (const file of FILES) {
  describe(file, () => {
    for (const c of loadCases(file)) {
      it(c.name, () => {
        const d = decide(c);
        expect(d.decision).toBe(c.expect);
        // A decision carries the statements that decided it: the Deny statements for an explicit
        // deny, the granting Allow statements for an allow.
        if (d.decision === 'ExplicitDeny') {
          expect(d.matched.length).toBeGreaterThan(0);
          expect(d.matched.every((s) => s.effect === 'Deny')).toBe(true);
        } else if (d.decision === 'Allow') {
          expect(d.matched.length).toBeGreaterThan(0);
          expect(d.matched.every((s) => s.effect === 'Allow')).toBe(true);
        } else {
          expect(d.implicitReason).toBeDefined();
        }
      });
    }
  });
}

/** Runs `iamgate simulate` through tsx, as a user would, and collects its output and exit code. */
function simulate(file: string): Promise<{ code: number; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'src/cli/main.ts', 'simulate', '--cases', file],
      { cwd: ROOT, timeout: CHILD_PROCESS_MS },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, lines: stdout.split('\n').filter((l) => l.length > 0), stderr });
      },
    );
  });
}

describe('iamgate simulate --cases', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'iamgate-conformance-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('prints one JSON line per case with the decision the API gives, then the tally, and exits by it', async () => {
    const file = 'evaluation-logic.json';
    const cases = loadCases(file);
    const { code, lines, stderr } = await simulate(join(CASES_DIR, file));
    expect(stderr).toBe('');
    expect(lines).toHaveLength(cases.length + 1);
    let asExpected = 0;
    cases.forEach((c, i) => {
      const line = JSON.parse(lines[i] ?? '') as { name: string; decision: string; matched: unknown[] };
      const api = decide(c);
      expect(line.name).toBe(c.name);
      expect(line.decision).toBe(api.decision);
      expect(line.matched).toHaveLength(api.matched.length);
      if (api.decision === c.expect) asExpected++;
    });
    expect(lines[cases.length]).toBe(`${cases.length} cases, ${asExpected} as expected`);
    expect(code).toBe(asExpected === cases.length ? 0 : 1);
  });

  it('exits 1 and reports the count when a case does not get the decision it expects', async () => {
    const file = join(scratch, 'mismatch.json');
    const base = loadCases('evaluation-logic.json').slice(0, 2);
    const wrong = base.map((c) => ({ ...c, expect: c.expect === 'Allow' ? 'ImplicitDeny' : 'Allow' }));
    writeFileSync(file, JSON.stringify([...wrong, { ...base[0], name: 'no expectation', expect: undefined }]));
    const { code, lines } = await simulate(file);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('2 cases, 0 as expected');
    expect(code).toBe(1);
  });

  it('reads the resource policy of an sts:AssumeRole case as a trust policy, which takes no NotPrincipal', async () => {
    const file = join(scratch, 'trust.json');
    const trust = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', NotPrincipal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:user/alice'] }, Action: 'sts:AssumeRole' },
      ],
    };
    const request = { principal: 'arn:aws:iam::111122223333:user/alice', resource: 'arn:aws:iam::111122223333:role/ops', context: {} };
    const identity = [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 's3:GetObject'], Resource: '*' }] }];
    writeFileSync(file, JSON.stringify([
      { name: 'assume', policies: { identity, resource: trust }, request: { ...request, action: 'sts:AssumeRole' } },
      { name: 'bucket', policies: { identity, resource: { ...trust, Statement: trust.Statement.map((s) => ({ ...s, Action: 's3:GetObject', Resource: '*' })) } }, request: { ...request, action: 's3:GetObject' } },
    ]));
    const { lines } = await simulate(file);
    const [assume, bucket] = lines.map((l) => JSON.parse(l) as { decision: string });
    expect(assume?.decision).toBe('Error');
    expect(bucket?.decision).toBe('Allow');
  });

  it('reads a case\'s rcp levels: a Deny there decides and is named rcp[i], and a level RCPs do not allow is an Error', async () => {
    const file = join(scratch, 'rcp.json');
    const rcp = loadCases('rcp.json');
    const denied = rcp.find((c) => c.expect === 'ExplicitDeny' && (c.policies.rcp?.length ?? 0) > 1) as ConformanceCase;
    const notAnRcp = { ...denied, name: 'not an rcp', policies: { ...denied.policies, rcp: [{ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: '111122223333' }, Action: '*', Resource: '*' }] }] } };
    writeFileSync(file, JSON.stringify([denied, notAnRcp]));
    const { lines } = await simulate(file);
    const [first, second] = lines.slice(0, 2).map((l) => JSON.parse(l) as { decision: string; matched?: string[]; errors?: { code: string; file: string; path: string }[] });
    expect(first?.decision).toBe('ExplicitDeny');
    expect(first?.matched?.every((m) => /^rcp\[\d+\]:/.test(m))).toBe(true);
    expect(second?.decision).toBe('Error');
    expect(second?.errors?.map((e) => `${e.code} at ${e.file} ${e.path}`)).toEqual(['RCP_PRINCIPAL at rcp[0] Statement[0].Principal']);
  });

  it('decides Error for a case whose policy gives a key twice, as validate refuses it, and refuses a file that gives a case key twice', async () => {
    const file = join(scratch, 'duplicate.json');
    const base = loadCases('evaluation-logic.json')[1] as ConformanceCase;
    expect(base.expect).toBe('Allow');
    // The grammar: "Individual elements must not contain multiple instances of the same key".
    // JSON.parse keeps the last "Effect", other readers the first: the policy means nothing.
    const allowThenDeny = JSON.stringify([base]).replace('"Effect":"Allow"', '"Effect":"Allow","Effect":"Deny"');
    writeFileSync(file, allowThenDeny);
    const { code, lines } = await simulate(file);
    const line = JSON.parse(lines[0] ?? '') as { decision: string; errors: { code: string; path: string; file: string }[] };
    expect(line.decision).toBe('Error');
    expect(line.errors.map((e) => `${e.code} at ${e.file} ${e.path}`)).toEqual(['DUPLICATE_KEY at identity[0] Statement[0].Effect']);
    expect(lines[1]).toBe('1 cases, 0 as expected');
    expect(code).toBe(1);

    writeFileSync(file, JSON.stringify([base]).replace('"expect":"Allow"', '"expect":"Allow","expect":"ImplicitDeny"'));
    const refused = await simulate(file);
    expect(refused.lines).toEqual([]);
    expect(refused.stderr.trim()).toBe(`iamgate simulate: ${file}: [0].expect: the key is given more than once`);
    expect(refused.code).toBe(2);
  });

  it.each([
    ['null', null, '"request.context.aws:username" must be a string, number, boolean or an array of them'],
    ['an object', { first: 'alice' }, '"request.context.aws:username" must be a string, number, boolean or an array of them'],
    ['an array of arrays', [['alice']], '"request.context.aws:username" must be a string, number, boolean or an array of them'],
  ])('refuses a cases file whose context value is %s, naming the case and the key, instead of failing', async (_what, value, reason) => {
    const file = join(scratch, 'context.json');
    const base = loadCases('evaluation-logic.json')[1] as ConformanceCase;
    writeFileSync(file, JSON.stringify([{ ...base, request: { ...base.request, context: { 'aws:username': value } } }]));
    const { code, lines, stderr } = await simulate(file);
    expect(lines).toEqual([]);
    expect(stderr.trim()).toBe(`iamgate simulate: ${file}: case [0] (${base.name}): ${reason}`);
    expect(code).toBe(2);
  });

  it('refuses a cases file whose context gives one key in two spellings, as key names are case-insensitive', async () => {
    const file = join(scratch, 'spellings.json');
    const base = loadCases('evaluation-logic.json')[1] as ConformanceCase;
    writeFileSync(file, JSON.stringify([{ ...base, request: { ...base.request, context: { 'aws:username': 'alice', 'AWS:UserName': 'bob' } } }]));
    const { code, lines, stderr } = await simulate(file);
    expect(lines).toEqual([]);
    expect(stderr.trim()).toBe(`iamgate simulate: ${file}: case [0] (${base.name}): "request.context" names one key twice, as "aws:username" and "AWS:UserName": condition key names are case-insensitive`);
    expect(code).toBe(2);
  });

  it.each([
    ['a policy kind', (c: ConformanceCase) => ({ ...c, policies: { ...c.policies, boundry: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'ec2:*', Resource: '*' } } } }), '"policies.boundry" is not a key of a case; did you mean "boundary"?'],
    ['the request', (c: ConformanceCase) => ({ ...c, request: { ...c.request, contxt: { 'aws:SecureTransport': false } } }), '"request.contxt" is not a key of a case; did you mean "context"?'],
    ['the case', (c: ConformanceCase) => ({ ...c, expected: 'ImplicitDeny' }), '"expected" is not a key of a case; did you mean "expect"?'],
  ])('refuses a cases file with an unknown key in %s, which would otherwise be left out of the decision', async (_where, change, reason) => {
    const file = join(scratch, 'unknown-key.json');
    const base = loadCases('evaluation-logic.json')[1] as ConformanceCase;
    writeFileSync(file, JSON.stringify([change(base)]));
    const { code, lines, stderr } = await simulate(file);
    expect(lines).toEqual([]);
    expect(stderr.trim()).toBe(`iamgate simulate: ${file}: case [0] (${base.name}): ${reason}`);
    expect(code).toBe(2);
  });

  it('refuses a cases file holding a JSON number a double cannot hold, rather than simulate another number', async () => {
    const file = join(scratch, 'inexact.json');
    const base = loadCases('conditions-numeric-date.json')[0] as ConformanceCase;
    const text = JSON.stringify([{ ...base, request: { ...base.request, context: { 's3:max-keys': 1 } } }]).replace('"s3:max-keys":1', '"s3:max-keys":9007199254740993');
    writeFileSync(file, text);
    const { code, lines, stderr } = await simulate(file);
    expect(lines).toEqual([]);
    expect(stderr.trim()).toBe(`iamgate simulate: ${file}: [0].request.context.s3:max-keys: 9007199254740993 is beyond what a JSON number holds exactly here: write it as a string, "9007199254740993"`);
    expect(code).toBe(2);
  });
});
