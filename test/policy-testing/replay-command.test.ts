// `iamgate replay` over a trail written by the gateway as `iamgate serve` assembles it (real
// HTTP on loopback, real tokens, the durable file sink): decisions that a candidate policy folder
// would change are reported in both directions, records refused before any policy decision are
// skipped with their reason, and the live policies themselves replay without a change.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIamgate, loadConfig, type Iamgate } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { tokenFor } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { startOwnedRedis } from '../support/redis.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { copyExample, iamgate } from './cli.js';

let live: string;
let candidate: string;
let trail: string;
let upstream: TestUpstream;
let served: Iamgate;
const status = new Map<string, number>();

async function edit(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not hold ${from}`);
  await writeFile(file, text.replace(from, to));
}

beforeAll(async () => {
  live = await copyExample('iamgate-replay-');
  candidate = await copyExample('iamgate-replay-candidate-');
  // The candidate takes creating orders from the developers and gives the auditors everything they had plus creating.
  await edit(join(candidate, 'policies', 'OrdersReadWrite.json'), '"orders:GetOrder", "orders:ListOrders", "orders:CreateOrder"', '"orders:GetOrder", "orders:ListOrders"');
  await edit(join(candidate, 'policies', 'OrdersReadOnly.json'), '"orders:GetOrder", "orders:ListOrders"', '"orders:GetOrder", "orders:ListOrders", "orders:CreateOrder"');
  upstream = await startTestUpstream();
  const root = dirname(live);
  trail = join(root, 'trail.jsonl');
  const config = join(root, 'iamgate.yaml');
  await writeFile(
    config,
    [
      'version: 1',
      'mode: development',
      'listen: { host: 127.0.0.1, port: 0 }',
      'operations: { host: 127.0.0.1, port: 0 }',
      `upstream: { url: "${upstream.url}" }`,
      `policies: { directory: "${join(live, 'directory.yaml')}", routes: "${join(live, 'routes.yaml')}" }`,
      'audit:',
      '  sink: file',
      '  file: { path: trail.jsonl }',
      // An outcome record after every forwarded request: the replay must skip what is not a decision.
      '  outcomes: all',
      'auth:',
      '  stateDir: state',
      '  issuers:',
      '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true, claims: { amrMfa: true } }',
      '',
    ].join('\n'),
  );
  const loaded = await loadConfig({ file: config, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  served = await createIamgate(loaded.config, { logger: pino({ level: 'silent' }) });
  const first = await served.gateway.initialLoad;
  if (!first.ok) throw new Error(first.problems.join('\n'));
  const token = new Map<string, string>();
  for (const user of ['alice', 'bob', 'carol']) token.set(user, await tokenFor(config, user));
  const calls: [label: string, method: string, path: string, user: string | undefined][] = [
    ['alice reads', 'GET', '/orders/1', 'alice'],
    ['alice creates', 'POST', '/orders', 'alice'],
    ['bob creates', 'POST', '/orders', 'bob'],
    ['bob reads', 'GET', '/orders?status=open', 'bob'],
    ['carol deletes', 'DELETE', '/orders/2', 'carol'],
    ['alice off the map', 'GET', '/admin', 'alice'],
    ['nobody', 'GET', '/orders', undefined],
  ];
  for (const [label, method, path, user] of calls) {
    const res = await rawRequest(`${served.gateway.url}${path}`, { method, headers: user ? { authorization: `Bearer ${token.get(user)}` } : {} });
    status.set(label, res.status);
  }
  await served.stop(1000);
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  for (const dir of [live, candidate]) if (dir) await rm(dirname(dir), { recursive: true, force: true });
});

describe('iamgate replay', () => {
  it('the served gateway decided the requests as the live policies say', () => {
    expect(Object.fromEntries(status)).toEqual({
      'alice reads': 200,
      'alice creates': 200,
      'bob creates': 403,
      'bob reads': 200,
      'carol deletes': 403,
      'alice off the map': 403,
      nobody: 401,
    });
  });

  it('replays the trail under the live policies without a single change, and exits 0', async () => {
    const run = await iamgate('replay', trail, '--policies', live);
    expect(run.err).toEqual([]);
    expect(run.out.filter((l) => /^[+-] /.test(l))).toEqual([]);
    expect(run.out).toContain('  skipped 1: refused before any policy decision (token_missing)');
    expect(run.out).toContain('  skipped 3: not a request decision (outcome)');
    expect(run.out.find((l) => l.includes(' records: '))).toMatch(/ 6 replayed \(0 approximate\), 0 changed \(0 now allowed, 0 now denied\)$/);
    expect(run.code).toBe(0);
  });

  it('reports each decision the candidate changes, in both directions, and exits 1', async () => {
    const run = await iamgate('replay', trail, '--policies', candidate);
    const changes = run.out.filter((l) => /^[+-] /.test(l));
    expect(changes).toHaveLength(2);
    expect(changes.find((l) => l.startsWith('- '))).toMatch(
      /^- line \d+ \S+ arn:aws:iam::111122223333:user\/engineering\/alice POST \/orders \(orders:CreateOrder\): Allow allowed → Deny implicit_deny$/,
    );
    expect(changes.find((l) => l.startsWith('+ '))).toMatch(/^\+ line \d+ \S+ arn:aws:iam::111122223333:user\/audit\/bob POST \/orders \(orders:CreateOrder\): Deny implicit_deny → Allow allowed$/);
    expect(run.out.find((l) => l.includes(' records: '))).toMatch(/ 6 replayed \(0 approximate\), 2 changed \(1 now allowed, 1 now denied\)$/);
    expect(run.code).toBe(1);
  });

  it('marks a replay approximate where the candidate reads a fact the trail does not keep (a query parameter)', async () => {
    const narrowed = await copyExample('iamgate-replay-query-');
    try {
      await edit(
        join(narrowed, 'policies', 'OrdersReadOnly.json'),
        '"Resource": ["arn:aws:orders:us-east-1:111122223333:order", "arn:aws:orders:us-east-1:111122223333:order/*"]',
        '"Resource": ["arn:aws:orders:us-east-1:111122223333:order", "arn:aws:orders:us-east-1:111122223333:order/*"],\n      "Condition": { "StringEquals": { "orders:Status": "closed" } }',
      );
      const run = await iamgate('replay', trail, '--policies', narrowed);
      expect(run.out.filter((l) => /^[+-] /.test(l))).toEqual([
        expect.stringMatching(/^- line \d+ \S+ arn:aws:iam::111122223333:user\/audit\/bob GET \/orders \(orders:ListOrders\): Allow allowed → Deny implicit_deny \[approximate: not recorded: orders:Status \(from the query parameter status\)\]$/),
      ]);
    } finally {
      await rm(dirname(narrowed), { recursive: true, force: true });
    }
  });

  it('gives the changes as JSON with the record they come from', async () => {
    const run = await iamgate('replay', trail, '--policies', candidate, '--json');
    const report = JSON.parse(run.out[0] as string) as { changes: { requestId: string; before: { decision: string }; after: { decision: string }; missing: string[] }[] };
    expect(report.changes.map((c) => [c.before.decision, c.after.decision, c.missing]).sort()).toEqual([
      ['Allow', 'Deny', []],
      ['Deny', 'Allow', []],
    ]);
    expect(report.changes.every((c) => typeof c.requestId === 'string')).toBe(true);
  });

  it('fails, naming the file, when what it was given holds no audit record, so a wrong file never passes the gate', async () => {
    const notATrail = join(live, 'routes.yaml');
    const run = await iamgate('replay', notATrail, '--policies', live);
    expect(run.out.at(-1)).toMatch(/^  skipped \d+: not an audit record$/);
    expect(run.err).toEqual([`iamgate replay: ${notATrail} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`]);
    expect(run.code).toBe(1);
  });

  it('says where Redis is (never the password) and why the trail cannot be read from it, in one line, when it does not answer', async () => {
    const redis = await startOwnedRedis();
    await redis.close();
    const run = await iamgate('replay', '--redis', `redis://:hunter2-secret@127.0.0.1:${redis.port}`, '--policies', live);
    expect(run).toEqual({
      code: 1,
      out: [],
      err: [`iamgate replay: cannot read the trail from Redis at redis://127.0.0.1:${redis.port} (--redis): connect ECONNREFUSED 127.0.0.1:${redis.port}`],
    });
  });

  it('answers --help with what it does and every option', async () => {
    const run = await iamgate('replay', '--help');
    expect(run.code).toBe(0);
    const text = run.out.join('\n');
    for (const option of ['--policies DIR', '--redis URL', '--stream KEY', '--json']) expect(text).toMatch(new RegExp(`^  ${option} +\\S`, 'm'));
    expect(text).toContain('(default iamgate:audit)');
  });
});
