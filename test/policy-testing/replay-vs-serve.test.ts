// `iamgate replay TRAIL --policies NEW` against a serve running on NEW: two `iamgate serve`
// processes, one on a generated OLD policy version writing its audit trail to a file and one on
// NEW, get the same requests over real HTTP (every directory user on every route, with and
// without a second factor; no query, which a record does not keep). Replaying OLD's trail under NEW must decide each
// recorded request as the serve on NEW answered it: the decision, and a denial's reason.
// The versions come from a printed seed; IAMGATE_PROPERTY_SEED replays a run.
import fc from 'fast-check';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayReport } from '../../src/policy-testing/index.js';
import { tokenFor } from '../audit/served.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { useTempDir } from '../support/serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { iamgate } from './cli.js';
import { pair, writePolicyFolder } from './generated.js';

const SEED = Number(process.env['IAMGATE_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const PAIRS = 4;
const USERS = ['alice', 'bob', 'carol'];
const REQUESTS: readonly [method: string, path: string][] = [
  ['GET', '/orders'],
  ['POST', '/orders'],
  ['GET', '/orders/example'],
  ['PUT', '/orders/example'],
  ['DELETE', '/orders/example'],
];

const tempDir = useTempDir('iamgate-replay-serve-');
let upstream: TestUpstream;
const sides: { name: 'old' | 'new'; folder: string; config: string; serve?: ServeProcess }[] = [];
const tokens = new Map<string, string>();

async function configFor(dir: string, folder: string): Promise<string> {
  const config = join(dir, 'iamgate.yaml');
  await writeFile(
    config,
    [
      'version: 1',
      'mode: development',
      'listen: { host: 127.0.0.1, port: 0 }',
      'operations: { host: 127.0.0.1, port: 0, operatorEndpoints: true }',
      `upstream: { url: "${upstream.url}" }`,
      `policies: { directory: "${join(folder, 'directory.yaml')}", routes: "${join(folder, 'routes.yaml')}", watch: false }`,
      'audit:',
      '  sink: file',
      '  file: { path: trail.jsonl }',
      'auth:',
      '  stateDir: state',
      '  issuers:',
      // One development key for both sides: a token minted once is valid at either serve.
      `    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: "${join(tempDir(), 'dev-key.json')}", developmentKey: true, claims: { amrMfa: true } }`,
      '',
    ].join('\n'),
  );
  return config;
}

// Two serve processes start one after the other, each within its own child-process allowance.
beforeAll(async () => {
  upstream = await startTestUpstream();
  const [first] = fc.sample(pair, { seed: SEED, numRuns: 1 }) as [[Parameters<typeof writePolicyFolder>[1], Parameters<typeof writePolicyFolder>[1]]];
  for (const [i, name] of (['old', 'new'] as const).entries()) {
    const dir = join(tempDir(), name);
    const folder = join(dir, 'policies');
    await mkdir(dir, { recursive: true });
    await writePolicyFolder(folder, first[i]!);
    sides.push({ name, folder, config: await configFor(dir, folder) });
  }
  for (const side of sides) side.serve = await startServe(side.config, {});
  for (const user of USERS) {
    tokens.set(user, await tokenFor(sides[0]!.config, user));
    tokens.set(`${user} mfa`, await mfaToken(user));
  }
}, CHILD_PROCESS_TEST_MS * 2);

/** A token that says a second factor was used, from `iamgate token USER --mfa`. */
async function mfaToken(user: string): Promise<string> {
  const run = await iamgate('token', user, '--mfa', '--config', sides[0]!.config);
  if (run.code !== 0) throw new Error(run.err.join('\n'));
  return run.out.join('').trim();
}

afterAll(async () => {
  for (const side of sides) {
    side.serve?.kill();
    await side.serve?.exit;
  }
  await upstream?.close();
});

interface Answered {
  readonly requestId: string;
  readonly allowed: boolean;
  readonly reason: string;
}

async function send(serve: ServeProcess, method: string, path: string, token: string): Promise<Answered> {
  const res = await fetch(`http://127.0.0.1:${serve.gatewayPort}${path}`, { method, headers: { authorization: `Bearer ${token}` }, ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}) });
  const body = await res.text();
  const reason = res.status === 200 ? 'allowed' : ((JSON.parse(body) as { reason?: string }).reason ?? `status ${res.status}`);
  return { requestId: res.headers.get('x-iamgate-request-id') ?? '', allowed: res.status === 200, reason };
}

describe('iamgate replay against a serve on the candidate', () => {
  it('decides every recorded request as the serve on NEW answers the same request', async () => {
    console.log(`replay-vs-serve seed ${SEED} (IAMGATE_PROPERTY_SEED=${SEED} replays it)`);
    const pairs = fc.sample(pair, { seed: SEED, numRuns: PAIRS });
    for (const [n, [oldVersion, newVersion]] of pairs.entries()) {
      for (const [side, version] of [[sides[0]!, oldVersion], [sides[1]!, newVersion]] as const) {
        if (n > 0) {
          await writePolicyFolder(side.folder, version);
          const reload = await fetch(`http://127.0.0.1:${side.serve!.opsPort}/v1/policies/reload`, { method: 'POST' });
          expect(reload.status, await reload.text()).toBe(200);
        }
      }
      const expected = new Map<string, { what: string; old: Answered; neu: Answered }>();
      for (const user of USERS) {
        for (const mfa of [false, true]) {
          const token = tokens.get(mfa ? `${user} mfa` : user)!;
          for (const [method, path] of REQUESTS) {
            const old = await send(sides[0]!.serve!, method, path, token);
            const neu = await send(sides[1]!.serve!, method, path, token);
            expected.set(old.requestId, { what: `pair ${n}: ${user}${mfa ? ' with MFA' : ''} ${method} ${path}`, old, neu });
          }
        }
      }
      const run = await iamgate('replay', join(tempDir(), 'old', 'trail.jsonl'), '--policies', sides[1]!.folder, '--json');
      const report = JSON.parse(run.out[0] as string) as ReplayReport;
      const changed = new Map(report.changes.map((c) => [c.requestId ?? '', c]));
      for (const [requestId, e] of expected) {
        const change = changed.get(requestId);
        const replayed = change ? { allowed: change.after.decision === 'Allow', reason: change.after.reason } : { allowed: e.old.allowed, reason: e.old.reason };
        // A replay that says what it could not know is an approximation, as documented.
        if (change && change.missing.length > 0) continue;
        const where = `${e.what}: old serve ${e.old.reason}, new serve ${e.neu.reason}, replay ${replayed.reason}${change ? ` (missing: ${change.missing.join(', ') || 'nothing'})` : ''}`;
        expect(replayed.allowed, where).toBe(e.neu.allowed);
        if (!e.neu.allowed) expect(replayed.reason, where).toBe(e.neu.reason);
      }
    }
  }, CHILD_PROCESS_TEST_MS * 2);
});
