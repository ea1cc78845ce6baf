// `iamgate validate PATH...`: reads policy documents (and the other file kinds registered in
// file-kinds.ts) from files and folders, prints every finding with file, JSON path and reason,
// and exits 1 when any finding is an error.
import { readdir, stat } from 'node:fs/promises';
import { knownFileReason, readTextFile } from '../config/index.js';
import { extname, join, resolve } from 'node:path';
import { didYouMean, givenTwice, readJsonText, type PolicyKind, type Severity } from '../policy/index.js';
import { finding, formatFinding, type Finding, type FindingCode } from '../config/findings.js';
import { inexactNumberReason, parseYamlText } from '../config/yaml.js';
import { EXIT, unknownArgument } from './exit.js';
import { FILE_KINDS, kindOfFile, type FileKind, type FileValidatorOptions } from './file-kinds.js';
import type { CliIo } from './io.js';

const USAGE = 'usage: iamgate validate [--json] [--kind KIND] PATH...';
const HELP = `${USAGE}

Checks iamgate's files (.json, .yaml, .yml) in the given files and folders (folders are searched
recursively): IAM policy documents, the directory, the route map, the configuration and policy
test suites. A file's kind is told by its name (directory, routes, iamgate) or else by its content. Validating a
configuration also validates the directory, its policy files and the route map it names (or
directory.yaml and routes.yaml beside it), once the configuration's own keys have no error.
Prints one line per finding:
  FILE: SEVERITY CODE at JSON.PATH: MESSAGE
then a summary. Severities: error, security, warning, suggestion. A file it cannot tell the kind
of is an error (name it with --kind). Exits 1 when any finding is an error, 0 otherwise, 2 on a
usage error.

  --json         one JSON object per finding, then {"summary": {...}}
  --kind KIND    read every file as this kind: directory, routes, config, "policy test suite",
                 policy; or a policy kind, which says where the policies are used (and so
                 whether Principal is required): identity, resource, boundary, scp, rcp, session.
                 By default a policy document that names a principal is read as resource-based,
                 any other as identity-based.`;

const POLICY_KINDS: readonly PolicyKind[] = ['identity', 'resource', 'boundary', 'scp', 'rcp', 'session'];
const DOCUMENT_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);
const SEVERITIES: readonly Severity[] = ['error', 'security', 'warning', 'suggestion'];

/** A finding about a file itself, before any validator sees its content. */
function fileFinding(file: string, code: FindingCode, path: string, message: string): Finding {
  return finding(code, path, message, file);
}

interface Options extends FileValidatorOptions {
  readonly json: boolean;
  readonly paths: readonly string[];
  /** `--kind directory|routes|config|policy`: the file kind, instead of telling it per file. */
  readonly fileKind?: string;
}

/** Reads the command line; a string is a usage error. */
function parseArgs(argv: readonly string[], fileKinds: readonly string[]): Options | 'help' | string {
  let json = false;
  let policyKind: PolicyKind | undefined;
  let fileKind: string | undefined;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--json') json = true;
    else if (arg === '--kind') {
      const value = argv[++i] ?? '';
      policyKind = POLICY_KINDS.find((k) => k === value);
      fileKind = policyKind ? 'policy' : fileKinds.find((k) => k === value);
      const allKinds = [...POLICY_KINDS, ...fileKinds];
      if (!fileKind) return `--kind must be one of ${allKinds.join(', ')}${didYouMean(value, allKinds)}`;
    } else if (arg.startsWith('-') && arg !== '-') return unknownArgument(arg, ['--json', '--kind', '--help']);
    else paths.push(arg);
  }
  if (paths.length === 0) return 'no PATH given';
  return { json, paths, ...(policyKind && { policyKind }), ...(fileKind !== undefined && { fileKind }) };
}

/**
 * Document files under `dir`, sorted, skipping hidden entries and node_modules. A subfolder that
 * cannot be listed is a finding naming it (`unreadable`), and the rest is still searched.
 */
async function documentsIn(dir: string, unreadable: Finding[]): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      try {
        out.push(...(await documentsIn(path, unreadable)));
      } catch (err) {
        unreadable.push(fileFinding(path, 'FILE_UNREADABLE', '', describeIoError(err)));
      }
    } else if (DOCUMENT_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(path);
  }
  return out;
}

/** Expands the PATH arguments into files; a named file is read whatever its extension. */
async function collectFiles(paths: readonly string[]): Promise<{ files: string[]; findings: Finding[] }> {
  const files: string[] = [];
  const findings: Finding[] = [];
  // Absolute paths, as the loaders name the files a configuration or a directory names: one file
  // then reads the same in every line, and a problem found twice is printed once.
  for (const path of paths.map((p) => resolve(p))) {
    try {
      if ((await stat(path)).isDirectory()) {
        const found = await documentsIn(path, findings);
        if (found.length === 0) findings.push(fileFinding(path, 'NO_DOCUMENTS', '', 'the folder holds no .json, .yaml or .yml file'));
        files.push(...found);
      } else files.push(path);
    } catch (err) {
      findings.push(fileFinding(path, 'FILE_UNREADABLE', '', describeIoError(err)));
    }
  }
  return { files, findings };
}

function describeIoError(err: unknown): string {
  return knownFileReason(err) ?? (err instanceof Error ? err.message : String(err));
}

/** Reads a JSON or YAML file into a value, or into findings saying why it cannot be read. */
export async function loadDocumentFile(file: string): Promise<{ doc?: unknown; findings: Finding[] }> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    return { findings: [fileFinding(file, 'FILE_UNREADABLE', '', describeIoError(err))] };
  }
  if (/\.ya?ml$/i.test(file)) {
    const yaml = parseYamlText(text, file);
    return yaml.ok ? { doc: yaml.value, findings: [] } : { findings: [...yaml.findings] };
  }
  const json = readJsonText(text);
  const findings = json.duplicateKeys.map((path) => fileFinding(file, 'DUPLICATE_KEY', path, givenTwice(path)));
  for (const { path, text: number } of json.inexactNumbers) {
    findings.push(fileFinding(file, 'INEXACT_NUMBER', path, inexactNumberReason(path, number)));
  }
  if (json.error) {
    const { message, line, column } = json.error;
    findings.push(fileFinding(file, 'JSON_SYNTAX_ERROR', '', `${message} at line ${line}, column ${column}`));
    return { findings };
  }
  return { doc: json.value, findings };
}

/** Validates one file with the kind `--kind` names, else the first kind that claims it by name, then by content. */
export async function validateFile(
  file: string,
  opts: FileValidatorOptions & { readonly fileKind?: string } = {},
  kinds: readonly FileKind[] = FILE_KINDS,
): Promise<Finding[]> {
  const { doc, findings } = await loadDocumentFile(file);
  if (doc === undefined) return findings;
  const kind = opts.fileKind !== undefined ? kinds.find((k) => k.kind === opts.fileKind) : kindOfFile(file, doc, kinds);
  if (!kind) {
    const known = kinds.map((k) => k.kind).join(', ');
    return [
      ...findings,
      fileFinding(file, 'UNKNOWN_FILE_KIND', '', `not checked: neither its name nor its content says which kind of iamgate file it is (${known}); name it with --kind (a policy document needs a Statement element, names are case-sensitive)`),
    ];
  }
  return [...findings, ...(await kind.validate(doc, file, opts))];
}

/**
 * The findings without repeats: a policy file named by a directory, or a directory named by a
 * configuration, is also found in its folder. A file that cannot be read is said once, by the file
 * or key that names it (`policies.Orders.file: cannot read FILE: ...`), not again by itself; a file
 * a directory names as a policy is not also of an unknown kind when it holds no policy.
 */
function distinct(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  const unreadable = new Set(findings.filter((f) => f.code === 'FILE_UNREADABLE').map((f) => f.message));
  const known = new Set(findings.flatMap((f) => (f.code !== 'UNKNOWN_FILE_KIND' && f.file !== undefined ? [resolve(f.file)] : [])));
  return findings.filter((f) => {
    const file = f.file === undefined ? '' : resolve(f.file);
    const key = JSON.stringify([file, f.path, f.severity, f.code, f.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    if (f.code === 'UNKNOWN_FILE_KIND') return !known.has(file);
    return !(f.code === 'FILE_UNREADABLE' && unreadable.has(`cannot read ${file}: ${f.message}`));
  });
}

function summaryCounts(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, security: 0, warning: 0, suggestion: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs `iamgate validate`; returns the exit code. */
export async function runValidate(argv: readonly string[], io: CliIo, kinds: readonly FileKind[] = FILE_KINDS): Promise<number> {
  const opts = parseArgs(argv, kinds.map((k) => k.kind));
  if (opts === 'help') {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (typeof opts === 'string') {
    io.stderr(`iamgate validate: ${opts}\n${USAGE}`);
    return EXIT.usage;
  }
  const collected = await collectFiles(opts.paths);
  const files = collected.files;
  for (const file of files) collected.findings.push(...(await validateFile(file, opts, kinds)));
  const findings = distinct(collected.findings);
  const counts = summaryCounts(findings);
  for (const f of findings) io.stdout(opts.json ? JSON.stringify(f) : formatFinding(f));
  if (opts.json) io.stdout(JSON.stringify({ summary: { files: files.length, ...counts } }));
  else {
    const parts = SEVERITIES.map((s) => plural(counts[s], s === 'security' ? 'security finding' : s));
    io.stdout(`${plural(files.length, 'file')} checked: ${parts.join(', ')}`);
  }
  return counts.error > 0 ? EXIT.failed : EXIT.ok;
}
