// A policy change delivered the way the kubelet updates a mounted ConfigMap: the files are
// symbolic links through `..data`, which is switched atomically to a new timestamped folder, and
// the old folder is removed. iamgate must serve the new policies without a restart.
import { mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot } from './chart.js';
import { mintToken, startServe, type ServeProcess } from './serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { until } from '../support/until.js';

const ISSUER = 'https://people.reload.example';

let work = '';
let mount = '';
let server: ServeProcess;
let upstream: Server;
let key: CryptoKey;
let version = 0;

/** The example policies, with the auditors group (bob) granted `groupPolicies`. */
async function policyFiles(groupPolicies: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const directory = await readFile(join(repoRoot, 'policies', 'directory.yaml'), 'utf8');
  const changed = directory.replace(/(auditors:\n\s+policies: )\[[^\]]*\]/, `$1[${groupPolicies}]`);
  if (changed === directory && groupPolicies !== 'OrdersReadOnly') throw new Error('the auditors group was not found');
  files.set('directory.yaml', changed);
  files.set('routes.yaml', await readFile(join(repoRoot, 'policies', 'routes.yaml'), 'utf8'));
  for (const name of await readdir(join(repoRoot, 'policies', 'policies'))) {
    files.set(`policies/${name}`, await readFile(join(repoRoot, 'policies', 'policies', name), 'utf8'));
  }
  return files;
}

/** Writes a new version as the kubelet's atomic writer does, and switches `..data` to it. */
async function publish(files: Map<string, string>): Promise<void> {
  version += 1;
  const folder = `..2026_01_01_00_00_00.${String(version).padStart(9, '0')}`;
  for (const [path, text] of files) {
    await mkdir(join(mount, folder, path, '..'), { recursive: true });
    await writeFile(join(mount, folder, path), text);
  }
  const previous = version > 1 ? `..2026_01_01_00_00_00.${String(version - 1).padStart(9, '0')}` : undefined;
  await symlink(folder, join(mount, '..data_tmp'));
  await rename(join(mount, '..data_tmp'), join(mount, '..data'));
  if (previous === undefined) {
    for (const top of new Set([...files.keys()].map((path) => path.split('/')[0] ?? path))) {
      await symlink(join('..data', top), join(mount, top));
    }
  } else {
    await rm(join(mount, previous), { recursive: true });
  }
}

async function bobReads(): Promise<number> {
  const token = await mintToken({ iss: ISSUER, sub: 'bob', aud: 'iamgate' }, key, 'k1', 'ES256');
  return (await server.call('GET', '/orders/42', token)).status;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'iamgate-configmap-'));
  mount = join(work, 'policies');
  await mkdir(mount);
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] };
  await writeFile(join(work, 'jwks.json'), JSON.stringify(jwks));
  await publish(await policyFiles('OrdersReadOnly'));
  const config = {
    version: 1,
    mode: 'production',
    policies: { directory: join(mount, 'directory.yaml'), routes: join(mount, 'routes.yaml') },
    auth: {
      stateDir: join(work, 'state'),
      issuers: [{ name: 'people', issuer: ISSUER, audiences: ['iamgate'], algorithms: ['ES256'], keyFile: join(work, 'jwks.json') }],
      sts: { enabled: false },
    },
    audit: { sign: false },
  };
  await writeFile(join(work, 'iamgate.yaml'), stringify(config));
  upstream = createServer((_req, res) => res.end('order 42'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server = await startServe(join(work, 'iamgate.yaml'), { IAMGATE_UPSTREAM: `http://127.0.0.1:${port}` });
}, CHILD_PROCESS_TEST_MS);

afterAll(async () => {
  server?.kill();
  upstream?.close();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('a ConfigMap update of the policies, as the kubelet makes it', () => {
  it('starts with bob allowed to read', async () => {
    expect(await bobReads()).toBe(200);
  });

  it('is picked up without a signal (the policy folders are watched)', async () => {
    await publish(await policyFiles(''));
    await until('bob is refused', async () => (await bobReads()) === 403, 5_000);
  });

  it('is read through the switched ..data link on SIGHUP, and the next one too', async () => {
    await publish(await policyFiles(''));
    server.signal('SIGHUP');
    await until('bob is refused', async () => (await bobReads()) === 403, 10_000);
    await publish(await policyFiles('OrdersReadOnly'));
    server.signal('SIGHUP');
    await until('bob reads', async () => (await bobReads()) === 200, 10_000);
  });
});
