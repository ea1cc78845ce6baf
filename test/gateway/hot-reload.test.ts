// Policy files edited on disk are served without a signal: the gateway watches their folders and
// reloads through the same path as SIGHUP — a broken file leaves the last good set serving, with
// the reason (file and JSON path) on /readyz and the failure counted; fixing it makes it whole again.
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/until.js';

const ORDERS = 'arn:aws:orders:us-east-1:111122223333:order/*';

const DIRECTORY = `version: 1
account: "111122223333"
partition: aws
policies:
  Orders:
    file: policies/orders.json
users:
  alice:
    policies: [Orders]
`;

function policy(effect: string, action: string): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Orders', Effect: effect, Action: action, Resource: ORDERS }] }, null, 2);
}

let dir = '';
let policyFile = '';
let gw: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-hot-reload-'));
  await mkdir(join(dir, 'policies'));
  policyFile = join(dir, 'policies', 'orders.json');
  await writeFile(policyFile, policy('Allow', 'orders:GetOrder'));
  await writeFile(join(dir, 'directory.yaml'), DIRECTORY);
  await copyFile(FIXTURES.routes, join(dir, 'routes.yaml'));
  gw = await startTestGateway({ files: { directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml') } });
});

afterAll(async () => {
  await gw?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/**
 * Writes `text` beside `path` and renames it into place, as an editor or a ConfigMap update does: one
 * change the watch sees once. A write in place is two (truncate, then write), which a loaded machine
 * can space past the watch's quiet time, so one edit would count as two reloads.
 */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.next`, text);
  await rename(`${path}.next`, path);
}

const aliceGetsOrder = (): Promise<number> => gw.statusOfGet('alice', '/orders/1');

interface Readyz {
  ready: boolean;
  reasons: string[];
}

async function readyz(): Promise<Readyz> {
  return (await (await request(`${gw.opsUrl}/readyz`)).body.json()) as Readyz;
}

async function reloads(result: 'success' | 'failure'): Promise<number> {
  const text = await (await request(`${gw.opsUrl}/metrics`)).body.text();
  const m = new RegExp(`^iamgate_policy_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('policy files watched on disk', () => {
  it('serves a policy file edited in place without a signal', async () => {
    expect(await aliceGetsOrder()).toBe(200);
    await replaceFile(policyFile, policy('Deny', 'orders:GetOrder'));
    await until('alice is refused her order', async () => (await aliceGetsOrder()) === 403, 5_000);
  });

  it('serves a policy file replaced by a rename, as editors save', async () => {
    const next = join(dir, 'policies', 'orders.json.tmp');
    await writeFile(next, policy('Allow', 'orders:GetOrder'));
    await rename(next, policyFile);
    await until('alice gets her order', async () => (await aliceGetsOrder()) === 200, 5_000);
  });

  it('keeps the last good set serving when a file breaks, says why on /readyz and in metrics, and recovers when it is fixed', async () => {
    expect(await aliceGetsOrder()).toBe(200);
    const failuresBefore = await reloads('failure');
    await replaceFile(policyFile, policy('Permit', 'orders:GetOrder'));

    await until('readyz gives a reason', async () => (await readyz()).reasons.length > 0, 5_000);
    const broken = await readyz();
    expect(broken.ready).toBe(true); // the last good set still serves
    expect(broken.reasons.join('\n')).toContain(policyFile);
    expect(broken.reasons.join('\n')).toMatch(/Statement\[0\]\.Effect/);
    expect(await reloads('failure')).toBeGreaterThan(failuresBefore);
    expect(await aliceGetsOrder()).toBe(200);

    await replaceFile(policyFile, policy('Deny', 'orders:GetOrder'));
    await until('alice is refused her order', async () => (await aliceGetsOrder()) === 403, 5_000);
    expect(await readyz()).toMatchObject({ ready: true, reasons: [] });
  });

  it('sees a policy folder deleted, keeping the last good set, and the folder made again with a changed policy', async () => {
    await replaceFile(policyFile, policy('Allow', 'orders:GetOrder'));
    await until('alice gets her order', async () => (await aliceGetsOrder()) === 200, 5_000);
    await rm(join(dir, 'policies'), { recursive: true });
    await until('readyz names the missing policy file', async () => (await readyz()).reasons.join('\n').includes(`cannot read ${policyFile}: no such file or folder`), 5_000);
    expect(await aliceGetsOrder()).toBe(200);

    // A new folder (a new inode): a watch kept on the deleted one would never see it.
    await mkdir(join(dir, 'policies.next'));
    await writeFile(join(dir, 'policies.next', 'orders.json'), policy('Deny', 'orders:GetOrder'));
    await rename(join(dir, 'policies.next'), join(dir, 'policies'));
    await until('alice is refused her order', async () => (await aliceGetsOrder()) === 403, 5_000);
    expect(await readyz()).toMatchObject({ ready: true, reasons: [] });
  });

  // Deleted and made again within the watch's quiet time, the folder is already back when the
  // reload runs: a watch kept on the deleted one (same path, new folder) would see no later change.
  it('sees later changes in a policy folder deleted and made again before the reload runs', async () => {
    expect(await aliceGetsOrder()).toBe(403);
    await rm(join(dir, 'policies'), { recursive: true });
    await mkdir(join(dir, 'policies'));
    await writeFile(policyFile, policy('Allow', 'orders:GetOrder'));
    await until('alice gets her order', async () => (await aliceGetsOrder()) === 200, 5_000);

    await replaceFile(policyFile, policy('Deny', 'orders:GetOrder'));
    await until('alice is refused her order', async () => (await aliceGetsOrder()) === 403, 5_000);
  });

  it('ignores other files in the watched folders', async () => {
    const successes = await reloads('success');
    await writeFile(join(dir, 'notes.txt'), 'not a policy file');
    await new Promise((r) => setTimeout(r, 500)); // longer than the watch's quiet time: a reload it caused would be a separate one
    await replaceFile(policyFile, policy('Allow', 'orders:GetOrder'));
    await until('alice gets her order', async () => (await aliceGetsOrder()) === 200, 5_000);
    expect(await reloads('success')).toBe(successes + 1);
  });
});
