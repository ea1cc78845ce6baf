// The dependency rule of scripts/lint.mjs: the folders of src/ import one another only along the
// table of layers and through each folder's index.ts. Each case lints a copy of the real src/ and
// scripts/ with one change, so the problems it expects are exactly those of the change.
// The pages that draw the layout, docs/architecture.md's table of layers and the README's tables of
// folders and pages, are held to the rule, to src/ and to docs/ as they are.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const copies: string[] = [];

/** A copy of the repository's src/ and scripts/, with `files` written over it (path -> text). */
async function copyWith(files: Readonly<Record<string, string>> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-layers-'));
  copies.push(dir);
  await cp(join(repo, 'src'), join(dir, 'src'), { recursive: true });
  await cp(join(repo, 'scripts'), join(dir, 'scripts'), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

interface LintRun {
  readonly code: number;
  readonly stdout: string;
  /** The problems reported, one a line, without the closing count. */
  readonly problems: readonly string[];
}

/** Runs the copy's scripts/lint.mjs on the copy. */
async function lint(dir: string): Promise<LintRun> {
  try {
    const { stdout } = await run(process.execPath, [join(dir, 'scripts', 'lint.mjs')]);
    return { code: 0, stdout, problems: [] };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    const problems = failed.stderr.split('\n').filter((l) => l !== '' && !/^\d+ lint problem\(s\)$/.test(l));
    return { code: failed.code, stdout: failed.stdout, problems };
  }
}

afterEach(async () => {
  await Promise.all(copies.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the dependency rule of scripts/lint.mjs', () => {
  it('passes the real src/ as it is', async () => {
    const result = await lint(await copyWith());
    expect(result).toEqual({ code: 0, stdout: 'lint: ok\n', problems: [] });
  });

  it('refuses an import from a lower layer into a higher one, naming the file, the line, the import and what the folder may import', async () => {
    const dir = await copyWith({ 'src/audit/leak.ts': "// a report that would reach up into the gateway\nimport type { Gateway } from '../gateway/index.js';\nexport type Leak = Gateway;\n" });
    expect(await lint(dir)).toEqual({
      code: 1,
      stdout: '',
      problems: ["src/audit/leak.ts:2: audit may not import gateway ('../gateway/index.js'); audit may import policy, config, identity (LAYERS in scripts/lint.mjs, docs/architecture.md)"],
    });
  });

  it('keeps the policy core free of every other folder, whichever quotes the import is written with', async () => {
    const dir = await copyWith({ 'src/policy/leak.ts': 'import { parseYamlText } from "../config/yaml.js";\nexport const read = parseYamlText;\n' });
    expect((await lint(dir)).problems).toEqual(["src/policy/leak.ts:1: policy may not import config ('../config/yaml.js'); policy may import no other folder (LAYERS in scripts/lint.mjs, docs/architecture.md)"]);
  });

  it("refuses an import of another folder's module instead of its index.ts, even between layers that may meet", async () => {
    const dir = await copyWith({ 'src/gateway/leak.ts': "import {\n  createStsOperations,\n} from '../auth/sts/operations.js';\nexport const sts = createStsOperations;\n" });
    expect((await lint(dir)).problems).toEqual([
      "src/gateway/leak.ts:3: '../auth/sts/operations.js' reaches into auth's internals: import from src/auth/index.ts, exporting there what is needed (ENTRIES in scripts/lint.mjs)",
    ]);
  });

  it('refuses a static import of a module meant to be loaded lazily, and takes it through import() or import type', async () => {
    const eager = await copyWith({ 'src/cli/leak.ts': "import { createOtlpTracer } from '../trace/otlp.js';\nexport const tracer = createOtlpTracer;\n" });
    expect((await lint(eager)).problems).toEqual(["src/cli/leak.ts:1: '../trace/otlp.js' is loaded lazily: import it with import() or `import type` (ENTRIES in scripts/lint.mjs)"]);

    const lazy = await copyWith({
      'src/cli/leak.ts': "import type { ExtAuthzServer } from '../extauthz/server.js';\nexport const load = async (): Promise<unknown> => (await import('../trace/otlp.js')).createOtlpTracer;\nexport type Server = ExtAuthzServer;\n",
    });
    expect((await lint(lazy)).code).toBe(0);
  });

  it('refuses a folder that has no row in the table of layers', async () => {
    const dir = await copyWith({ 'src/quota/limit.ts': "import type { Principal } from '../identity/index.js';\nexport type Limited = Principal;\n" });
    expect((await lint(dir)).problems).toEqual(['src/quota/limit.ts: src/quota/ has no row in LAYERS (scripts/lint.mjs): say which folders it may import']);
  });

  it('honours a pending exception while its import is there, and asks for it to be deleted once the import is gone', async () => {
    const withPending = async (files: Readonly<Record<string, string>>): Promise<string> => {
      const dir = await copyWith(files);
      const script = join(dir, 'scripts', 'lint.mjs');
      const text = await readFile(script, 'utf8');
      const table = 'const PENDING = [\n';
      expect(text).toContain(table);
      await writeFile(script, text.replace(table, `${table}  { file: 'src/identity/leak.ts', to: 'auth' },\n`));
      return dir;
    };
    const leaking = await withPending({ 'src/identity/leak.ts': "import type { AuthConfig } from '../auth/index.js';\nexport type Leak = AuthConfig;\n" });
    expect((await lint(leaking)).code).toBe(0);

    const fixed = await withPending({ 'src/identity/leak.ts': 'export type Leak = string;\n' });
    expect((await lint(fixed)).problems).toEqual(['scripts/lint.mjs: the pending exception src/identity/leak.ts -> auth is no longer needed: delete it from PENDING']);
  });
});

describe('conflict markers in scripts/lint.mjs', () => {
  it('refuses a document or source file a merge left with conflict markers, naming each marker line', async () => {
    const table = '| a | b |\n<<<<<<< HEAD\n| ours | 1 |\n=======\n| theirs | 2 |\n>>>>>>> topic\n';
    const dir = await copyWith({ 'docs/identity.md': table, 'src/policy/merged.ts': "export const side = 'ours';\n>>>>>>> topic\n" });
    expect((await lint(dir)).problems).toEqual([
      'docs/identity.md:2: a merge conflict left unresolved: <<<<<<< HEAD',
      'docs/identity.md:6: a merge conflict left unresolved: >>>>>>> topic',
      'src/policy/merged.ts:2: a merge conflict left unresolved: >>>>>>> topic',
    ]);
  });

  it('reads a line of seven equals signs as a Markdown heading underline, not a conflict, and fails the run on a marker', async () => {
    const [open, close] = ['<'.repeat(7), '>'.repeat(7)];
    const page = ['# Errors', '', `${open} HEAD`, '| a | 400 |', '=======', '| a | 401 |', `${close} other`, ''].join('\n');
    const dir = await copyWith({ 'docs/errors.md': page, 'docs/headings.md': 'Title\n=======\n\ntext\n' });
    const run = await lint(dir);
    expect(run.problems).toEqual([
      'docs/errors.md:3: a merge conflict left unresolved: <<<<<<< HEAD',
      'docs/errors.md:7: a merge conflict left unresolved: >>>>>>> other',
    ]);
    expect(run.code).toBe(1);
  });

  it('passes the real documents as they are', async () => {
    const dir = await copyWith();
    await cp(join(repo, 'docs'), join(dir, 'docs'), { recursive: true });
    await cp(join(repo, 'README.md'), join(dir, 'README.md'));
    expect((await lint(dir)).problems).toEqual([]);
  });
});

describe('scripts/deps.mjs', () => {
  it('prints each folder -> folder import with the files that make it', async () => {
    const dir = await copyWith({ 'src/audit/leak.ts': "import type { Gateway } from '../gateway/index.js';\nexport type Leak = Gateway;\n" });
    const { stdout } = await run(process.execPath, [join(dir, 'scripts', 'deps.mjs')]);
    const lines = stdout.split('\n');
    const at = lines.indexOf('  audit -> gateway');
    expect(at).toBeGreaterThan(-1);
    expect(lines[at + 1]).toBe('    src/audit/leak.ts (../gateway/index.js)');
    expect(lines.find((l) => l.startsWith('audit -> '))?.split(/, | -> /)).toContain('gateway');
  });
});

describe('the table of layers in docs/architecture.md', () => {
  /** `folder -> folders it may import`, as LAYERS in scripts/lint.mjs writes them. */
  async function layersOfLint(): Promise<Record<string, string[]>> {
    const text = await readFile(join(repo, 'scripts', 'lint.mjs'), 'utf8');
    const block = /const LAYERS = \{\n([\s\S]*?)\n\};/.exec(text)?.[1] ?? '';
    return Object.fromEntries(
      block.split('\n').map((line) => {
        const [, name = '', list = ''] = /^\s+'?([\w-]+)'?: \[([^\]]*)\]/.exec(line) ?? [];
        return [name, [...list.matchAll(/'([\w-]+)'/g)].map((m) => m[1] ?? '')];
      }),
    );
  }

  /** `folder -> folders it may import`, as the page's table says them: a list, `nothing`, `every folder`, or `every folder but X`. */
  async function layersOfPage(folders: readonly string[]): Promise<Record<string, string[]>> {
    const page = await readFile(join(repo, 'docs', 'architecture.md'), 'utf8');
    const rows = page.split('\n').filter((l) => /^\| `[\w-]+` \|/.test(l));
    return Object.fromEntries(
      rows.map((row) => {
        const [name = '', , may = ''] = row.slice(2).split(' | ');
        const folder = name.replaceAll('`', '');
        const others = folders.filter((f) => f !== folder);
        const but = /^every folder but (.*)$/.exec(may)?.[1];
        const list = may === 'nothing' ? [] : may === 'every folder' ? others : but !== undefined ? others.filter((f) => !but.includes(`\`${f}\``)) : may.split(', ');
        return [folder, [...list].sort()];
      }),
    );
  }

  it('says for every folder exactly what LAYERS lets it import', async () => {
    const lint = await layersOfLint();
    const sorted = Object.fromEntries(Object.entries(lint).map(([folder, may]) => [folder, [...may].sort()]));
    expect(Object.keys(sorted)).toContain('policy-testing');
    expect(await layersOfPage(Object.keys(lint))).toEqual(sorted);
  });
});

describe('the logger rule of scripts/lint.mjs', () => {
  it('refuses a pino logger made outside createLogger, whose lines would escape the redaction, and lets types be imported anywhere', async () => {
    const dir = await copyWith({
      'src/gateway/own-logger.ts': "// a logger of its own\nimport { pino } from 'pino';\nexport const own = pino();\n",
      'src/cache/lazy-logger.ts': "export const later = async (): Promise<unknown> => (await import('pino')).pino();\n",
      'src/audit/typed.ts': "import type { Logger } from 'pino';\nexport type Typed = Logger;\n",
    });
    expect((await lint(dir)).problems).toEqual([
      'src/cache/lazy-logger.ts:1: make loggers with createLogger (src/app/logger.ts), which redacts every line; import only types from pino elsewhere',
      'src/gateway/own-logger.ts:2: make loggers with createLogger (src/app/logger.ts), which redacts every line; import only types from pino elsewhere',
    ]);
  });
});

describe("the README's layout table", () => {
  it('has a row for every folder of src/, and none for a folder that is not there', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `src\/([\w-]+)\/` \|/gm)].map((m) => m[1]);
    const folders = (await readdir(join(repo, 'src'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect([...rows].sort()).toEqual(folders.sort());
  });
});

describe("the README's documentation table", () => {
  it('lists every page of docs/, and no page that is not there', async () => {
    const readme = await readFile(join(repo, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| docs\/([\w-]+\.md) \|/gm)].map((m) => m[1]);
    const pages = (await readdir(join(repo, 'docs'))).filter((name) => name.endsWith('.md'));
    expect([...rows].sort()).toEqual(pages.sort());
  });
});
