// What `iamgate test`, diff and replay decide offline against what the gateway answers: for
// generated policy versions loaded into a real gateway, every directory user sends every route of
// the route map over real HTTP (with and without a query), with and without a second factor, and the offline decision of the
// same request (through the same route map, from the same address) must be the gateway's answer.
// The seed is printed; IAMGATE_PROPERTY_SEED replays a run.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideOffline, loadPolicyWorld, matrixColumns, resolvePrincipal } from '../../src/policy-testing/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { version, writePolicyFolder } from './generated.js';

const SEED = Number(process.env['IAMGATE_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const USERS = ['alice', 'bob', 'carol'];

let dir = '';
let gw: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-offline-gateway-'));
  await writePolicyFolder(dir, fc.sample(version, { seed: SEED, numRuns: 1 })[0]!);
  // Reloads only when the property asks, after it wrote the next version.
  gw = await startTestGateway({ files: { directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml') }, config: { policies: { watch: false } } });
});

afterAll(async () => {
  await gw?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('offline decisions against the gateway', () => {
  it('decide every user, route and second factor as the gateway answers it over HTTP', async () => {
    console.log(`offline-vs-gateway seed ${SEED} (IAMGATE_PROPERTY_SEED=${SEED} replays it)`);
    await fc.assert(
      fc.asyncProperty(version, async (v) => {
        await writePolicyFolder(dir, v);
        expect((await gw.gateway.reload()).ok).toBe(true);
        const loaded = await loadPolicyWorld(dir);
        if (!loaded.ok) throw new Error(`generated folder does not load: ${JSON.stringify(loaded.findings)}`);
        const world = loaded.world;
        // A route's query key (orders:Status) is read too: each route with and without a query.
        const requests = matrixColumns(world).flatMap((c) => ('method' in c.request ? [c.request, { ...c.request, path: `${c.request.path}?status=open` }] : []));
        for (const { method, path } of requests) {
          for (const user of USERS) {
            for (const mfa of [false, true]) {
              const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: await gw.bearer(user, { mfa }) }, ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}) });
              const body = await res.text();
              const now = Date.now();
              const principal = resolvePrincipal(world, { user, mfa }, now);
              const offline = principal ? decideOffline(world, principal, { method, path }, {}, now) : undefined;
              const where = `${user}${mfa ? ' with MFA' : ''} ${method} ${path}: gateway ${res.status} ${body.slice(0, 200)}, offline ${offline?.decision} ${offline?.reason}`;
              expect(res.status === 200, where).toBe(offline?.decision === 'Allow');
              if (res.status === 403) expect((JSON.parse(body) as { reason?: string }).reason, where).toBe(offline?.reason);
            }
          }
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  }, 120_000);
});
