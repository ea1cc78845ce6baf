// `npm test`'s pretest step (scripts/test-services.mjs), run for real with PATHs that lack the
// programs the suites start. The install path (root on Debian with apt-get) is exercised by
// scripts/fresh-machine-check.sh, which CI runs; here apt-get is kept off PATH or the user is not
// root, so nothing is installed.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '../support/services.js';
import { repoRoot } from './chart.js';

const script = join(repoRoot, 'scripts', 'test-services.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A folder holding links to exactly these programs, to serve as the whole PATH. */
function pathWith(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'iamgate-path-'));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, join(dir, name));
  return dir;
}

function pretest(path: string, uid?: number): { status: number | null; lines: string[] } {
  const run = spawnSync(process.execPath, [script], {
    env: { PATH: path },
    encoding: 'utf8',
    timeout: 15_000,
    ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
  return { status: run.status, lines: run.stderr.split('\n').filter((l) => l !== '') };
}

const root = process.getuid?.() === 0;
const redis = findBinary('redis-server');

describe('the pretest step', () => {
  it('passes silently when every program is on PATH', () => {
    const path = pathWith({ 'redis-server': redis ?? '/bin/true', nginx: findBinary('nginx') ?? '/bin/true', caddy: findBinary('caddy') ?? '/bin/true' });
    expect(pretest(path)).toEqual({ status: 0, lines: [] });
  });

  it('stops with one line naming the install command when the programs are missing and apt-get is not on PATH', () => {
    const result = pretest(pathWith({}));
    expect(result.status).toBe(1);
    expect(result.lines).toEqual(['npm test: the suites need redis-server, nginx and caddy, not on PATH: run sudo apt-get install -y redis-server nginx caddy (or the same from your package manager), then npm test']);
  });

  it.skipIf(!root)('installs nothing for a user who is not root, and says what to run', () => {
    const apt = findBinary('apt-get');
    const result = pretest(pathWith({ ...(apt ? { 'apt-get': apt } : {}), 'redis-server': redis ?? '/bin/true', caddy: findBinary('caddy') ?? '/bin/true' }), 65534);
    expect(result.status).toBe(1);
    expect(result.lines).toEqual([
      existsSync('/usr/sbin/nginx')
        ? 'npm test: nginx installed in /usr/sbin, which is not on PATH: run PATH="$PATH:/usr/sbin" npm test'
        : 'npm test: the suites need nginx, not on PATH: run sudo apt-get install -y nginx (or the same from your package manager), then npm test',
    ]);
  });
});
