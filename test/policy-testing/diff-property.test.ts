// The access diff against brute force: for generated pairs of policy sets on the example
// directory and route map, every principal, every route, with and without a second factor and
// from several source addresses is decided under both sets through the gateway's own offline
// decision; every request whose decision changes must show in the diff, a change that only some
// contexts see must show as conditional, and a cell whose decisions all agree without conditions
// must not show at all. The seed is printed; IAMGATE_PROPERTY_SEED replays a run.
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decideOffline, diffAccess, loadPolicyWorld, matrixColumns, matrixPrincipals, resolvePrincipal, type PolicyWorld } from '../../src/policy-testing/index.js';
import { pair, writePolicyFolder, type Version } from './generated.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const SEED = Number(process.env['IAMGATE_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const SOURCES = ['127.0.0.1', '10.1.2.3', '192.168.7.7'];

const root = await mkdtemp(join(tmpdir(), 'iamgate-diff-property-'));
let folders = 0;
afterAll(() => rm(root, { recursive: true, force: true }));

async function world(v: Version): Promise<PolicyWorld> {
  const dir = join(root, String(folders++));
  await writePolicyFolder(dir, v);
  const loaded = await loadPolicyWorld(dir);
  if (!loaded.ok) throw new Error(`generated folder does not load: ${JSON.stringify(loaded.findings)}`);
  return loaded.world;
}

/** Every probe's decision (Allow or not) for one principal and column, as the gateway decides it. */
function probes(w: PolicyWorld, spec: { user?: string; role?: string }, column: ReturnType<typeof matrixColumns>[number]): boolean[] {
  const out: boolean[] = [];
  for (const mfa of [false, true]) {
    const principal = resolvePrincipal(w, { ...spec, mfa }, NOW);
    for (const ip of SOURCES) {
      out.push(principal !== undefined && decideOffline(w, principal, column.request, { 'aws:SourceIp': ip }, NOW).decision === 'Allow');
    }
  }
  return out;
}

describe('iamgate diff against brute force', () => {
  it('reports every principal and route whose decision changes, conditional changes as conditional, and no unconditional cell that did not change', async () => {
    console.log(`diff property seed ${SEED} (IAMGATE_PROPERTY_SEED=${SEED} replays it)`);
    await fc.assert(
      fc.asyncProperty(pair, async ([a, b]) => {
        const [before, after] = [await world(a), await world(b)];
        const diff = diffAccess(before, after, NOW);
        const reported = new Map(diff.changes.map((c) => [`${c.principal}\u0000${c.column}`, c]));
        for (const p of matrixPrincipals(before)) {
          for (const column of matrixColumns(before).filter((c) => 'method' in c.request)) {
            const [old, neu] = [probes(before, p.spec, column), probes(after, p.spec, column)];
            const change = reported.get(`${p.label}\u0000${column.label}`);
            const where = `${p.label} ${column.label}: before ${old.join()} after ${neu.join()}`;
            const differs = old.some((x, i) => x !== neu[i]);
            if (differs) expect(change, `unreported change, ${where}`).toBeDefined();
            // Changed in some context, not at the default one (no MFA, loopback): shown as conditional.
            if (differs && old[0] === neu[0]) {
              const conditional = change?.before.access === 'conditional' || change?.after.access === 'conditional' || (change?.before.keys.length ?? 0) + (change?.after.keys.length ?? 0) > 0;
              expect(conditional, `a context-dependent change not shown as conditional, ${where}`).toBe(true);
            }
            if (change && change.before.keys.length === 0 && change.after.keys.length === 0 && change.before.access !== 'conditional' && change.after.access !== 'conditional') {
              expect(old[0] !== neu[0], `an unconditional change reported where the decision did not change, ${where}`).toBe(true);
            }
          }
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  }, 120_000);
});
