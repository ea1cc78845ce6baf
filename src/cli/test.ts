// `iamgate test [DIR|FILE...] [--policies DIR] [--junit FILE]`: runs policy test suites (YAML or
// JSON; policies/tests/ by default) and prints the results like a test runner; exit 1 on failure.
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatFinding, junitReport, loadPolicyWorld, readSuite, runSuites, type PolicyWorld, type TestSuite } from '../policy-testing/index.js';
import type { Finding } from '../config/findings.js';
import { fileErrorReason, printable } from '../config/index.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';

const USAGE = 'usage: iamgate test [DIR|FILE...] [--policies DIR] [--junit FILE]';
const HELP = `Runs the policy test suites (YAML or JSON; policies/tests/ by default; a policy folder stands
for its tests/ folder). A suite is decided by the policy folder above its own folder
(policies/tests/orders.yaml tests policies/), or the one its "policies" key names. Exits 0 when
every case passes; 1 when a case fails, or a suite or the policies do not load; 2 on a usage
error or a suite path it cannot read.

  --policies DIR  the directory, policies and route map to decide every suite with
  --junit FILE    also write the results as JUnit XML`;
const DEFAULT_DIR = 'policies/tests';
const SUITE_FILE = /\.(ya?ml|json)$/;

/** Suite files under a folder (recursively, sorted), or the file itself. */
async function suiteFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const names = await readdir(path, { recursive: true });
  return names
    .filter((name) => SUITE_FILE.test(name))
    .map((name) => join(path, name))
    .sort();
}

/**
 * A policy folder given where suites are expected (`iamgate test policies`, as `validate policies`
 * reads it) stands for its `tests/` folder: its directory, route map and policy documents are what
 * the suites run against, not suites.
 */
async function suitePath(path: string): Promise<string> {
  const isFile = (name: string): Promise<boolean> => stat(join(path, name)).then((s) => s.isFile(), () => false);
  if (!(await stat(path).then((s) => s.isDirectory(), () => false))) return path;
  const markers = await Promise.all(['directory.yaml', 'directory.yml', 'directory.json', 'iamgate.yaml'].map(isFile));
  return markers.some(Boolean) ? join(path, 'tests') : path;
}

/** A suite's problem as one line, its control characters escaped as validate's findings are (a suite comes with a change under review). */
function show(p: Finding): string {
  return printable([p.file ?? '', p.path, p.message].filter((x) => x !== '').join(': '));
}

/** Runs the test command; resolves to the exit code. */
export async function runTest(argv: readonly string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  const paths: string[] = [];
  let junit: string | undefined;
  let policies: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      io.stdout(`${USAGE}\n\n${HELP}`);
      return EXIT.ok;
    }
    if (arg === '--junit' || arg === '--policies') {
      const value = argv[++i];
      if (value === undefined) {
        io.stderr(`iamgate test: ${arg} needs a value\n${USAGE}`);
        return EXIT.usage;
      }
      if (arg === '--junit') junit = value;
      else policies = resolve(value);
    } else if (arg.startsWith('-')) {
      io.stderr(`iamgate test: ${unknownArgument(arg, ['--policies', '--junit', '--help'])}\n${USAGE}`);
      return EXIT.usage;
    } else paths.push(arg);
  }
  // Run from elsewhere than a checkout, the default folder is not there: say so, not just "no such folder".
  const defaulted = paths.length === 0;
  if (defaulted) paths.push(DEFAULT_DIR);

  const files: string[] = [];
  for (const given of paths) {
    const p = await suitePath(given);
    try {
      files.push(...(await suiteFiles(p)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const missing = defaulted
        ? `no such folder in ${process.cwd()} (the default): name the suites, or the policy folder above their tests/ folder (iamgate test DIR)`
        : p === given
          ? 'no such file or folder'
          : `a policy folder without a tests/ folder of suites (no ${p})`;
      io.stderr(`iamgate test: ${given}: ${code === 'ENOENT' ? missing : `cannot read (${fileErrorReason(err)})`}`);
      return EXIT.usage;
    }
  }
  if (files.length === 0) {
    io.stderr(`iamgate test: no test suites (*.yaml, *.yml, *.json) in ${paths.join(', ')}`);
    return EXIT.failed;
  }

  // Every suite is read and checked before any case runs: a malformed suite stops the run.
  const suites: TestSuite[] = [];
  const problems: Finding[] = [];
  for (const file of files) {
    const read = await readSuite(file);
    if (read.ok) suites.push(policies === undefined ? read.suite : { ...read.suite, policies });
    else problems.push(...read.problems);
  }
  if (problems.length > 0) {
    for (const p of problems) io.stderr(show(p));
    io.stderr(`${problems.length} problem(s) in the test suites; no case was run`);
    return EXIT.failed;
  }

  const worlds = new Map<string, PolicyWorld>();
  for (const dir of new Set(suites.map((s) => s.policies))) {
    const load = await loadPolicyWorld(dir);
    if (!load.ok) {
      for (const f of load.findings.filter((x) => x.severity === 'error')) io.stderr(formatFinding(f));
      // Without --policies the folder was found from the suite's place: say how to name another.
      const where = policies === undefined ? ` (a suite is decided by the policy folder above its own folder, or the one its "policies" key names; --policies DIR names another)` : '';
      io.stderr(`${dir}: the policies do not load; no case was run${where}`);
      return EXIT.failed;
    }
    worlds.set(dir, load.world);
  }

  const summary = runSuites(suites, worlds, now());
  let current: string | undefined;
  for (const r of summary.results) {
    if (r.file !== current) {
      current = r.file;
      io.stdout(printable(r.file));
    }
    io.stdout(printable(`  ${r.passed ? '✓' : '✗'} ${r.name}`));
    if (r.passed) continue;
    for (const line of [...r.failures, ...(r.actual?.explanation ?? [])]) io.stdout(printable(`      ${line}`));
  }
  io.stdout(`${summary.results.length} cases: ${summary.passed} passed, ${summary.failed} failed`);
  if (junit !== undefined) await writeFile(junit, junitReport(summary.results));
  return summary.failed === 0 ? EXIT.ok : EXIT.failed;
}
