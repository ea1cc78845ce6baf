// `iamgate serve --workers 2` without Redis: two processes share the ports, and a caller cannot
// choose which one answers. They must act as one gateway: a revocation made on one worker, and
// policies reloaded through the operations port (which reaches one worker), hold on every worker.
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { metricsPage, metricValue, serve } from '../support/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { tokenFor } from '../audit/served.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
/** `auth.mfa.maxFailures` left at its default. */
const MAX_FAILURES = 5;

/** A directory where alice reads orders (unless `denyAlice`) and may enrol an MFA device, and ops may revoke sessions. */
function directory(denyAlice: boolean): string {
  return [
    'version: 1',
    `account: "${ACCOUNT}"`,
    'partition: aws',
    'users:',
    '  alice:',
    '    inlinePolicies:',
    `      Read: { Version: "2012-10-17", Statement: [{ Effect: ${denyAlice ? 'Deny' : 'Allow'}, Action: "orders:GetOrder", Resource: "*" }] }`,
    '      EnrolOwnDevice: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["iamgate:EnrollMfa", "iamgate:ConfirmMfa"], Resource: "*" }] }',
    '  ops:',
    '    inlinePolicies:',
    '      Revoke: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "iamgate:RevokeSessions", Resource: "*" }] }',
    '',
  ].join('\n');
}

const ROUTES = ['version: 1', 'service: orders', `arnPrefix: "arn:aws:orders:us-east-1:${ACCOUNT}:"`, 'routes:', '  - route: GET /orders/:id', '    action: orders:GetOrder', '    resource: order/${id}', ''].join('\n');

/** One GET on a connection of its own, so the primary hands each to the next worker: its status and the worker that answered. */
function get(port: number, path: string, token: string): Promise<{ status: number; worker: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      // A request id's first 24 characters name the process that drew it.
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-iamgate-request-id'] ?? '').slice(0, 24) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** POSTs JSON to an STS endpoint on a connection of its own: the status and the body. */
function sts(port: number, path: string, token: string, body: unknown): Promise<{ status: number; body: string }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: `/.iamgate/sts/${path}`, method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (out += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: out }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** Asks until both workers have answered, then `extra` more times; every status, and how many workers answered. */
async function fromBothWorkers(server: ServeProcess, token: string, extra = 10): Promise<{ statuses: number[]; workers: number }> {
  const statuses: number[] = [];
  const workers = new Set<string>();
  while (workers.size < 2 && statuses.length < 400) {
    const r = await get(server.gatewayPort, `/orders/${statuses.length}`, token);
    statuses.push(r.status);
    workers.add(r.worker);
  }
  for (let i = 0; i < extra; i++) statuses.push((await get(server.gatewayPort, `/orders/x${i}`, token)).status);
  return { statuses, workers: workers.size };
}

/** Polls until every answer of a round from both workers is `status`, for at most `ms`; the last round. */
async function untilAll(server: ServeProcess, token: string, status: number, ms: number): Promise<{ statuses: number[]; workers: number }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const round = await fromBothWorkers(server, token);
    if (round.statuses.every((s) => s === status) || Date.now() > deadline) return round;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits until at most 10 s of the current 30 s TOTP step have passed. A test's codes are of steps
 * next to its `now` (the previous one to confirm with), accepted while the gateway's clock is at most
 * one step away: begun early in a step, requests a loaded machine slows still land in time.
 */
async function earlyInStep(): Promise<void> {
  while (Date.now() % 30_000 > 10_000) await new Promise((resolve) => setTimeout(resolve, 250));
}

/** The worker processes of a `serve --workers` primary. */
async function workerPids(primary: number): Promise<number[]> {
  return (await readFile(`/proc/${primary}/task/${primary}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
}

/** How many policy loads the workers have recorded on the audit trail (stdout) with this decision. */
function policyLoads(server: ServeProcess, decision: 'Allow' | 'Deny'): number {
  return server.log().split('\n').filter((line) => line.includes('"kind":"policy_reload"') && line.includes(`"decision":"${decision}"`)).length;
}

const readyz = (server: ServeProcess): Promise<number> => fetch(`http://127.0.0.1:${server.opsPort}/readyz`).then((r) => r.status);

describe('serve --workers 2 without Redis', () => {
  let dir: string;
  let config: string;
  let upstream: TestUpstream;
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    dir = await mkdtemp(join(tmpdir(), 'iamgate-workers-'));
    await mkdir(join(dir, 'policies'));
    await writeFile(join(dir, 'policies', 'directory.yaml'), directory(false));
    await writeFile(join(dir, 'policies', 'routes.yaml'), ROUTES);
    config = join(dir, 'iamgate.yaml');
    await writeFile(
      config,
      [
        'version: 1',
        'mode: development',
        `upstream: { url: "${upstream.url}" }`,
        'policies: { directory: policies/directory.yaml, routes: policies/routes.yaml, watch: false }',
        'operations: { operatorEndpoints: true }',
        'auth:',
        '  stateDir: state',
        '  issuers:',
        '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
        '',
      ].join('\n'),
    );
  });

  afterEach(async () => {
    server?.signal('SIGTERM');
    await server?.exit;
    server = undefined;
    await writeFile(join(dir, 'policies', 'directory.yaml'), directory(false));
    // The state folder outlives a restart: each test starts with none of another's revocations, enrolments or lockouts.
    await rm(join(dir, 'state'), { recursive: true, force: true });
  });

  afterAll(async () => {
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a revoked session at every worker, whichever worker revoked it', async () => {
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const alice = await tokenFor(config, 'alice');
    const ops = await tokenFor(config, 'ops');
    const before = await fromBothWorkers(server, alice);
    expect([before.workers, before.statuses.filter((s) => s !== 200)]).toEqual([2, []]);
    const revoked = await server.call('POST', '/.iamgate/sts/RevokeSessions', ops, { PrincipalArn: ALICE });
    expect(revoked.status).toBe(200);
    // Every worker honours it within about a second (docs/identity.md); the deadline only bounds a failure.
    const after = await untilAll(server, alice, 401, 10_000);
    expect([after.workers, after.statuses.filter((s) => s !== 401)]).toEqual([2, []]);
  }, 120_000);

  it('still refuses a revoked session at every worker once the workers and their primary have restarted', async () => {
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const alice = await tokenFor(config, 'alice');
    const ops = await tokenFor(config, 'ops');
    expect((await server.call('POST', '/.iamgate/sts/RevokeSessions', ops, { PrincipalArn: ALICE })).status).toBe(200);
    expect((await untilAll(server, alice, 401, 10_000)).statuses.filter((s) => s !== 401)).toEqual([]);
    server.signal('SIGTERM');
    await server.exit;
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const after = await fromBothWorkers(server, alice);
    expect([after.workers, after.statuses.filter((s) => s !== 401)]).toEqual([2, []]);
  }, 180_000);

  it('counts TOTP failures once across the workers, and locks the user out at every worker', async () => {
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const alice = await tokenFor(config, 'alice');
    const enrolled = await sts(server.gatewayPort, 'mfa/enroll', alice, {});
    const secret = (JSON.parse(enrolled.body) as { SecretBase32: string }).SecretBase32;
    await earlyInStep();
    const now = Math.floor(Date.now() / 1000);
    expect((await sts(server.gatewayPort, 'mfa/confirm', alice, { TokenCode: await generate({ secret, epoch: now - 30 }) })).status).toBe(200);
    // Codes wrong now and in the steps either side; each guess on a connection of its own, so the
    // primary hands them to the two workers in turn.
    const nearby = new Set(await Promise.all([-30, 0, 30].map((d) => generate({ secret, epoch: now + d }))));
    const wrong = Array.from({ length: 4 * MAX_FAILURES }, (_, i) => String(100_000 + i * 7_919)).filter((c) => !nearby.has(c));
    const codes: string[] = [];
    for (const TokenCode of wrong) codes.push((JSON.parse((await sts(server.gatewayPort, 'GetSessionToken', alice, { TokenCode })).body) as { code: string }).code);
    // One budget of mfa.maxFailures for the user, not one per worker.
    expect(codes.filter((c) => c === 'mfa_code_invalid')).toHaveLength(MAX_FAILURES - 1);
    for (let i = 0; i < 2; i++) {
      const right = await sts(server.gatewayPort, 'GetSessionToken', alice, { TokenCode: await generate({ secret }) });
      expect([right.status, (JSON.parse(right.body) as { code: string }).code]).toEqual([429, 'mfa_locked']);
    }
  }, 120_000);

  for (const [what, env] of [
    ['one process', {}],
    ['the workers and their primary', { IAMGATE_WORKERS: '2' }],
  ] as const) {
    it(`refuses a TOTP code already used and keeps counting toward the lockout, which still stands, once ${what} restarted`, async () => {
      const restart = async (): Promise<ServeProcess> => {
        server?.signal('SIGTERM');
        await server?.exit;
        server = undefined;
        return (server = await startServe(config, env, 60_000));
      };
      let running = await restart();
      const alice = await tokenFor(config, 'alice');
      const answer = async (TokenCode: string): Promise<[number, string | undefined]> => {
        const res = await sts(running.gatewayPort, 'GetSessionToken', alice, { TokenCode });
        return [res.status, res.status === 200 ? undefined : (JSON.parse(res.body) as { code: string }).code];
      };
      const enrolled = await sts(running.gatewayPort, 'mfa/enroll', alice, {});
      const secret = (JSON.parse(enrolled.body) as { SecretBase32: string }).SecretBase32;
      await earlyInStep();
      const now = Math.floor(Date.now() / 1000);
      expect((await sts(running.gatewayPort, 'mfa/confirm', alice, { TokenCode: await generate({ secret, epoch: now - 30 }) })).status).toBe(200);
      // The next step's code: accepted now, and still within its window for a minute or more after.
      const used = await generate({ secret, epoch: now + 30 });
      const nearby = new Set(await Promise.all([-30, 0, 30, 60, 90].map((d) => generate({ secret, epoch: now + d }))));
      const wrong = ['100000', '271828', '314159', '577215', '662607', '141421'].filter((c) => !nearby.has(c));
      expect(await answer(used)).toEqual([200, undefined]);
      expect([await answer(wrong[0]!), await answer(wrong[1]!)]).toEqual([
        [403, 'mfa_code_invalid'],
        [403, 'mfa_code_invalid'],
      ]);

      running = await restart();
      // Failures three, four and five of MAX_FAILURES: the two before the restart still count.
      expect([await answer(used), await answer(wrong[2]!), await answer(wrong[3]!)]).toEqual([
        [403, 'mfa_code_replayed'],
        [403, 'mfa_code_invalid'],
        [429, 'mfa_locked'],
      ]);

      running = await restart();
      expect((await answer(await generate({ secret })))).toEqual([429, 'mfa_locked']);
    }, 240_000);
  }

  it('serves policies reloaded through the operations port at every worker', async () => {
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const alice = await tokenFor(config, 'alice');
    expect((await fromBothWorkers(server, alice)).statuses.filter((s) => s !== 200)).toEqual([]);
    await writeFile(join(dir, 'policies', 'directory.yaml'), directory(true));
    const res = await fetch(`http://127.0.0.1:${server.opsPort}/v1/policies/reload`, { method: 'POST' });
    expect(res.status).toBe(200);
    const after = await untilAll(server, alice, 403, 10_000);
    expect([after.workers, after.statuses.filter((s) => s !== 403)]).toEqual([2, []]);
  }, 120_000);

  it('asks a worker that failed to load the policies the other serves to load them again, and is not ready, saying so in its metrics, until it has', async () => {
    server = await startServe(config, { IAMGATE_WORKERS: '2' }, 60_000);
    const running = server;
    const alice = await tokenFor(config, 'alice');
    const [first, second] = await workerPids(running.pid);
    expect([first, second]).toEqual([expect.any(Number), expect.any(Number)]);
    await expect.poll(() => policyLoads(running, 'Allow'), { timeout: 30_000 }).toBe(2);
    // Each worker is told, once it has loaded, that the two serve one set.
    for (let i = 0; i < 4; i++) await expect.poll(async () => metricValue(await metricsPage(running.opsPort), 'iamgate_worker_policy_generations'), { timeout: 30_000 }).toBe(1);
    // The second worker is held while the first loads new policies, and the files are broken
    // before the second gets to load them: its load fails, and it keeps deciding with the old set.
    process.kill(second!, 'SIGSTOP');
    try {
      await writeFile(join(dir, 'policies', 'directory.yaml'), directory(true));
      process.kill(first!, 'SIGHUP');
      await expect.poll(() => policyLoads(running, 'Allow'), { timeout: 30_000 }).toBe(3);
      await writeFile(join(dir, 'policies', 'directory.yaml'), 'users: [');
    } finally {
      process.kill(second!, 'SIGCONT');
    }
    await expect.poll(() => policyLoads(running, 'Deny'), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => readyz(running), { timeout: 30_000 }).toBe(503);
    await expect.poll(async () => metricValue(await metricsPage(running.opsPort), 'iamgate_worker_policy_behind'), { timeout: 30_000 }).toBe(1);
    expect(metricValue(await metricsPage(running.opsPort), 'iamgate_worker_policy_generations')).toBe(2);

    // Once the files are whole again, the primary's next request brings the second worker to the set the first serves.
    await writeFile(join(dir, 'policies', 'directory.yaml'), directory(true));
    await expect.poll(() => readyz(running), { timeout: 60_000 }).toBe(200);
    await expect.poll(async () => metricValue(await metricsPage(running.opsPort), 'iamgate_worker_policy_behind'), { timeout: 30_000 }).toBe(0);
    expect(metricValue(await metricsPage(running.opsPort), 'iamgate_worker_policy_generations')).toBe(1);
    const after = await fromBothWorkers(running, alice);
    expect([after.workers, after.statuses.filter((s) => s !== 403)]).toEqual([2, []]);
    expect(running.log()).toContain(`worker ${second!} does not serve the policies the others loaded`);
  }, 180_000);

  it('exits 1 when its workers cannot start, instead of waiting for them forever', async () => {
    await writeFile(join(dir, 'broken.yaml'), ['version: 1', 'mode: development', 'upstream: { url: "http://127.0.0.1:1" }', 'policies: { directory: policies/missing.yaml, routes: policies/routes.yaml }', 'auth: { stateDir: state }', ''].join('\n'));
    const child = serve(['--config', join(dir, 'broken.yaml')], { env: { IAMGATE_WORKERS: '2', IAMGATE_PORT: '0', IAMGATE_OPS_PORT: '0' } });
    // Bounded so that a primary that waits forever fails the test instead of hanging it.
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 60_000);
    const code = await child.exit;
    clearTimeout(timer);
    expect([code, child.output()]).toEqual([1, expect.stringContaining('missing.yaml')]);
  }, 90_000);
});
