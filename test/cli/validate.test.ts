// `iamgate validate` on real files and folders, through runValidate and through the real
// executable: every finding names the file, the JSON path and the reason; errors exit 1.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { FILE_KINDS, byBaseName, type FileKind } from '../../src/cli/file-kinds.js';
import type { CliIo } from '../../src/cli/io.js';
import { runValidate } from '../../src/cli/validate.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const run = promisify(execFile);

let dir: string;

const GOOD = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/*' }],
};
const BROKEN = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    {"Sid": "Limit", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
     "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}
  ]
}`;

async function put(path: string, content: string): Promise<string> {
  const full = join(dir, path);
  await mkdir(join(full, '..'), { recursive: true });
  await writeFile(full, content);
  return full;
}

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
}

async function validate(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const io = capture();
  const code = await runValidate(argv, io);
  return { code, out: io.out, err: io.err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-validate-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('iamgate validate', () => {
  it('names the file, the JSON path and the reason of a broken policy, and exits 1', async () => {
    const file = await put('broken/limit.json', BROKEN);
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out).toEqual([
      `${file}: error INVALID_CONDITION_VALUE at Statement[1].Condition.NumericLessThan.s3:max-keys: NumericLessThan s3:max-keys: "ten" is not a number`,
      '1 file checked: 1 error, 0 security findings, 0 warnings, 0 suggestions',
    ]);
  });

  it('refuses a Date condition value that gives a time without its zone, naming the file, the JSON path and the form to use', async () => {
    const local = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2026-01-31T12:00:00' } } }] };
    const file = await put('broken/local-time.json', JSON.stringify(local));
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out).toEqual([
      `${file}: error INVALID_CONDITION_VALUE at Statement[0].Condition.DateLessThan.aws:CurrentTime: DateLessThan aws:CurrentTime: "2026-01-31T12:00:00" is not a date (use ISO 8601 with a zone, such as 2026-01-31T12:00:00Z, or epoch seconds)`,
      '1 file checked: 1 error, 0 security findings, 0 warnings, 0 suggestions',
    ]);
  });

  it('exits 0 on a folder of clean policies, searching subfolders and skipping hidden ones', async () => {
    await put('clean/read.json', JSON.stringify(GOOD));
    await put('clean/nested/write.yaml', 'Version: 2012-10-17\nStatement:\n  Effect: Allow\n  Action: [s3:PutObject]\n  Resource: arn:aws:s3:::reports/*\n');
    await put('clean/.git/config.json', '{ not json');
    await put('clean/notes.txt', 'not a document');
    const { code, out } = await validate(join(dir, 'clean'));
    expect(out).toEqual(['2 files checked: 0 errors, 0 security findings, 0 warnings, 0 suggestions']);
    expect(code).toBe(0);
  });

  it('exits 0 when the findings are warnings and security findings only', async () => {
    const file = await put('admin.json', JSON.stringify({ Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' } }));
    const { code, out } = await validate(file);
    expect(out).toEqual([
      `${file}: warning MISSING_VERSION at Version: no Version: the policy is read as 2008-10-17, where policy variables are not supported; add "Version": "2012-10-17"`,
      '1 file checked: 0 errors, 0 security findings, 1 warning, 0 suggestions',
    ]);
    expect(code).toBe(0);
  });

  it('names the file, the JSON path and the reason of StringEquals on a multivalued key without a set operator, and exits 0 on that security finding', async () => {
    const file = await put('tags.json', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObjectTagging', Resource: '*', Condition: { StringEquals: { 'aws:TagKeys': 'team' } } }] }));
    const { code, out } = await validate(file);
    expect(out).toEqual([
      `${file}: security MISSING_SET_OPERATOR at Statement[0].Condition.StringEquals.aws:TagKeys: aws:TagKeys is multivalued and IAM requires ForAnyValue or ForAllValues with it; without one, iamgate's StringEquals holds when any one value matches: write the set operator you mean`,
      '1 file checked: 0 errors, 1 security finding, 0 warnings, 0 suggestions',
    ]);
    expect(code).toBe(0);
  });

  it('reports a JSON syntax error with its line and column', async () => {
    const file = await put('syntax.json', '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",, }\n  ]\n}\n');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out[0]).toBe(`${file}: error JSON_SYNTAX_ERROR: unexpected character ",", expected a quoted key at line 4, column 24`);
  });

  it('refuses a JSON key given twice', async () => {
    const file = await put('dup.json', '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error DUPLICATE_KEY at Statement\\.Effect: `));
  });

  it('refuses a JSON number a double cannot hold, which would be read as another number', async () => {
    const file = await put('big.json', '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": 9007199254740993}}}}');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out[0]).toBe(`${file}: error INEXACT_NUMBER at Statement.Condition.NumericLessThan.s3:max-keys: 9007199254740993 is beyond what a JSON number holds exactly here: write it as a string, "9007199254740993"`);
  });

  it('refuses a YAML number a double cannot hold, in any notation YAML reads as a number', async () => {
    const file = await put('big.yaml', 'Version: "2012-10-17"\nStatement:\n  Effect: Allow\n  Action: s3:ListBucket\n  Resource: "*"\n  Condition:\n    NumericLessThan:\n      s3:max-keys: [12, 0.5, 0x1F, 0.10000000000000001, 0x20000000000001]\n');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out.slice(0, 2)).toEqual([
      `${file}: error INEXACT_NUMBER at Statement.Condition.NumericLessThan.s3:max-keys[3]: 0.10000000000000001 is beyond what a JSON number holds exactly here: write it as a string, "0.10000000000000001"`,
      `${file}: error INEXACT_NUMBER at Statement.Condition.NumericLessThan.s3:max-keys[4]: 0x20000000000001 is beyond what a JSON number holds exactly here: write it as a string, "0x20000000000001"`,
    ]);
  });

  it('reads YAML policies and reports YAML syntax errors and duplicate keys', async () => {
    const bad = await put('yaml/bad.yaml', 'Version: 2012-10-17\nStatement: [\n');
    const dup = await put('yaml/dup.yml', 'Version: 2012-10-17\nVersion: 2008-10-17\nStatement: []\n');
    const wrong = await put('yaml/wrong.yaml', 'Version: 2012-10-17\nStatement:\n  - Effect: Permit\n    Action: s3:GetObject\n    Resource: "*"\n');
    const { code, out } = await validate(join(dir, 'yaml'));
    expect(code).toBe(1);
    expect(out.map((l) => l.replace(/: [^:]*$/, ''))).toEqual([
      `${bad}: error YAML_SYNTAX_ERROR`,
      `${dup}: error DUPLICATE_KEY at Version`,
      `${wrong}: error INVALID_EFFECT at Statement[0].Effect`,
      '3 files checked',
    ]);
    expect(out[0]).toMatch(/at line \d+, column \d+$/);
    expect(out[1]).toBe(`${dup}: error DUPLICATE_KEY at Version: "Version" is given more than once, so its meaning is ambiguous at line 2, column 1`);
  });

  it('fails on a file that is no policy and no registered kind, since it checked nothing', async () => {
    const file = await put('other/notes.yaml', 'title: release notes\n');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out[0]).toMatch(new RegExp(`: error UNKNOWN_FILE_KIND: not checked: .*\\(directory, routes, config, .*policy\\); name it with --kind`));
  });

  it('hands a file to the first registered kind that claims it', async () => {
    const file = await put('kinds/routes.yaml', 'routes:\n  - path: /orders\n');
    const seen: unknown[] = [];
    const routes: FileKind = {
      kind: 'routes',
      claims: byBaseName('routes'),
      validate: (doc, f) => {
        seen.push(doc);
        return [{ severity: 'error', code: 'ROUTE_WITHOUT_ACTION', path: 'routes[0]', message: 'no action', file: f }];
      },
    };
    const io = capture();
    const code = await runValidate([file], io, [routes, ...FILE_KINDS]);
    expect(seen).toEqual([{ routes: [{ path: '/orders' }] }]);
    expect(io.out[0]).toBe(`${file}: error ROUTE_WITHOUT_ACTION at routes[0]: no action`);
    expect(code).toBe(1);
  });

  it('reads policies as the --kind given', async () => {
    const file = await put('bucket.json', JSON.stringify(GOOD));
    const { code, out } = await validate('--kind', 'resource', file);
    expect(code).toBe(1);
    expect(out[0]).toBe(`${file}: error MISSING_PRINCIPAL at Statement[0]: a statement of a resource-based policy must name a Principal or NotPrincipal`);
  });

  it('prints one JSON object per finding and a summary object with --json', async () => {
    const file = await put('json/limit.json', BROKEN);
    const { code, out } = await validate('--json', file);
    expect(code).toBe(1);
    expect(out.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        severity: 'error',
        code: 'INVALID_CONDITION_VALUE',
        path: 'Statement[1].Condition.NumericLessThan.s3:max-keys',
        message: 'NumericLessThan s3:max-keys: "ten" is not a number',
        file,
      },
      { summary: { files: 1, error: 1, security: 0, warning: 0, suggestion: 0 } },
    ]);
  });

  it('reports a path that does not exist and exits 1', async () => {
    const missing = join(dir, 'missing.json');
    const { code, out } = await validate(missing);
    expect(code).toBe(1);
    expect(out[0]).toBe(`${missing}: error FILE_UNREADABLE: no such file or folder`);
  });

  it.each([
    ['no PATH', [], 'no PATH given'],
    ['an unknown option', ['--strict', 'x.json'], 'unknown argument: --strict'],
    ['an unknown --kind', ['--kind', 'bucket', 'x.json'], '--kind must be one of identity, resource, boundary, scp, rcp, session'],
  ])('exits 2 on %s', async (_why, argv, message) => {
    const { code, out, err } = await validate(...argv);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain(message);
  });

  it('prints its help and exits 0', async () => {
    const { code, out } = await validate('--help');
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('usage: iamgate validate');
  });

  it('says in its help how a policy document is read without --kind', async () => {
    const help = (await validate('--help')).out.join('\n').replace(/\s+/g, ' ');
    expect(help).toContain('By default a policy document that names a principal is read as resource-based, any other as identity-based.');
  });

  it('names in its help every kind --kind takes, so the kind a refusal lists can be found there', async () => {
    const help = (await validate('--help')).out.join('\n');
    const refused = await validate('--kind', 'suite', 'x.yaml');
    const kinds = /--kind must be one of (.*)/.exec(refused.err.join('\n'))?.[1]?.split(', ') ?? [];
    expect(kinds.length).toBeGreaterThan(5);
    for (const kind of kinds) expect(help.replace(/\s+/g, ' ')).toContain(kind.includes(' ') ? `"${kind}"` : kind);
  });
});

describe('iamgate', () => {
  it('lists its commands with --help', async () => {
    const io = capture();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(io.out.join('\n')).toMatch(/validate\s+check policy documents/);
  });

  it.each([
    ['no command', []],
    ['an unknown command', ['vaildate']],
  ])('exits 2 on %s', async (_why, argv) => {
    const io = capture();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err.join('\n')).toContain('usage: iamgate <command>');
  });

  it('runs validate as a real process: file, path and reason on stdout, exit code 1', async () => {
    const file = await put('process/limit.json', BROKEN);
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const err = await run(process.execPath, ['--import', 'tsx', main, 'validate', file]).then(
      () => undefined,
      (e: unknown) => e as { code: number; stdout: string },
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).toContain(`${file}: error INVALID_CONDITION_VALUE at Statement[1].Condition.NumericLessThan.s3:max-keys: `);
  }, CHILD_PROCESS_TEST_MS);

  it('runs validate as a real process on a clean file with exit code 0', async () => {
    const file = await put('process/read.json', JSON.stringify(GOOD));
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', main, 'validate', file]);
    expect(stdout).toBe('1 file checked: 0 errors, 0 security findings, 0 warnings, 0 suggestions\n');
  }, CHILD_PROCESS_TEST_MS);
});

describe('iamgate validate telling and following file kinds', () => {
  const policiesDir = join(import.meta.dirname, '..', '..', 'policies');

  it('recognises a configuration by its content whatever its name, and reports every error in it', async () => {
    const file = await put('kinds/prod.yaml', 'version: 1\nupstreem: { url: "http://127.0.0.1:1" }\nlisten: { port: "x" }\n');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`^${file}: error UNKNOWN_KEY at upstreem: unknown key \\(expected one of: .*\\); did you mean "upstream"\\?$`)),
      `${file}: error DATA_TYPE_MISMATCH at listen.port: must be an integer from 0 to 65535 (got "x")`,
      `${file}: error INVALID_VALUE at audit.signingKeyFile: required in production: a PEM Ed25519 or P-256 private key for the signed digests (or set audit.sign: false)`,
      expect.stringMatching(/^1 file checked: 3 errors/),
    ]);
  });

  it('refuses a production configuration without an audit section, as serve refuses it, since the trail still needs its signing key', async () => {
    const copy = join(dir, 'production');
    await cp(policiesDir, copy, { recursive: true });
    const file = join(copy, 'iamgate.yaml');
    await writeFile(file, 'version: 1\nupstream:\n  url: http://127.0.0.1:1\n');
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out).toEqual([
      `${file}: error INVALID_VALUE at audit.signingKeyFile: required in production: a PEM Ed25519 or P-256 private key for the signed digests (or set audit.sign: false)`,
      expect.stringMatching(/^1 file checked: 1 error,/),
    ]);
  });

  it('reads a file as the kind --kind names, and suggests the kind meant by a misspelt one', async () => {
    const file = await put('kinds/notes.yaml', 'routes: nowhere\n');
    const forced = await validate('--kind', 'config', file);
    expect(forced.code).toBe(1);
    expect(forced.out[0]).toMatch(new RegExp(`^${file}: error UNKNOWN_KEY at routes: unknown key`));
    const misspelt = await validate('--kind', 'confg', file);
    expect(misspelt.code).toBe(2);
    expect(misspelt.err[0]).toContain('did you mean "config"?');
  });

  it('validates the directory, its policy files and the route map a configuration names, each finding with its file', async () => {
    const copy = join(dir, 'follow');
    await cp(policiesDir, copy, { recursive: true });
    const directory = join(copy, 'directory.yaml');
    await writeFile(directory, (await readFile(directory, 'utf8')).replace('account: "111122223333"', 'account: "1111"'));
    const policy = join(copy, 'policies', 'OrdersReadOnly.json');
    await writeFile(policy, (await readFile(policy, 'utf8')).replace('"Allow"', '"Alow"'));
    const routes = join(copy, 'routes.yaml');
    await writeFile(routes, (await readFile(routes, 'utf8')).replace('service: orders', 'service: orders\ncolour: red'));
    const { code, out } = await validate(join(copy, 'iamgate.yaml'));
    expect(code).toBe(1);
    expect(out.filter((l) => l.includes(' error '))).toEqual([
      `${directory}: error INVALID_ACCOUNT at account: "1111" is not a 12-digit account id (quote it in YAML)`,
      expect.stringMatching(new RegExp(`^${policy}: error INVALID_EFFECT at Statement\\[0\\]\\.Effect: `)),
      expect.stringMatching(new RegExp(`^${routes}: error \\w+ at colour: `)),
    ]);
  });

  it('validates the shadow candidate a configuration names, which serve refuses to start with when it does not load', async () => {
    const live = join(dir, 'shadowed');
    const candidate = join(dir, 'candidate');
    await cp(policiesDir, live, { recursive: true });
    await cp(policiesDir, candidate, { recursive: true });
    const config = join(live, 'iamgate.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('  routes: routes.yaml\n', `  routes: routes.yaml\n  shadow: ${candidate}\n`));
    const policy = join(candidate, 'policies', 'OrdersReadOnly.json');
    await writeFile(policy, (await readFile(policy, 'utf8')).replace('"Allow"', '"allow"'));
    const { code, out } = await validate(config);
    expect(code).toBe(1);
    expect(out.filter((l) => l.includes(' error '))).toEqual([expect.stringMatching(new RegExp(`^${policy}: error INVALID_EFFECT at Statement\\[0\\]\\.Effect: `))]);
  });

  it('reports a broken policy once when validating the folder whose directory names it', async () => {
    const copy = join(dir, 'once');
    await cp(policiesDir, copy, { recursive: true });
    const policy = join(copy, 'policies', 'OrdersReadOnly.json');
    await writeFile(policy, (await readFile(policy, 'utf8')).replace('"Allow"', '"Alow"'));
    const { code, out } = await validate(copy);
    expect(code).toBe(1);
    expect(out.filter((l) => l.includes('INVALID_EFFECT'))).toHaveLength(1);
  });

  it('suggests the operator and the global condition key meant, and warns on an unknown aws: key', async () => {
    const file = await put(
      'suggest.json',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { StringEqual: { 'aws:usernme': 'x' }, StringEquals: { 'aws:colour': 'red' } } }] }),
    );
    const { code, out } = await validate(file);
    expect(code).toBe(1);
    expect(out.slice(0, 3)).toEqual([
      `${file}: error UNKNOWN_CONDITION_OPERATOR at Statement[0].Condition.StringEqual: "StringEqual" is not an IAM condition operator; did you mean "StringEquals"?`,
      `${file}: warning UNKNOWN_GLOBAL_CONDITION_KEY at Statement[0].Condition.StringEqual.aws:usernme: "aws:usernme" is not a global condition key AWS documents, so requests never carry it; did you mean "aws:username"?`,
      `${file}: warning UNKNOWN_GLOBAL_CONDITION_KEY at Statement[0].Condition.StringEquals.aws:colour: "aws:colour" is not a global condition key AWS documents, so requests never carry it`,
    ]);
  });
});
