// Project rules tsc cannot check (see docs/STYLE of the repo's README): the policy engine stays pure,
// no `any`, no bare console output outside the CLI, index.ts files only re-export.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) check(path);
  }
}

function check(path) {
  const rel = relative(root, path);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${rel}:${i + 1}`;
    if (rel.startsWith('src/policy/') && /from '(node:|hono|ioredis|pino|jose|undici)/.test(line)) {
      problems.push(`${where}: src/policy/ must stay pure (no I/O imports): ${line.trim()}`);
    }
    if (!/^\s*(\*|\/\/|\/\*)/.test(line) && /(:\s*any\b|as any\b|<any>)/.test(line)) problems.push(`${where}: no 'any'`);
    if (rel.startsWith('src/') && !rel.startsWith('src/cli/') && /console\.(log|error|warn)\(/.test(line)) {
      problems.push(`${where}: log through pino, not console (only src/cli/ prints)`);
    }
  });
  if (rel.startsWith('src/') && rel.endsWith('/index.ts')) {
    const code = lines.filter((l) => l.trim() && !l.trim().startsWith('//'));
    if (code.some((l) => !/^\s*export (type )?(\*|\{)/.test(l) && !/^\s*[}\w,\s]*$/.test(l))) {
      problems.push(`${rel}: index.ts only re-exports`);
    }
  }
}

walk(join(root, 'src'));
if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} lint problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
