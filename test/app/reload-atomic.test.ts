// A policy reload is atomic: the directory, the route map and the policies change together, and a
// request is decided against one whole snapshot from start to end. Reloads (each changing all
// three files) are interleaved with a stream of real requests (real tokens, real HTTP, a real
// upstream, the configured audit trail in a file), and every decision record of the trail is
// checked against the one snapshot its generation names.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIamgate, readConfig, type Iamgate } from '../../src/app/index.js';
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

/** Users u0..u3; snapshot k knows two of them and grants one. */
const USERS = 4;
const RELOADS = 30;
const CLIENTS = 6;
const ACCOUNT = '111122223333';

/** The users the directory of set k holds: u(k), which set k's policy grants, and u(k+1), which it does not. */
function usersOf(k: number): { granted: string; known: ReadonlySet<string> } {
  const granted = `u${k % USERS}`;
  return { granted, known: new Set([granted, `u${(k + 1) % USERS}`]) };
}

/** Writes set k: a directory, a policy file and a route map that all name generation k. */
async function writeSet(dir: string, k: number): Promise<void> {
  const { granted, known } = usersOf(k);
  const policy = { Version: '2012-10-17', Statement: [{ Sid: `Set${k}`, Effect: 'Allow', Action: `items:Gen${k}`, Resource: '*' }] };
  await writeFile(join(dir, 'policies', 'set.json'), JSON.stringify(policy));
  const users = [...known].map((u) => `  ${u}: ${u === granted ? '{ policies: [SetPolicy] }' : '{}'}`);
  await writeFile(join(dir, 'directory.yaml'), ['version: 1', `account: "${ACCOUNT}"`, 'partition: aws', 'policies:', '  SetPolicy: { file: policies/set.json }', 'users:', ...users, ''].join('\n'));
  await writeFile(
    join(dir, 'routes.yaml'),
    ['version: 1', 'service: items', `arnPrefix: "arn:aws:items:us-east-1:${ACCOUNT}:"`, 'routes:', '  - route: GET /items/:id', `    action: items:Gen${k}`, '    resource: item/${id}', ''].join('\n'),
  );
}

/** A small seeded generator (mulberry32): the same run of users every time. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type TrailRecord = Record<string, unknown> & { readonly kind: string; readonly seq: number };

let dir: string;
let upstream: TestUpstream;
let keys: TestKeys;
let iamgate: Iamgate;
/** Which set each generation installed. */
const setOfGeneration = new Map<number, number>();
/** Every answer: its request id, status, and the user who asked. */
const answers: { requestId: string; status: number; user: number }[] = [];
let trail: TrailRecord[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-atomic-'));
  await mkdir(join(dir, 'policies'));
  upstream = await startTestUpstream();
  keys = await createTestKeys();
  const jwks = join(dir, 'jwks.json');
  await writeFile(jwks, JSON.stringify({ keys: [{ ...keys.publicJwk, kid: 'test-1', alg: 'ES256' }] }));
  await writeSet(dir, 0);
  const read = readConfig(
    {
      version: 1,
      mode: 'development',
      listen: { host: '127.0.0.1', port: 0 },
      operations: { host: '127.0.0.1', port: 0 },
      upstream: { url: upstream.url },
      policies: { directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml'), watch: false },
      audit: { sink: 'file', file: { path: join(dir, 'trail.jsonl') }, durability: 'durable', sign: false },
      auth: {
        stateDir: join(dir, 'state'),
        sts: { enabled: false },
        issuers: [{ name: 'test', issuer: TEST_ISSUER, audiences: [TEST_AUDIENCE], algorithms: ['ES256'], keyFile: jwks }],
      },
    },
    {},
    undefined,
  );
  if (!read.ok) throw new Error(JSON.stringify(read.problems));
  iamgate = await createIamgate(read.config, { logger: pino({ level: 'silent' }) });
  const first = await iamgate.gateway.initialLoad;
  if (!first.ok || first.generation === undefined) throw new Error(first.problems.join('\n'));
  setOfGeneration.set(first.generation, 0);

  const tokens = await Promise.all(Array.from({ length: USERS }, (_, u) => keys.token(`u${u}`)));
  const agent = new Agent({ connections: CLIENTS });
  let reloading = true;
  const client = async (c: number): Promise<void> => {
    const next = seeded(c + 1);
    for (let n = 0; reloading; n++) {
      const user = Math.floor(next() * USERS);
      const res = await request(`${iamgate.gateway.url}/items/u${user}-${c}-${n}`, { dispatcher: agent, headers: { authorization: `Bearer ${tokens[user]}` } });
      await res.body.dump();
      answers.push({ requestId: String(res.headers['x-iamgate-request-id']), status: res.statusCode, user });
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
  for (let k = 1; k <= RELOADS; k++) {
    await writeSet(dir, k);
    const report = await iamgate.reload();
    if (!report.ok || report.generation === undefined) throw new Error(`reload ${k} failed: ${report.problems.join('\n')}`);
    setOfGeneration.set(report.generation, k);
  }
  reloading = false;
  await Promise.all(clients);
  await agent.close();
  await iamgate.stop(1000);
  trail = (await readFile(join(dir, 'trail.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TrailRecord);
}, 120_000);

afterAll(async () => {
  await iamgate?.stop(0);
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a reload interleaved with requests', () => {
  it('leaves exactly one decision record per answer, each naming a generation that was installed', () => {
    expect(setOfGeneration.size).toBe(RELOADS + 1);
    expect(answers.length).toBeGreaterThan(RELOADS);
    const decisions = trail.filter((r) => r.kind === 'request');
    expect(decisions.map((r) => r['requestId']).sort()).toEqual(answers.map((a) => a.requestId).sort());
    for (const r of decisions) expect(setOfGeneration.has(r['policyGeneration'] as number)).toBe(true);
  });

  it('decides every request with the directory, routes and policies of the one generation its record names', () => {
    const byId = new Map(answers.map((a) => [a.requestId, a]));
    const wrong: string[] = [];
    for (const r of trail.filter((t) => t.kind === 'request')) {
      const answer = byId.get(r['requestId'] as string)!;
      const k = setOfGeneration.get(r['policyGeneration'] as number)!;
      const { granted, known } = usersOf(k);
      const user = `u${answer.user}`;
      // The directory of set k: only its two users authenticate at all.
      const expected = !known.has(user)
        ? { status: 401, decision: 'Deny', reason: 'principal_unknown', action: undefined }
        : user === granted
          ? { status: 200, decision: 'Allow', reason: 'allowed', action: `items:Gen${k}` }
          : { status: 403, decision: 'Deny', reason: 'implicit_deny', action: `items:Gen${k}` };
      const seen = { status: answer.status, decision: r['decision'], reason: r['reason'], action: r['action'] };
      if (JSON.stringify(seen) !== JSON.stringify(expected)) wrong.push(`${user} under set ${k}: ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('saw every kind of answer while reloading (the check above had something to check)', () => {
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200, 401, 403]));
    expect(new Set(trail.filter((r) => r.kind === 'request').map((r) => r['policyGeneration'])).size).toBeGreaterThan(RELOADS / 2);
  });

  it('writes each load’s record before any decision taken under it', () => {
    const loadedAt = new Map(trail.filter((r) => r.kind === 'policy_reload').map((r) => [r['policyGeneration'] as number, r.seq]));
    expect([...loadedAt.keys()].sort((a, b) => a - b)).toEqual([...setOfGeneration.keys()].sort((a, b) => a - b));
    const early = trail.filter((r) => r.kind === 'request' && r.seq < loadedAt.get(r['policyGeneration'] as number)!);
    expect(early).toEqual([]);
  });
});
