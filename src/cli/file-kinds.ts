// Which validator reads which file: `iamgate validate` asks each kind in turn whether it claims
// a file by its name, then whether it claims it by its content, and runs the first that does
// (`--kind` names the kind instead). Parts that own a file format add their kind to FILE_KINDS.
import { basename } from 'node:path';
import { checkConfig } from '../app/config.js';
import { locatePolicyFiles, parseYamlText, readConfigParts, readTextFile } from '../config/index.js';
import { loadRouteMap, parseRouteMap } from '../gateway/routes/index.js';
import { loadDirectory, validateDirectoryFile } from '../identity/index.js';
import { parsePolicy, type Finding, type PolicyKind } from '../policy/index.js';
import { looksLikeSuite, suiteFindings } from '../policy-testing/suite.js';

/** Checks one parsed document (JSON or YAML) from `file` and returns its findings. */
export type FileValidator = (doc: unknown, file: string, opts: FileValidatorOptions) => Finding[] | Promise<Finding[]>;

export interface FileValidatorOptions {
  /** `--kind`: where policy documents are used, when the command line says so. */
  readonly policyKind?: PolicyKind;
}

export interface FileKind {
  readonly kind: string;
  /** Whether this kind reads the file, judged by its path (and its parsed content). */
  readonly claims: (file: string, doc: unknown) => boolean;
  /** Whether the content alone is of this kind, for files whose name no kind claims. */
  readonly looksLike?: (doc: unknown) => boolean;
  readonly validate: FileValidator;
}

type Obj = Readonly<Record<string, unknown>>;
const isObject = (doc: unknown): doc is Obj => typeof doc === 'object' && doc !== null && !Array.isArray(doc);
const hasAny = (doc: unknown, keys: readonly string[]): boolean => isObject(doc) && keys.some((k) => Object.hasOwn(doc, k));

/** Claims files whose name, without `.yaml`/`.yml`/`.json`, is one of `names`. */
export function byBaseName(...names: readonly string[]): (file: string) => boolean {
  return (file) => names.includes(basename(file).replace(/\.(?:ya?ml|json)$/i, ''));
}

/** A policy document is an object with a Statement or a Version element. */
function looksLikePolicy(doc: unknown): boolean {
  return hasAny(doc, ['Statement', 'Version']);
}

/** A directory names its account or holds users, groups or roles. */
const looksLikeDirectory = (doc: unknown): boolean => hasAny(doc, ['account', 'users', 'groups', 'roles']);

/** A route map holds a list of routes. */
const looksLikeRoutes = (doc: unknown): boolean => isObject(doc) && Array.isArray(doc['routes']);

/** A configuration has a listener, an upstream, an auth section, or names policy files. */
function looksLikeConfig(doc: unknown): boolean {
  if (hasAny(doc, ['listen', 'upstream', 'operations', 'auth', 'audit', 'redis', 'forwardAuth'])) return true;
  return isObject(doc) && hasAny(doc['policies'], ['directory', 'routes']);
}

/**
 * A configuration and everything serving it would load: the directory with its policy files, the
 * route map, the shadow candidate's directory (serve refuses a candidate that does not load) and
 * the auth section, each finding with its own file.
 */
async function validateConfig(doc: unknown, file: string): Promise<Finding[]> {
  const problems = checkConfig(doc, {}, file);
  if (problems.length > 0) return [...problems];
  const { directory, routes, shadow } = readConfigParts(doc, {}, file).config.policies;
  const loads = await Promise.all([loadDirectory(directory), loadRouteMap(routes), ...(shadow === undefined ? [] : [loadDirectory(locatePolicyFiles(shadow).directory)])]);
  return loads.flatMap((l) => l.findings);
}

const policyKind: FileKind = {
  kind: 'policy',
  claims: (_file, doc) => looksLikePolicy(doc),
  validate: (doc, file, opts) =>
    parsePolicy(doc, opts.policyKind === undefined ? { file } : { file, kind: opts.policyKind }).findings,
};

// ─── File kinds: add a kind here; the first kind that claims a file validates it. ───────────────
// For example `{ kind: 'directory', claims: byBaseName('directory'), validate: validateDirectoryFile }`.
export const FILE_KINDS: readonly FileKind[] = [
  { kind: 'directory', claims: byBaseName('directory'), looksLike: looksLikeDirectory, validate: (doc, file) => validateDirectoryFile(doc, file) },
  { kind: 'routes', claims: byBaseName('routes'), looksLike: looksLikeRoutes, validate: (doc, file) => parseRouteMap(doc, file).findings },
  { kind: 'config', claims: byBaseName('iamgate'), looksLike: looksLikeConfig, validate: validateConfig },
  { kind: 'policy test suite', claims: (_file, doc) => looksLikeSuite(doc), validate: (doc, file) => suiteFindings(doc, file) },
  policyKind,
];

/** The kind of a file as validate tells it: the first kind that claims it by name, then by content. */
export function kindOfFile(file: string, doc: unknown, kinds: readonly FileKind[] = FILE_KINDS): FileKind | undefined {
  return kinds.find((k) => k.claims(file, doc)) ?? kinds.find((k) => k.looksLike?.(doc) === true);
}

/** How each other kind of iamgate file is named when given where the configuration goes. */
const OTHER_KINDS: Readonly<Record<string, string>> = {
  directory: 'the directory (users, groups, roles)',
  routes: 'the route map',
  'policy test suite': 'a policy test suite',
  policy: 'a policy document',
};

/** The kind of iamgate file `file` holds, told apart as validate tells kinds; undefined for any other file. */
async function kindOfText(file: string): Promise<string | undefined> {
  const parsed = parseYamlText(await readTextFile(file).catch(() => ''), file);
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object') return undefined;
  return kindOfFile(file, parsed.value)?.kind;
}

/**
 * Which other iamgate file a configuration that did not load is (told apart as validate tells
 * kinds), so that `--config policies/directory.yaml` is named as a mistaken file rather than as a
 * dozen unknown keys; undefined for a configuration with mistakes, or any other file.
 */
export async function notAConfiguration(file: string): Promise<string | undefined> {
  const kind = await kindOfText(file);
  return kind === undefined ? undefined : OTHER_KINDS[kind];
}

/**
 * Which iamgate file a cases file that is not one is, with what to do with it, so that
 * `simulate --cases policies/tests/orders.yaml` points to `iamgate test` rather than to a JSON
 * syntax error on its first comment; undefined for any other file.
 */
export async function notACasesFile(file: string): Promise<string | undefined> {
  const kind = await kindOfText(file);
  if (kind === 'policy test suite') return `a policy test suite, not a cases file: run it with iamgate test ${file}`;
  const name = kind === 'config' ? 'the configuration' : kind === undefined ? undefined : OTHER_KINDS[kind];
  return name === undefined ? undefined : `${name}, not a cases file: --cases takes a JSON array of cases (docs/policy-evaluation.md, "iamgate simulate")`;
}
