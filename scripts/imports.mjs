// Reads the relative imports of iamgate's TypeScript sources, folder by folder: what the
// dependency rule in lint.mjs checks and what deps.mjs prints.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

// Static imports and re-exports (`import ... from`, `export ... from`, `import '...'`) and
// dynamic `import('...')` with a literal specifier; `import type` counts too, since a type
// dependency ties the folders together just as much.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

/**
 * How an import loads its module: `dynamic` (`import('...')`, loaded when first called), `type`
 * (`import type` / `export type`, erased at compile time) or `static` (loaded with the importer).
 */
function kindOf(matched, before) {
  if (/\bimport\s*\($/.test(matched.replace(/\s*(['"])[^'"]*\1$/, ''))) return 'dynamic';
  // The statement holding a `from` starts at the last `import` / `export` at the start of a line.
  const start = Math.max(before.lastIndexOf('\nimport '), before.lastIndexOf('\nexport '), 0);
  return /^\s*(import|export)\s+type\b/.test(before.slice(start)) ? 'type' : 'static';
}

/** Every .ts file under `dir`, as paths relative to `root` with forward slashes. */
export function sourceFiles(root, dir = join(root, 'src')) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(root, path));
    else if (name.endsWith('.ts')) out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

/** The top folder of a path under src/ (`src/auth/sts/x.ts` -> `auth`), or undefined outside src/. */
export function folderOf(rel) {
  const parts = rel.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

/**
 * The relative imports of one source file: line number, specifier as written, and the file it
 * names relative to the root (`../auth/index.js` from src/gateway/x.ts -> `src/auth/index.ts`).
 */
export function importsOf(root, rel) {
  const text = readFileSync(join(root, rel), 'utf8');
  const found = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[2];
    if (!specifier.startsWith('.')) continue;
    const before = text.slice(0, match.index);
    const line = before.split('\n').length;
    const target = posix.normalize(posix.join(posix.dirname(rel), specifier)).replace(/\.js$/, '.ts');
    found.push({ line, specifier, target, kind: kindOf(match[0], before) });
  }
  return found;
}

/** Every import from one top folder of src/ into another, with the importing file and line. */
export function crossFolderImports(root) {
  const edges = [];
  for (const file of sourceFiles(root)) {
    const from = folderOf(file);
    for (const imp of importsOf(root, file)) {
      const to = folderOf(imp.target);
      if (from !== undefined && to !== undefined && to !== from) edges.push({ file, from, to, ...imp });
    }
  }
  return edges;
}

