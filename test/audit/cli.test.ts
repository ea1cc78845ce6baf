// `iamgate audit verify|report|suggest-policy` on a real trail written through the audit log with
// the example directory's principals, through the CLI dispatcher.
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/log.js';
import type { AuditEventInput } from '../../src/audit/schema.js';
import { createRedisStreamSink } from '../../src/audit/sinks/redis.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import type { RecordSink } from '../../src/audit/sinks/types.js';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { parsePolicy } from '../../src/policy/parse.js';
import { startOwnedRedis, startRedis, type TestRedis } from '../support/redis.js';
import { ed25519, tempDir, type TempDir } from './support.js';

const ACCOUNT = '111122223333';
const ORDERS = `arn:aws:orders:us-east-1:${ACCOUNT}:order`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/engineering/alice`;
const BOB = `arn:aws:iam::${ACCOUNT}:user/audit/bob`;
const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/OrdersAdmin`;
const ADMIN_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/OrdersAdmin/carol`;
const DIRECTORY = new URL('../../policies/directory.yaml', import.meta.url).pathname;
const OLD = Date.parse('2025-01-10T09:00:00Z');
const RECENT = Date.parse('2025-03-01T12:00:00Z');
const NOW = Date.parse('2025-03-02T00:00:00Z');

type Event = [at: number, principal: string, action: string, resource: string, allowed: boolean];
const EVENTS: Event[] = [
  [OLD, ALICE, 'orders:CreateOrder', ORDERS, true],
  [RECENT, ALICE, 'orders:GetOrder', `${ORDERS}/1`, true],
  [RECENT + 1000, ALICE, 'orders:GetOrder', `${ORDERS}/2`, true],
  [RECENT + 2000, ALICE, 'orders:ListOrders', ORDERS, true],
  [RECENT + 3000, ALICE, 'orders:DeleteOrder', `${ORDERS}/2`, false],
  [RECENT + 4000, BOB, 'orders:ListOrders', ORDERS, true],
  [RECENT + 5000, BOB, 'orders:CreateOrder', ORDERS, false],
  [RECENT + 6000, ADMIN_SESSION, 'orders:DeleteOrder', `${ORDERS}/3`, true],
];

function eventOf([, principal, action, resource, allowed]: Event, i: number): AuditEventInput {
  const type = principal.includes(':assumed-role/') ? 'AssumedRole' : 'User';
  return {
    kind: 'request',
    requestId: `req-${i}`,
    principal: { arn: principal, type, ...(type === 'AssumedRole' ? { session: 'carol' } : {}) },
    action,
    resource,
    decision: allowed ? 'Allow' : 'Deny',
    reason: allowed ? 'allowed' : 'implicit_deny',
    method: 'GET',
    path: '/orders',
  };
}

/** Writes the events through an audit log whose clock reads each event's time. */
async function writeEvents(sinks: RecordSink[], signer = key.signer): Promise<void> {
  let clock = OLD;
  const log = createAuditLog({ instanceId: 'gw-cli', sinks, signer, now: () => clock, digestEvery: { records: 4, ms: 0 } });
  for (const [i, event] of EVENTS.entries()) {
    clock = event[0];
    await log.record(eventOf(event, i));
  }
  await log.close();
}

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(...l.split('\n')), stderr: (l) => err.push(...l.split('\n')) };
}

async function audit(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const io = capture();
  const code = await runCli(['audit', ...argv], io);
  return { code, out: io.out, err: io.err };
}

const key = ed25519();
let dir: TempDir;
let trail: string;
let publicKeyFile: string;

beforeAll(async () => {
  dir = await tempDir();
  trail = dir.file('trail.jsonl');
  publicKeyFile = dir.file('audit-key.pem');
  await writeFile(publicKeyFile, key.publicPem);
  await writeEvents([createFileSink(trail)]);
});
afterAll(() => dir.remove());

describe('iamgate audit verify', () => {
  it('exits 0 on an untouched trail, with and without the trusted key', async () => {
    const plain = await audit('verify', trail);
    expect(plain.code).toBe(0);
    expect(plain.out.at(-1)).toMatch(/^\d+ records, 0 other lines: intact$/);
    expect(plain.out).toContainEqual(expect.stringMatching(/^chain gw-cli: seq 1\.\.\d+, \d+ records, signed through seq \d+, closed$/));
    expect((await audit('verify', trail, '--public-key', publicKeyFile)).code).toBe(0);
  });

  it('exits 1 when the digests are signed with a key that is not trusted', async () => {
    const other = dir.file('other.pem');
    await writeFile(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const result = await audit('verify', trail, '--public-key', other);
    expect(result.code).toBe(1);
    expect(result.out).toContainEqual(expect.stringMatching(/^TAMPERED unknown_key: line 1: /));
  });

  it('exits 1 on an edited record and names its line', async () => {
    const lines = (await readFile(trail, 'utf8')).split('\n');
    const i = lines.findIndex((l) => l.includes('"orders:DeleteOrder"') && l.includes('"Deny"'));
    lines[i] = (lines[i] as string).replace('"Deny"', '"Allow"');
    const edited = dir.file('edited.jsonl');
    await writeFile(edited, lines.join('\n'));
    const result = await audit('verify', edited, '--json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.out[0] as string) as { status: string; findings: { code: string; ref: string }[] };
    expect(report.status).toBe('tampered');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'altered', ref: `line ${i + 1}` })]);
  });

  it('exits 3 on a trail cut short, saying where it ends', async () => {
    const lines = (await readFile(trail, 'utf8')).split('\n').filter(Boolean);
    const cut = dir.file('cut.jsonl');
    await writeFile(cut, `${lines.slice(0, -2).join('\n')}\n`);
    const result = await audit('verify', cut);
    expect(result.code).toBe(3);
    expect(result.out[0]).toMatch(new RegExp(`^INCOMPLETE unclosed: chain gw-cli ends at seq ${lines.length - 2} \\(line ${lines.length - 2}\\) without a final digest`));
  });

  it('exits 1 on a file of log lines without one audit record, calling it no audit records rather than intact', async () => {
    const logOnly = dir.file('log-only.jsonl');
    await writeFile(logOnly, '{"level":30,"msg":"demo orders service listening"}\n{"level":30,"msg":"iamgate listening"}\n');
    const result = await audit('verify', logOnly);
    expect(result.code).toBe(1);
    expect(result.out).toEqual(['0 records, 2 other lines: no audit records']);
    expect(result.err).toEqual([`iamgate audit verify: ${logOnly} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`]);
  });

  it('reads the trail from a Redis Stream', async () => {
    const redis: TestRedis = await startRedis();
    try {
      const client = new Redis(redis.url);
      await writeEvents([createRedisStreamSink({ redis: client, stream: 'audit:cli' })]);
      client.disconnect();
      const result = await audit('verify', '--redis', redis.url, '--stream', 'audit:cli', '--public-key', publicKeyFile);
      expect(result.out.at(-1)).toMatch(/intact$/);
      expect(result.code).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it('says where Redis is (never the password) and why it cannot be read, in one line, when it does not answer', async () => {
    const redis = await startOwnedRedis();
    await redis.close();
    const url = `redis://:hunter2-secret@127.0.0.1:${redis.port}`;
    const result = await audit('verify', '--redis', url);
    expect(result).toEqual({
      code: 1,
      out: [],
      err: [`iamgate audit verify: cannot read the trail from Redis at redis://127.0.0.1:${redis.port} (--redis): connect ECONNREFUSED 127.0.0.1:${redis.port}`],
    });
    const notUrl = await audit('verify', '--redis', 'hunter2-secret');
    expect(notUrl.code).toBe(2);
    expect(notUrl.err).toEqual(['iamgate audit verify: --redis: not a URL such as redis://:PASSWORD@HOST:6379/0 (the value is not shown: it may hold a password)']);
  });

  it('exits 2 on a usage error', async () => {
    expect((await audit('verify')).code).toBe(2);
    expect((await audit('verify', trail, '--bogus')).code).toBe(2);
    expect((await audit('frobnicate')).code).toBe(2);
  });

  it('refuses, as a usage error, an option of another subcommand and a second FILE where one is read, rather than ignoring them', async () => {
    const refusals: Array<[string[], string]> = [
      [['report', trail, '--principal', ALICE], 'iamgate audit report: unknown argument: --principal'],
      [['report', trail, '--rotated'], 'iamgate audit report: unknown argument: --rotated'],
      [['report', trail, trail], `iamgate audit report: unexpected argument: ${trail} (report reads one FILE)`],
      [['suggest-policy', trail, '--principal', ALICE, '--json'], 'iamgate audit suggest-policy: unknown argument: --json'],
      [['suggest-policy', trail, trail, '--principal', ALICE], `iamgate audit suggest-policy: unexpected argument: ${trail} (suggest-policy reads one FILE)`],
      [['verify', trail, '--since', '30d'], 'iamgate audit verify: unknown argument: --since'],
    ];
    for (const [argv, line] of refusals) {
      const { code, out, err } = await audit(...argv);
      expect({ argv, code, out, first: err.join('\n').split('\n')[0] }).toEqual({ argv, code: 2, out: [], first: line });
    }
  });

  it('answers a usage error with its line and the four forms, leaving the full description to --help', async () => {
    const help = (await audit('--help')).out.join('\n');
    for (const argv of [[], ['verify'], ['report'], ['suggest-policy', trail], ['frobnicate'], ['verify', trail, '--bogus']]) {
      const lines = (await audit(...argv)).err.join('\n').split('\n');
      expect(lines[0]).toMatch(/^iamgate audit/);
      expect(lines.slice(1)).toEqual([...help.split('\n').slice(0, 5), 'iamgate audit --help says what each does and what it exits with.']);
    }
    expect(help).toContain('Exit 0: intact and closed.');
  });
});

describe('iamgate audit report', () => {
  it('lists, per principal and action, the counts and when it was last allowed', async () => {
    const result = await audit('report', trail);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`  ${ALICE}  orders:GetOrder  2  0  2025-03-01T12:00:01.000Z`);
    expect(result.out).toContain(`  ${ALICE}  orders:DeleteOrder  0  1  never`);
    expect(result.out).toContain(`  ${BOB}  orders:ListOrders  1  0  2025-03-01T12:00:04.000Z`);
    expect(result.out.at(-1)).toMatch(/^Unused access: not reported \(usage only\)/);
  });

  it('with the directory, lists granted access no allowed request used within the period', async () => {
    const io = capture();
    const code = await runCli(['audit', 'report', trail, '--directory', DIRECTORY, '--since', '2025-02-01T00:00:00Z', '--json'], io);
    expect(code).toBe(0);
    const report = JSON.parse(io.out[0] as string) as { lastAccessed: { principal: string; action: string }[]; unused: unknown[] };
    expect(report.lastAccessed.some((u) => u.action === 'orders:CreateOrder' && u.principal === ALICE)).toBe(false);
    expect(report.unused).toEqual([
      { principal: ALICE, policy: 'OrdersReadWrite', statement: 'OrdersReadWrite:ReadAndCreateOrders', wholeStatement: false, actions: ['orders:CreateOrder'] },
      { principal: BOB, policy: 'OrdersReadOnly', statement: 'OrdersReadOnly:ReadOrders', wholeStatement: false, actions: ['orders:GetOrder'] },
      { principal: `arn:aws:iam::${ACCOUNT}:user/engineering/carol`, policy: 'OrdersReadWrite', statement: 'OrdersReadWrite:ReadAndCreateOrders', wholeStatement: true, actions: ['orders:GetOrder', 'orders:ListOrders', 'orders:CreateOrder'] },
      { principal: `arn:aws:iam::${ACCOUNT}:user/engineering/carol`, policy: 'OrdersDeleteWithMfa', statement: 'OrdersDeleteWithMfa:DeleteOrdersWithMfa', wholeStatement: true, actions: ['orders:DeleteOrder'] },
      { principal: `arn:aws:iam::${ACCOUNT}:user/engineering/carol`, policy: 'AssumeOrdersAdmin', statement: 'AssumeOrdersAdmin:AssumeOrdersAdmin', wholeStatement: true, actions: ['sts:AssumeRole'] },
      { principal: `arn:aws:iam::${ACCOUNT}:user/engineering/carol`, policy: 'MfaSelfEnrolment', statement: 'MfaSelfEnrolment:EnrolOwnDeviceOnlyWhileOpened', wholeStatement: true, actions: ['iamgate:EnrollMfa', 'iamgate:ConfirmMfa'] },
      { principal: `arn:aws:iam::${ACCOUNT}:role/OrdersWorker`, policy: 'OrdersReadOnly', statement: 'OrdersReadOnly:ReadOrders', wholeStatement: true, actions: ['orders:GetOrder', 'orders:ListOrders'] },
    ]);
  });

  it('exits 1, naming the file, when the file holds no audit record, rather than report no access at all', async () => {
    const logOnly = dir.file('report-log-only.jsonl');
    await writeFile(logOnly, '{"level":30,"msg":"iamgate listening"}\nversion: 1\n');
    const result = await audit('report', logOnly, '--directory', DIRECTORY);
    expect(result.code).toBe(1);
    expect(result.err).toEqual([`iamgate audit report: ${logOnly} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`]);
    expect(result.out).toEqual([]);
  });

  it('prints the problems of a directory that does not load as validate does, a control character in it as an escape', async () => {
    const broken = dir.file('report-broken-directory.yaml');
    await writeFile(broken, 'account: "111122223333"\nusers:\n  "bo\\x1b[2Kb": {}\n');
    const result = await audit('report', trail, '--directory', broken);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${broken}: error INVALID_NAME at users.bo\\u001b[2Kb: "bo\\u001b[2Kb" is not a valid name (letters, digits and +=,.@_-)`);
    expect(result.err.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('reports a trail with no decision in it yet as an empty report, and exits 0', async () => {
    const opened = dir.file('report-opened.jsonl');
    await writeFile(opened, `${(await readFile(trail, 'utf8')).split('\n')[0]}\n`);
    const result = await audit('report', opened, '--json');
    expect(result.err).toEqual([]);
    expect(JSON.parse(result.out[0] as string)).toEqual({ period: 'in the whole trail', lastAccessed: [] });
    expect(result.code).toBe(0);
  });

  it('counts the whole trail without --since, and takes an age as --since', async () => {
    const all = await audit('report', trail, '--directory', DIRECTORY, '--json');
    const unusedAll = (JSON.parse(all.out[0] as string) as { unused: { principal: string }[] }).unused;
    expect(unusedAll.some((u) => u.principal === ALICE)).toBe(false);
    const io = capture();
    await runCli(['audit', 'report', trail, '--since', '1d', '--json'], io);
    // Reported relative to the real clock, so everything in this 2025 trail is older than a day.
    expect((JSON.parse(io.out[0] as string) as { lastAccessed: unknown[] }).lastAccessed).toEqual([]);
  });
});

describe('iamgate audit suggest-policy', () => {
  it('builds a least-privilege policy from what the principal was allowed, valid for the engine', async () => {
    const result = await audit('suggest-policy', trail, '--principal', ALICE, '--since', '2025-02-01T00:00:00Z');
    expect(result.code).toBe(0);
    const policy = JSON.parse(result.out.join('\n')) as unknown;
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Used1', Effect: 'Allow', Action: 'orders:GetOrder', Resource: [`${ORDERS}/1`, `${ORDERS}/2`] },
        { Sid: 'Used2', Effect: 'Allow', Action: 'orders:ListOrders', Resource: ORDERS },
      ],
    });
    expect(parsePolicy(policy, { kind: 'identity' }).findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.err).toContain('from 3 allowed requests');
  });

  it('groups actions used on the same resources, takes in a role\'s sessions, and merges many resources', async () => {
    const whole = JSON.parse((await audit('suggest-policy', trail, '--principal', ALICE)).out.join('\n')) as { Statement: unknown[] };
    expect(whole.Statement).toContainEqual({ Sid: 'Used1', Effect: 'Allow', Action: ['orders:CreateOrder', 'orders:ListOrders'], Resource: ORDERS });

    const roleRun = await audit('suggest-policy', trail, '--principal', ADMIN_ROLE);
    const role = JSON.parse(roleRun.out.join('\n')) as { Statement: unknown[] };
    expect(role.Statement).toEqual([{ Sid: 'Used1', Effect: 'Allow', Action: 'orders:DeleteOrder', Resource: `${ORDERS}/3` }]);
    expect(roleRun.err).toEqual(['from 1 allowed request']);

    const merged = await audit('suggest-policy', trail, '--principal', ALICE, '--max-resources', '1');
    expect((JSON.parse(merged.out.join('\n')) as { Statement: unknown[] }).Statement).toContainEqual({
      Sid: 'Used2',
      Effect: 'Allow',
      Action: 'orders:GetOrder',
      Resource: `${ORDERS}/*`,
    });
    expect(merged.err[0]).toContain('merged into a wildcard for orders:GetOrder');
  });

  it('exits 1, naming the file, when the file holds no audit record, instead of calling a wrong file unused', async () => {
    const logOnly = dir.file('suggest-log-only.jsonl');
    await writeFile(logOnly, '{"level":30,"msg":"iamgate listening"}\nversion: 1\n');
    const result = await audit('suggest-policy', logOnly, '--principal', ALICE);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([`iamgate audit suggest-policy: ${logOnly} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`]);
  });

  it('exits 1 for a principal that was never allowed anything', async () => {
    const result = await audit('suggest-policy', trail, '--principal', `arn:aws:iam::${ACCOUNT}:user/nobody`);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
  });
});
