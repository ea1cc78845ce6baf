// Project rules tsc cannot check (see docs/STYLE of the repo's README): the policy engine stays pure,
// no `any`, no bare console output outside the CLI, no logger made but by createLogger, index.ts
// files only re-export, the folders of src/ import one another only along the layers below
// (docs/architecture.md draws them), and no file is left with a merge's conflict markers.
//   node scripts/lint.mjs [ROOT]   ROOT defaults to this repository
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crossFolderImports, sourceFiles } from './imports.mjs';

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const problems = [];

// The layers: for each folder of src/, the folders it may import. Lower layers never import higher
// ones, so each part can be built and tested with only what lies beneath it, and no import cycle
// can form between folders. A folder missing from this table fails lint until it has a row.
const LAYERS = {
  policy: [], // the pure core: the IAM policy language
  errors: [], // the one error table of every front door, and the one body of its answers
  config: ['policy'], // the readers of files iamgate reads; findings are policy's Finding
  trace: ['policy', 'config'],
  identity: ['policy', 'config'], // the directory and the principals callers become
  proxy: ['policy', 'config', 'trace'],
  audit: ['policy', 'config', 'identity'], // the trail knows the record, never who produces it
  cache: ['policy', 'config', 'identity'],
  cluster: ['policy', 'config', 'cache'], // generations and revocations between replicas, on the cache's Redis deadlines
  auth: ['policy', 'errors', 'config', 'identity', 'audit'], // writes its STS outcomes as audit events
  assertion: ['policy', 'errors', 'config', 'identity', 'auth'], // signs with auth's key ring
  gateway: ['policy', 'errors', 'config', 'trace', 'identity', 'proxy', 'audit', 'cache', 'auth', 'assertion'],
  extauthz: ['policy', 'errors', 'config', 'trace', 'identity', 'proxy', 'audit', 'auth', 'gateway'], // a front door on the gateway's pipeline
  'policy-testing': ['policy', 'errors', 'config', 'identity', 'audit', 'auth', 'gateway'], // policy tests, diffs and replays run the gateway's decision path
  demo: [], // the demo upstream of `npm start`
  app: ['policy', 'errors', 'config', 'trace', 'identity', 'proxy', 'audit', 'cache', 'cluster', 'auth', 'assertion', 'gateway', 'extauthz', 'policy-testing', 'demo'], // the composition root
  cli: ['policy', 'errors', 'config', 'trace', 'identity', 'proxy', 'audit', 'cache', 'cluster', 'auth', 'assertion', 'gateway', 'extauthz', 'policy-testing', 'demo', 'app'],
};

// What another folder may import of a folder: its index.ts, plus the modules listed here. `lazy`
// modules may only be loaded with import() (or named by `import type`), so that gRPC and the OTLP
// exporter stay off the start-up path of a gateway that does not use them.
const ENTRIES = {
  config: { open: ['reader.ts', 'yaml.ts', 'findings.ts'] }, // the low-level readers, loadable without the whole configuration loader
  auth: { open: ['authenticators/index.ts'] }, // the authenticator chain the gateway runs, and the shape of its members
  gateway: { open: ['routes/index.ts'] }, // the route map, usable without the HTTP app (validate, policy tests)
  'policy-testing': { open: ['suite.ts'] }, // the suite reader `validate` checks suites with, loadable without the gateway
  extauthz: { open: ['config.ts', 'peer-config.ts'], lazy: ['server.ts'] }, // its section readers, loadable without gRPC
  app: { open: ['version.ts', 'config.ts'] }, // the version and the typed configuration, which the CLI reads without building anything
  trace: { lazy: ['otlp.ts'] },
  demo: { open: ['upstream.ts'] },
};

// Imports that break the rules above and are being removed by work under way, as
// `{ file: 'src/x/y.ts', to: 'folder' }`: the file and the folder it may still import. Lint fails
// when an entry is no longer needed, so the list only shrinks: delete the line when the import is
// gone. Empty today: every import follows the rules.
const PENDING = [
];

/** The problems of one import between folders, by the layer and entry rules. */
function importProblems({ file, line, specifier, target, kind, from, to }) {
  const rule = LAYERS[from];
  const where = `${file}:${line}`;
  if (rule === undefined) return [`${where}: src/${from}/ has no row in LAYERS (scripts/lint.mjs): say which folders it may import`];
  const found = [];
  if (!rule.includes(to)) {
    const may = rule.length ? rule.join(', ') : 'no other folder';
    found.push(`${where}: ${from} may not import ${to} ('${specifier}'); ${from} may import ${may} (LAYERS in scripts/lint.mjs, docs/architecture.md)`);
  }
  const inside = target.slice(`src/${to}/`.length);
  const entries = ENTRIES[to] ?? {};
  const open = inside === 'index.ts' || (entries.open ?? []).includes(inside);
  const lazy = (entries.lazy ?? []).includes(inside);
  if (lazy && kind === 'static') {
    found.push(`${where}: '${specifier}' is loaded lazily: import it with import() or \`import type\` (ENTRIES in scripts/lint.mjs)`);
  } else if (!open && !lazy) {
    found.push(`${where}: '${specifier}' reaches into ${to}'s internals: import from src/${to}/index.ts, exporting there what is needed (ENTRIES in scripts/lint.mjs)`);
  }
  return found;
}

/** Checks every import between folders of src/ against LAYERS, ENTRIES and PENDING. */
function checkLayers() {
  for (const file of sourceFiles(root)) {
    const folder = file.split('/')[1];
    if (file.split('/').length > 2 && LAYERS[folder] === undefined) problems.push(`${file}: src/${folder}/ has no row in LAYERS (scripts/lint.mjs): say which folders it may import`);
  }
  const used = new Set();
  for (const edge of crossFolderImports(root)) {
    if (LAYERS[edge.from] === undefined) continue;
    const found = importProblems(edge);
    if (found.length === 0) continue;
    const pending = PENDING.find((p) => p.file === edge.file && p.to === edge.to);
    if (pending) used.add(pending);
    else problems.push(...found);
  }
  for (const p of PENDING) {
    if (!used.has(p)) problems.push(`scripts/lint.mjs: the pending exception ${p.file} -> ${p.to} is no longer needed: delete it from PENDING`);
  }
}

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
    // Every log line is redacted of credentials where createLogger writes it: a logger made anywhere
    // else would write lines the redaction never sees.
    if (rel.startsWith('src/') && rel !== 'src/app/logger.ts' && (/^\s*import\s+(?!type\b)[^;]*\bfrom\s+['"]pino['"]/.test(line) || /\bimport\(\s*['"]pino['"]\s*\)/.test(line))) {
      problems.push(`${where}: make loggers with createLogger (src/app/logger.ts), which redacts every line; import only types from pino elsewhere`);
    }
  });
  if (rel.startsWith('src/') && rel.endsWith('/index.ts')) {
    const code = lines.filter((l) => l.trim() && !l.trim().startsWith('//'));
    if (code.some((l) => !/^\s*export (type )?(\*|\{)/.test(l) && !/^\s*[}\w,\s]*$/.test(l))) {
      problems.push(`${rel}: index.ts only re-exports`);
    }
  }
}

// Folders of generated or installed files, which a merge never writes into.
const NOT_OURS = new Set(['node_modules', 'dist', 'coverage', '.git']);
const CONFLICT_MARKER = /^(<<<<<<<|>>>>>>>)( |$)/;

/** Names every line that opens or closes a merge conflict, in any text file of the repository. */
function checkConflictMarkers(dir) {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (NOT_OURS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) checkConflictMarkers(path);
    else if (entry.isFile() && /\.(md|ts|mjs|js|json|ya?ml|proto|tpl)$|^Dockerfile$/.test(entry.name)) {
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (CONFLICT_MARKER.test(line)) problems.push(`${relative(root, path)}:${i + 1}: a merge conflict left unresolved: ${line.trim()}`);
        });
    }
  }
}

walk(join(root, 'src'));
checkLayers();
checkConflictMarkers(root);
if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} lint problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
