#!/usr/bin/env node
// `npm test`'s pretest step: makes sure the programs the suites start are there before vitest
// runs, so a missing one is one clear line instead of a timeout in every suite.
//
// A program counts as present when it is on PATH. When one is missing and this runs as root on
// Debian with apt-get on PATH, its package is installed (noninteractive, quiet, waiting for the
// dpkg lock) and the installed binary is located through dpkg, which also serves a PATH that
// lacks /usr/sbin; where it was found is written to node_modules/.cache/iamgate-test/services.json
// for test/support/services.ts. Otherwise it stops at once with one line naming the command to
// run. It never removes or upgrades anything already installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each program the suites start, and the Debian package that ships it. */
const SERVICES = [
  { binary: 'redis-server', pkg: 'redis-server' },
  { binary: 'nginx', pkg: 'nginx' },
  { binary: 'caddy', pkg: 'caddy' },
];

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const record = join(repo, 'node_modules', '.cache', 'iamgate-test', 'services.json');

/** The program's path on PATH, or undefined. */
function onPath(binary) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder: try the next one
    }
  }
  return undefined;
}

/** Where dpkg says a package put the program, or undefined. */
function fromPackage(pkg, binary) {
  const dpkgQuery = onPath('dpkg-query');
  if (!dpkgQuery) return undefined;
  const run = spawnSync(dpkgQuery, ['-L', pkg], { encoding: 'utf8' });
  if (run.status !== 0) return undefined;
  return run.stdout.split('\n').find((line) => /\/s?bin\//.test(line) && line.endsWith(`/${binary}`) && existsSync(line));
}

function stop(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

const missing = SERVICES.filter((s) => !onPath(s.binary));
if (missing.length === 0) process.exit(0);

const binaries = missing.map((s) => s.binary);
const names = binaries.length > 1 ? `${binaries.slice(0, -1).join(', ')} and ${binaries.at(-1)}` : binaries[0];
const pkgs = missing.map((s) => s.pkg).join(' ');
const apt = onPath('apt-get');
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root || !apt || !existsSync('/etc/debian_version')) {
  const hidden = missing.filter((s) => ['/usr/sbin', '/sbin'].some((d) => existsSync(join(d, s.binary))));
  if (hidden.length === missing.length) stop(`npm test: ${names} installed in /usr/sbin, which is not on PATH: run PATH="$PATH:/usr/sbin" npm test`);
  stop(`npm test: the suites need ${names}, not on PATH: run sudo apt-get install -y ${pkgs} (or the same from your package manager), then npm test`);
}

process.stderr.write(`npm test: installing ${pkgs} with apt-get (the suites start them)\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const lock = ['-o', 'DPkg::Lock::Timeout=600'];
try {
  execFileSync(apt, [...lock, 'update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(apt, [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing.map((s) => s.pkg)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
} catch {
  stop(`npm test: apt-get could not install ${pkgs}: run apt-get install -y ${pkgs} and read its output`);
}

const found = {};
for (const s of missing) {
  const path = onPath(s.binary) ?? fromPackage(s.pkg, s.binary);
  if (!path) stop(`npm test: apt-get installed ${s.pkg} but no ${s.binary} binary was found in it`);
  found[s.binary] = path;
}
mkdirSync(dirname(record), { recursive: true });
writeFileSync(record, `${JSON.stringify(found, null, 2)}\n`);
