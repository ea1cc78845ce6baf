// `iamgate validate` on real files and folders, through runValidate and through the real
// executable: every finding names the file, the JSON path and the reason; errors exit 1.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { FILE_KINDS, byBaseName, type FileKind } from '../../src/cli/file-kinds.js';
import type { CliIo } from '../../src/cli/io.js';
import { runValidate } from '../../src/cli/validate.js';

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

  it('reads YAML policies and reports YAML syntax errors and duplicate keys', async () => {
    const bad = await put('yaml/bad.yaml', 'Version: 2012-10-17\nStatement: [\n');
    const dup = await put('yaml/dup.yml', 'Version: 2012-10-17\nVersion: 2008-10-17\nStatement: []\n');
    const wrong = await put('yaml/wrong.yaml', 'Version: 2012-10-17\nStatement:\n  - Effect: Permit\n    Action: s3:GetObject\n    Resource: "*"\n');
    const { code, out } = await validate(join(dir, 'yaml'));
    expect(code).toBe(1);
    expect(out.map((l) => l.replace(/: [^:]*$/, ''))).toEqual([
      `${bad}: error YAML_SYNTAX_ERROR`,
      `${dup}: error DUPLICATE_KEY`,
      `${wrong}: error INVALID_EFFECT at Statement[0].Effect`,
      '3 files checked',
    ]);
    expect(out[0]).toMatch(/at line \d+, column \d+$/);
  });

  it('warns about a file that is no policy and no registered kind, without failing', async () => {
    const file = await put('other/notes.yaml', 'title: release notes\n');
    const { code, out } = await validate(file);
    expect(code).toBe(0);
    expect(out[0]).toMatch(new RegExp(`: warning UNKNOWN_FILE_KIND: not a file iamgate validates \\(.*policy.*\\)`));
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
    ['an unknown option', ['--strict', 'x.json'], 'unknown option: --strict'],
    ['an unknown --kind', ['--kind', 'bucket', 'x.json'], '--kind must be one of identity, resource, boundary, scp, session'],
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
  });

  it('runs validate as a real process on a clean file with exit code 0', async () => {
    const file = await put('process/read.json', JSON.stringify(GOOD));
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', main, 'validate', file]);
    expect(stdout).toBe('1 file checked: 0 errors, 0 security findings, 0 warnings, 0 suggestions\n');
  });
});
