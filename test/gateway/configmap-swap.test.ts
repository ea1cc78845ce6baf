// A Kubernetes ConfigMap update replaces the whole folder at once: the kubelet writes a new
// `..<timestamp>` folder and switches the `..data` link to it, and each file is a link through
// `..data`. A load that reads the directory, its policy files and the route map one after another
// must read them all from one version, even when the link is switched between two of its reads:
// a directory of one version with the routes of another is a set no one wrote.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, symlink, rename, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyLoader } from '../../src/gateway/index.js';
import { createTestKeys, testAuthenticator, type TestKeys } from '../support/tokens.js';

const ACCOUNT = '111122223333';

/** Writes version `v` into its own folder: a user, a policy file and a route, each naming `v`. */
async function writeVersion(root: string, v: number): Promise<string> {
  const folder = join(root, `..v${v}`);
  await mkdir(join(folder, 'policies'), { recursive: true });
  await writeFile(join(folder, 'policies', 'p.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: `V${v}`, Effect: 'Allow', Action: `items:V${v}`, Resource: '*' }] }));
  await writeFile(join(folder, 'directory.yaml'), ['version: 1', `account: "${ACCOUNT}"`, 'partition: aws', 'policies:', '  P: { file: policies/p.json }', 'users:', `  u${v}: { policies: [P] }`, ''].join('\n'));
  await writeFile(join(folder, 'routes.yaml'), ['version: 1', 'service: items', `arnPrefix: "arn:aws:items:us-east-1:${ACCOUNT}:"`, 'routes:', '  - route: GET /x', `    action: items:V${v}`, '    resource: x', ''].join('\n'));
  // A shadow candidate in the same ConfigMap, its user naming the version too.
  await mkdir(join(folder, 'shadow', 'policies'), { recursive: true });
  await writeFile(join(folder, 'shadow', 'policies', 'p.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }));
  await writeFile(join(folder, 'shadow', 'directory.yaml'), ['version: 1', `account: "${ACCOUNT}"`, 'partition: aws', 'policies:', '  P: { file: policies/p.json }', 'users:', `  u${v}: { policies: [P] }`, ''].join('\n'));
  return `..v${v}`;
}

/**
 * Switches `..data` between the versions given, as the kubelet does, until killed (says
 * `switching` once started): in bursts as fast as it can, a millisecond each, with a millisecond
 * between them. Another process, so that a switch can fall between any two file system calls of
 * a load, synchronous ones included.
 */
const SWITCHER = `
const { symlinkSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const [root, ...versions] = process.argv.slice(1);
const pause = new Int32Array(new SharedArrayBuffer(4));
process.stdout.write('switching\\n');
for (let n = 1; ; n++) {
  symlinkSync(versions[n % versions.length], join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  if (n % 20 === 0) Atomics.wait(pause, 0, 0, 1);
}
`;

/** Switches `..data` to `target` as the kubelet does: a new link renamed over the old one. */
async function switchData(root: string, target: string): Promise<void> {
  await symlink(target, join(root, '..data_tmp'));
  await rename(join(root, '..data_tmp'), join(root, '..data'));
}

describe('a policy load while the ConfigMap link is switched', () => {
  let root: string;
  let keys: TestKeys;
  const versions: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iamgate-configmap-'));
    keys = await createTestKeys();
    for (const v of [1, 2]) versions.push(await writeVersion(root, v));
    await switchData(root, versions[0]!);
    for (const name of ['directory.yaml', 'routes.yaml', 'policies', 'shadow']) await symlink(join('..data', name), join(root, name));
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('reads the directory, its policy files and the routes from one version, however the switches fall', async () => {
    const load = createPolicyLoader({ directory: join(root, 'directory.yaml'), routes: join(root, 'routes.yaml') }, (_d, resolver) => testAuthenticator(keys, resolver));
    const mixed: string[] = [];
    let loads = 0;
    let switching = true;
    // Switches back and forth as fast as the event loop lets it, between any two reads of a load.
    const switcher = (async () => {
      for (let n = 1; switching; n++) await switchData(root, versions[n % 2]!);
    })();
    for (let i = 0; i < 300; i++) {
      const loaded = await load();
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.findings));
      loads++;
      const directory = loaded.snapshot.resolver!.directory;
      const user = [...directory.users.keys()][0]!.slice(1);
      const policy = JSON.stringify(directory.policies.get('P')!.document).match(/"Sid":"V(\d)"/)![1]!;
      const route = loaded.snapshot.routes.match('GET', ['x'], '/x')!.action.slice('items:V'.length);
      if (user !== policy || user !== route) mixed.push(`directory V${user}, policy V${policy}, routes V${route}`);
    }
    switching = false;
    await switcher;
    expect(loads).toBe(300);
    expect(mixed).toEqual([]);
  });

  it('reads the shadow candidate from the version of the live set beside it, or refuses the load while the switches go on', async () => {
    const load = createPolicyLoader({ directory: join(root, 'directory.yaml'), routes: join(root, 'routes.yaml'), shadow: join(root, 'shadow') }, (_d, resolver) => testAuthenticator(keys, resolver));
    const mixed: string[] = [];
    const refusals = new Set<string>();
    let loads = 0;
    const switcher = spawn(process.execPath, ['-e', SWITCHER, root, ...versions], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(switcher.stdout, 'data');
      for (let i = 0; i < 300; i++) {
        const loaded = await load();
        if (!loaded.ok) {
          for (const f of loaded.findings) refusals.add(f.message);
          continue;
        }
        loads++;
        const user = [...loaded.snapshot.resolver!.directory.users.keys()][0]!.slice(1);
        const shadow = /\.\.v(\d)/.exec(loaded.snapshot.shadow!.source)![1]!;
        if (user !== shadow) mixed.push(`directory V${user}, shadow V${shadow}`);
      }
    } finally {
      switcher.kill();
      await once(switcher, 'exit');
    }
    expect(mixed).toEqual([]);
    expect([...refusals].filter((m) => m !== 'the mounted ConfigMap kept switching versions while its files were resolved')).toEqual([]);
    expect(loads).toBeGreaterThan(0);
  });
});
