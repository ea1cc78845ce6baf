// A policy folder broken the ways people break one, fed to iamgate three ways: `iamgate validate`,
// `serve` at start, and a reload of a running `serve` (a real process answering real HTTP). Each
// problem is one line naming the file, the JSON path and the reason, never a stack trace, a raw
// system code or a 500; serve refuses to start on it; a reload keeps the last good set serving (a
// request whose decision the broken set would change is decided as before), says why in its answer,
// the log and /readyz, counts the failure, and a later good reload is applied.
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, readFile, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from '../../src/cli/cli.js';
import '../../src/cli/validate.js';
import { freePort } from '../support/redis.js';
import { metricsPage, metricValue, mintBearer, serve, stopServe, useTempDir, waitReady, type ServeChild } from '../support/serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { holdsWithin } from '../support/until.js';

const EXAMPLE = fileURLToPath(new URL('../../policies/', import.meta.url));
const READ_ONLY = 'policies/OrdersReadOnly.json';
const dir = useTempDir('iamgate-bad-policy-files-');
const run = promisify(execFile);

/** One way to break the example folder, and the one line iamgate must say about it. */
interface Breakage {
  readonly name: string;
  readonly apply: (folder: string) => Promise<void>;
  /** The file the line names, relative to the folder. */
  readonly file: string;
  /** The JSON path the line names ('' for the document as a whole). */
  readonly path: string;
  readonly code: string;
  readonly reason: string | RegExp;
}

async function editText(folder: string, file: string, from: string, to: string): Promise<void> {
  const text = await readFile(join(folder, file), 'utf8');
  if (!text.includes(from)) throw new Error(`${file} no longer holds ${from}`);
  await writeFile(join(folder, file), text.replace(from, to));
}

async function editBytes(folder: string, file: string, from: string, to: Buffer): Promise<void> {
  const bytes = await readFile(join(folder, file));
  const at = bytes.indexOf(from);
  if (at < 0) throw new Error(`${file} no longer holds ${from}`);
  await writeFile(join(folder, file), Buffer.concat([bytes.subarray(0, at), to, bytes.subarray(at + from.length)]));
}

/** Changes the first statement of the read-only policy (the one that lets bob read orders). */
async function editStatement(folder: string, change: (statement: Record<string, unknown>, doc: Record<string, unknown>) => void): Promise<void> {
  const doc = JSON.parse(await readFile(join(folder, READ_ONLY), 'utf8')) as { Statement: Record<string, unknown>[] };
  change(doc.Statement[0]!, doc);
  await writeFile(join(folder, READ_ONLY), JSON.stringify(doc, null, 2));
}

/** Changes the directory as a value (its comments are lost). */
async function editDirectory(folder: string, change: (directory: Record<string, unknown>) => void): Promise<void> {
  const directory = parse(await readFile(join(folder, 'directory.yaml'), 'utf8')) as Record<string, unknown>;
  change(directory);
  await writeFile(join(folder, 'directory.yaml'), stringify(directory));
}

const ROUTE_WITHOUT_ACTION = '  - route: GET /things\n    resource: order\n';
const SAME_ROUTE_AGAIN = '  - route: GET /orders/:orderId\n    action: orders:DescribeOrder\n    resource: order/${orderId}\n';
const appendRoute = (folder: string, text: string): Promise<void> => writeFile(join(folder, 'routes.yaml'), text, { flag: 'a' });
const unreadable = (reason: string): Pick<Breakage, 'file' | 'path' | 'code' | 'reason'> => ({ file: 'directory.yaml', path: 'policies.OrdersReadOnly.file', code: 'FILE_UNREADABLE', reason });

const BREAKAGES: readonly Breakage[] = [
  // Malformed documents.
  { name: 'invalid JSON deep in a policy', apply: (f) => editText(f, READ_ONLY, '"Resource": [', '"Resource": [ "a" "b",'), file: READ_ONLY, path: '', code: 'JSON_SYNTAX_ERROR', reason: /expected "," or "\]" at line 8, column \d+/ },
  { name: 'invalid YAML deep in the directory', apply: (f) => editText(f, 'directory.yaml', '"kubernetes.default.svc:aud": iamgate', '"kubernetes.default.svc:aud": [iamgate'), file: 'directory.yaml', path: '', code: 'YAML_SYNTAX_ERROR', reason: /at line \d+, column \d+/ },
  { name: 'a YAML tag no schema knows', apply: (f) => editText(f, 'directory.yaml', '"kubernetes.default.svc:aud": iamgate', '"kubernetes.default.svc:aud": !custom iamgate'), file: 'directory.yaml', path: '', code: 'YAML_SYNTAX_ERROR', reason: /Unresolved tag: !custom at line \d+, column \d+/ },
  { name: 'bytes that are not UTF-8', apply: (f) => editBytes(f, READ_ONLY, 'ReadOrders', Buffer.from('Read\xff\xfeOrders', 'latin1')), ...unreadable('not UTF-8 text: byte 0xff at line 5, column 19') },
  { name: 'a NUL byte', apply: (f) => editBytes(f, READ_ONLY, 'ReadOrders', Buffer.from('Read\0Orders')), ...unreadable('not a text file: a NUL byte at line 5, column 19') },
  { name: 'a NUL byte in a YAML value', apply: (f) => editBytes(f, 'directory.yaml', 'team: audit', Buffer.from('team: au\0dit')), file: 'directory.yaml', path: '', code: 'FILE_UNREADABLE', reason: /not a text file: a NUL byte at line \d+, column \d+/ },
  {
    name: 'a key given twice deep in a JSON policy',
    apply: (f) => editText(f, READ_ONLY, '"Effect": "Allow",', '"Effect": "Allow", "Condition": {"StringEquals": {"aws:username": "bob", "aws:username": "eve"}},'),
    file: READ_ONLY,
    path: 'Statement[0].Condition.StringEquals.aws:username',
    code: 'DUPLICATE_KEY',
    reason: 'is given more than once',
  },
  {
    name: 'a key given twice deep in the YAML directory',
    apply: (f) => editText(f, 'directory.yaml', 'Bool: { "aws:MultiFactorAuthPresent": "true" }', 'Bool: { "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthPresent": "false" }'),
    file: 'directory.yaml',
    path: 'roles.OrdersAdmin.trustPolicy.Statement[0].Condition.Bool.aws:MultiFactorAuthPresent',
    code: 'DUPLICATE_KEY',
    reason: 'is given more than once',
  },
  { name: 'a policy that is an array', apply: (f) => writeFile(join(f, READ_ONLY), '[{"Effect": "Allow"}]'), file: READ_ONLY, path: '', code: 'POLICY_NOT_OBJECT', reason: 'must be a JSON object, not an array' },
  { name: 'a policy that is a string', apply: (f) => writeFile(join(f, READ_ONLY), '"Allow"'), file: READ_ONLY, path: '', code: 'POLICY_NOT_OBJECT', reason: 'must be a JSON object, not a string' },
  { name: 'an empty policy file', apply: (f) => writeFile(join(f, READ_ONLY), ''), file: READ_ONLY, path: '', code: 'JSON_SYNTAX_ERROR', reason: 'unexpected end of input' },
  { name: 'a 50 MB policy file', apply: (f) => truncate(join(f, READ_ONLY), 50 * 1024 * 1024), ...unreadable('larger than 16777216 bytes') },
  {
    name: 'a symbolic link loop',
    apply: async (f) => {
      await unlink(join(f, READ_ONLY));
      await symlink('OrdersReadOnly.json', join(f, READ_ONLY));
    },
    ...unreadable('too many symbolic links'),
  },
  {
    name: 'a folder in place of a policy file',
    apply: async (f) => {
      await unlink(join(f, READ_ONLY));
      await mkdir(join(f, READ_ONLY));
    },
    ...unreadable('a folder, not a file'),
  },
  { name: 'a policy file deleted', apply: (f) => unlink(join(f, READ_ONLY)), ...unreadable('no such file or folder') },
  // Wrong shapes at deep JSON paths.
  { name: 'Statement as a string', apply: (f) => editStatement(f, (_s, doc) => (doc['Statement'] = 'Allow')), file: READ_ONLY, path: 'Statement', code: 'DATA_TYPE_MISMATCH', reason: 'not a string' },
  { name: 'Effect in lower case', apply: (f) => editStatement(f, (s) => (s['Effect'] = 'allow')), file: READ_ONLY, path: 'Statement[0].Effect', code: 'INVALID_EFFECT', reason: 'case-sensitive' },
  { name: 'Action as a number', apply: (f) => editStatement(f, (s) => (s['Action'] = 5)), file: READ_ONLY, path: 'Statement[0].Action', code: 'DATA_TYPE_MISMATCH', reason: 'not a number' },
  { name: 'an empty Action list', apply: (f) => editStatement(f, (s) => (s['Action'] = [])), file: READ_ONLY, path: 'Statement[0].Action', code: 'EMPTY_ARRAY', reason: 'at least one value' },
  { name: 'Resource missing', apply: (f) => editStatement(f, (s) => delete s['Resource']), file: READ_ONLY, path: 'Statement[0]', code: 'MISSING_RESOURCE', reason: 'neither Resource nor NotResource' },
  { name: 'both Action and NotAction', apply: (f) => editStatement(f, (s) => (s['NotAction'] = 'orders:DeleteOrder')), file: READ_ONLY, path: 'Statement[0]', code: 'ACTION_AND_NOT_ACTION', reason: 'not both' },
  { name: 'Principal in an identity policy', apply: (f) => editStatement(f, (s) => (s['Principal'] = { AWS: 'arn:aws:iam::111122223333:root' })), file: READ_ONLY, path: 'Statement[0].Principal', code: 'UNSUPPORTED_PRINCIPAL', reason: 'only allowed in resource-based policies' },
  { name: 'an unknown top-level element', apply: (f) => editStatement(f, (_s, doc) => (doc['Statements'] = [])), file: READ_ONLY, path: 'Statements', code: 'UNKNOWN_KEY', reason: 'not a policy element' },
  { name: 'an unknown statement element', apply: (f) => editStatement(f, (s) => (s['Resources'] = '*')), file: READ_ONLY, path: 'Statement[0].Resources', code: 'UNKNOWN_KEY', reason: 'not a policy element' },
  { name: 'a Condition operator that does not exist', apply: (f) => editStatement(f, (s) => (s['Condition'] = { StringEqual: { 'aws:username': 'bob' } })), file: READ_ONLY, path: 'Statement[0].Condition.StringEqual', code: 'UNKNOWN_CONDITION_OPERATOR', reason: 'did you mean "StringEquals"?' },
  { name: 'a Condition value that is an object', apply: (f) => editStatement(f, (s) => (s['Condition'] = { StringEquals: { 'aws:username': { is: 'bob' } } })), file: READ_ONLY, path: 'Statement[0].Condition.StringEquals.aws:username', code: 'DATA_TYPE_MISMATCH', reason: 'not an object' },
  { name: 'Version 2012-10-18', apply: (f) => editStatement(f, (_s, doc) => (doc['Version'] = '2012-10-18')), file: READ_ONLY, path: 'Version', code: 'INVALID_VERSION', reason: 'use "2012-10-17"' },
  { name: 'a Sid that is not alphanumeric', apply: (f) => editStatement(f, (s) => (s['Sid'] = 'read-orders')), file: READ_ONLY, path: 'Statement[0].Sid', code: 'INVALID_SID', reason: 'only ASCII letters and digits' },
  { name: 'a policy variable not closed', apply: (f) => editStatement(f, (s) => (s['Resource'] = 'arn:aws:orders:us-east-1:111122223333:order/${aws:username')), file: READ_ONLY, path: 'Statement[0].Resource', code: 'INVALID_POLICY_VARIABLE', reason: 'unterminated policy variable' },
  { name: 'a wildcard for the service of an action', apply: (f) => editStatement(f, (s) => (s['Action'] = ['orders:ListOrders', '*:GetOrder'])), file: READ_ONLY, path: 'Statement[0].Action[1]', code: 'INVALID_ACTION', reason: 'a wildcard in its service' },
  { name: 'an ARN with too few segments', apply: (f) => editStatement(f, (s) => (s['Resource'] = 'arn:aws:orders:us-east-1')), file: READ_ONLY, path: 'Statement[0].Resource', code: 'INVALID_RESOURCE', reason: 'six colon-separated parts' },
  // The directory and the route map.
  { name: 'a user in a group that does not exist', apply: (f) => editText(f, 'directory.yaml', 'groups: [auditors]', 'groups: [auditor]'), file: 'directory.yaml', path: 'users.bob.groups[0]', code: 'DANGLING_GROUP', reason: 'no group "auditor"' },
  { name: 'groups that are not a mapping', apply: (f) => editDirectory(f, (d) => (d['groups'] = ['developers', 'auditors'])), file: 'directory.yaml', path: 'groups', code: 'DATA_TYPE_MISMATCH', reason: 'must be a mapping' },
  {
    name: 'a policy file named by a number',
    apply: (f) => editDirectory(f, (d) => ((d['policies'] as Record<string, Record<string, unknown>>)['OrdersReadOnly']!['file'] = 42)),
    file: 'directory.yaml',
    path: 'policies.OrdersReadOnly.file',
    code: 'DATA_TYPE_MISMATCH',
    reason: 'must be a string',
  },
  { name: 'a policy name that does not exist', apply: (f) => editText(f, 'directory.yaml', 'policies: [OrdersReadOnly]', 'policies: [OrdersReadonly]'), file: 'directory.yaml', path: 'groups.auditors.policies[0]', code: 'DANGLING_POLICY', reason: 'no managed policy "OrdersReadonly"' },
  { name: 'a user name holding a terminal escape', apply: (f) => editText(f, 'directory.yaml', '  bob:\n', '  "bo\\x1b[2Kb":\n'), file: 'directory.yaml', path: 'users.bo\\u001b[2Kb', code: 'INVALID_NAME', reason: '"bo\\u001b[2Kb" is not a valid name' },
  { name: 'a role whose trust policy is invalid', apply: (f) => editText(f, 'directory.yaml', 'Action: sts:AssumeRole\n', 'Action: 5\n'), file: 'directory.yaml', path: 'roles.OrdersAdmin.trustPolicy.Statement[0].Action', code: 'DATA_TYPE_MISMATCH', reason: 'not a number' },
  { name: 'two routes for the same requests', apply: (f) => appendRoute(f, SAME_ROUTE_AGAIN), file: 'routes.yaml', path: 'routes[5].route', code: 'ROUTE_DUPLICATE', reason: 'same method and path shape as routes[2]' },
  { name: 'a route without an action', apply: (f) => appendRoute(f, ROUTE_WITHOUT_ACTION), file: 'routes.yaml', path: 'routes[5].action', code: 'MISSING_KEY', reason: 'a route needs an action' },
];

/** A fresh copy of the example policy folder (without its tests), for serve on loopback with no watch. */
async function exampleCopy(name: string): Promise<string> {
  const folder = join(dir(), name);
  await cp(EXAMPLE, folder, { recursive: true, filter: (src) => !src.startsWith(join(EXAMPLE, 'tests')) });
  await editText(folder, 'iamgate.yaml', '  routes: routes.yaml\n', '  routes: routes.yaml\n  watch: false\n');
  await editText(folder, 'iamgate.yaml', 'stateDir: ../.iamgate-state', `stateDir: ${join(dir(), `${name}-state`)}`);
  await editText(folder, 'iamgate.yaml', 'keyFile: ../.iamgate-state/dev-issuer.json', `keyFile: ${join(dir(), 'dev-issuer.json')}`);
  return folder;
}

/** Whether `line` names the breakage's file, JSON path, reason and code. */
function saysIt(line: string, folder: string, b: Breakage): boolean {
  const reason = typeof b.reason === 'string' ? line.includes(b.reason) : b.reason.test(line);
  return line.includes(join(folder, b.file)) && line.includes(b.path) && line.includes(b.code) && reason;
}

/** Nothing a person reads shows a stack trace, a raw system error code, an exception's own words or a control character. */
function expectPlain(text: string): void {
  expect(text).not.toMatch(/\n\s+at |\bE[A-Z]{3,}\b|LOAD_FAILED|Unexpected token|undefined|[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
}

describe('iamgate validate on a broken policy folder', () => {
  it.each(BREAKAGES)('says $name in one line with the file, the JSON path and the reason, and exits 1', async (b) => {
    const folder = await exampleCopy(`validate-${BREAKAGES.indexOf(b)}`);
    await b.apply(folder);
    const lines: string[] = [];
    const code = await runCli(['validate', folder], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    expect(code).toBe(1);
    const errors = lines.filter((l) => l.includes(': error '));
    expect(errors).toHaveLength(1);
    expect(saysIt(errors[0]!, folder, b), errors[0]).toBe(true);
    expectPlain(lines.join('\n'));
  });

  it('reads a policy file that begins with a byte-order mark as the policy it holds', async () => {
    const folder = await exampleCopy('validate-bom');
    await writeFile(join(folder, READ_ONLY), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await readFile(join(folder, READ_ONLY))]));
    const lines: string[] = [];
    expect(await runCli(['validate', folder], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) })).toBe(0);
    expect(lines.at(-1)).toMatch(/: 0 errors, 0 security findings, 0 warnings, 0 suggestions$/);
  });
});

describe('iamgate validate on a policy folder it may not read', () => {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  // Permissions do not bind root, whose capabilities override them: as root the command runs
  // without those two capabilities, so that they do. (Not as another user: the checkout may sit in
  // a folder only root may enter, as a clean clone in a private temporary folder does.)
  const asReader = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'] : [];

  it(
    'names an unreadable policy file by the key that names it, an unreadable folder by itself, and checks the rest',
    async () => {
      const folder = await exampleCopy('permissions');
      await chmod(join(folder, READ_ONLY), 0o000);
      await mkdir(join(folder, 'drafts'), { mode: 0o000 });
      const command = [...asReader, process.execPath, '--import', 'tsx', main, 'validate', folder];
      const result = await run(command[0]!, command.slice(1)).then(
        () => ({ code: 0, stdout: '' }),
        (e: unknown) => e as { code: number; stdout: string },
      );
      expect(result.code).toBe(1);
      expect(result.stdout.split('\n').filter((l) => l.includes(': error '))).toEqual([
        `${join(folder, 'drafts')}: error FILE_UNREADABLE: permission denied`,
        `${join(folder, 'directory.yaml')}: error FILE_UNREADABLE at policies.OrdersReadOnly.file: cannot read ${join(folder, READ_ONLY)}: permission denied`,
      ]);
    },
    CHILD_PROCESS_TEST_MS,
  );
});

describe('iamgate serve started on a broken policy folder', () => {
  // A real process per case is slow: these are the breakages read before the policy language sees them.
  const started: ServeChild[] = [];
  afterEach(() => {
    // A serve that started after all (the test failed) is not left running.
    for (const child of started.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });
  const AT_START = ['invalid JSON deep in a policy', 'bytes that are not UTF-8', 'a NUL byte in a YAML value', 'a key given twice deep in the YAML directory', 'a user name holding a terminal escape', 'a wildcard for the service of an action', 'a route without an action'];

  it.each(BREAKAGES.filter((b) => AT_START.includes(b.name)))(
    'refuses to start on $name, exit 1, with the one line',
    async (b) => {
      const folder = await exampleCopy(`start-${BREAKAGES.indexOf(b)}`);
      await b.apply(folder);
      const opsPort = await freePort();
      const child = serve(['--config', join(folder, 'iamgate.yaml')], { env: { IAMGATE_PORT: String(await freePort()), IAMGATE_OPS_PORT: String(opsPort) } });
      started.push(child);
      // Ready instead of exiting is a failure at once, not at the test's deadline.
      const readyOrExit = waitReady(opsPort, child).then(
        () => 'ready',
        () => child.exit,
      );
      expect(await readyOrExit).toBe(1);
      const said = child.output().split('\n').filter((l) => l.startsWith('  '));
      expect(said).toHaveLength(1);
      expect(saysIt(said[0]!, folder, b), child.output()).toBe(true);
      expectPlain(child.output().split('\n').filter((l) => !l.startsWith('{')).join('\n'));
    },
    CHILD_PROCESS_TEST_MS,
  );
});

describe('a running iamgate serve reloading a broken policy folder', () => {
  let folder = '';
  let pristine = '';
  let upstream: TestUpstream;
  let child: ServeChild;
  let gateway = '';
  let ops = '';
  let bob = '';

  beforeAll(async () => {
    folder = await exampleCopy('served');
    pristine = await exampleCopy('pristine');
    upstream = await startTestUpstream();
    const [port, opsPort] = [await freePort(), await freePort()];
    [gateway, ops] = [`http://127.0.0.1:${port}`, `http://127.0.0.1:${opsPort}`];
    child = serve(['--config', join(folder, 'iamgate.yaml')], { env: { IAMGATE_PORT: String(port), IAMGATE_OPS_PORT: String(opsPort), IAMGATE_UPSTREAM: upstream.url, IAMGATE_LOG_LEVEL: 'info' } });
    await waitReady(opsPort, child);
    bob = await mintBearer(join(folder, 'iamgate.yaml'), 'bob');
  }, CHILD_PROCESS_TEST_MS);

  afterAll(async () => {
    await stopServe(child);
    await upstream?.close();
  });

  /** Puts the example's files back as they were. */
  async function restore(): Promise<void> {
    for (const part of ['directory.yaml', 'routes.yaml', 'policies']) {
      await rm(join(folder, part), { recursive: true, force: true });
      await cp(join(pristine, part), join(folder, part), { recursive: true });
    }
  }

  const bobReadsAnOrder = async (): Promise<number> => {
    const res = await request(`${gateway}/orders/1`, { headers: { authorization: bob } });
    await res.body.dump();
    return res.statusCode;
  };

  async function reload(): Promise<{ status: number; body: { ok: boolean; problems: string[] } }> {
    const res = await request(`${ops}/v1/policies/reload`, { method: 'POST' });
    return { status: res.statusCode, body: (await res.body.json()) as { ok: boolean; problems: string[] } };
  }

  /** The log lines written after `since` whose message starts with `msg`, once there is one (the log is written beside the answer, not before it). */
  async function logged(since: number, msg: string): Promise<Record<string, unknown>[]> {
    const linesNow = (): Record<string, unknown>[] =>
      child
        .output()
        .slice(since)
        .split('\n')
        .filter((l) => l.startsWith('{"level"') && l.endsWith('}'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => String(l['msg']).startsWith(msg));
    let lines = linesNow();
    await holdsWithin(() => (lines = linesNow()).length > 0, 10_000, 50);
    return lines;
  }

  it.each(BREAKAGES)(
    'keeps serving the last good set on $name, and says so with the one line in its answer, its log and /readyz',
    async (b) => {
      expect(await bobReadsAnOrder()).toBe(200);
      const failures = metricValue(await metricsPage(Number(new URL(ops).port)), 'iamgate_policy_reloads_total', { result: 'failure' });
      const since = child.output().length;
      await b.apply(folder);
      try {
        const answer = await reload();
        expect(answer.status).toBe(422);
        expect(answer.body.ok).toBe(false);
        expect(answer.body.problems).toHaveLength(1);
        expect(saysIt(answer.body.problems[0]!, folder, b), answer.body.problems[0]).toBe(true);
        expectPlain(answer.body.problems.join('\n'));
        // Bob still reads orders: the broken set, had any of it been taken, would deny him.
        expect(await bobReadsAnOrder()).toBe(200);
        const readyz = (await (await request(`${ops}/readyz`)).body.json()) as { ready: boolean; reasons: string[] };
        expect(readyz).toMatchObject({ ready: true, reasons: answer.body.problems });
        expect(metricValue(await metricsPage(Number(new URL(ops).port)), 'iamgate_policy_reloads_total', { result: 'failure' })).toBe(failures + 1);
        const said = await logged(since, 'policy reload failed');
        expect(said).toEqual([expect.objectContaining({ msg: 'policy reload failed; the previous policies keep serving', problems: answer.body.problems })]);
      } finally {
        await restore();
      }
    },
    CHILD_PROCESS_TEST_MS,
  );

  it('applies a later good reload: bob loses reading orders when the policy that granted it denies it', async () => {
    await editStatement(folder, (s) => (s['Effect'] = 'Deny'));
    const answer = await reload();
    expect(answer).toMatchObject({ status: 200, body: { ok: true, problems: [] } });
    expect(await bobReadsAnOrder()).toBe(403);
    expect(((await (await request(`${ops}/readyz`)).body.json()) as { reasons: string[] }).reasons).toEqual([]);
  });
});
