#!/usr/bin/env node
// `npm start`'s first step: compiles src/ into dist/ only when dist/ is missing a file or older
// than its source (or than the build's tsconfig), so a start from a current build takes no
// compile. `npm install` builds once through the `prepare` script.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The first source whose compiled file is missing or older, or undefined when dist/ is current. */
function staleSource() {
  const configs = Math.max(...['tsconfig.json', 'tsconfig.build.json'].map((f) => mtime(join(repo, f)) ?? 0));
  const pending = [join(repo, 'src')];
  while (pending.length > 0) {
    const dir = pending.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = mtime(join(repo, 'dist', relative(join(repo, 'src'), path)).replace(/\.ts$/, '.js'));
        if (built === undefined || built < Math.max(mtime(path) ?? 0, configs)) return relative(repo, path);
      }
    }
  }
  return undefined;
}

const stale = staleSource();
if (stale !== undefined) {
  process.stderr.write(`building dist/ (${stale} is newer than its build)\n`);
  execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.build.json')], { stdio: 'inherit' });
}
