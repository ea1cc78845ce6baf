// Which validator reads which file: `iamgate validate` asks each kind in turn whether it claims
// a file (by name or by content) and runs the first that does. Parts that own a file format add
// their kind to FILE_KINDS.
import { basename } from 'node:path';
import { readConfig } from '../config/load.js';
import { parseRouteMap } from '../gateway/routes/spec.js';
import { validateDirectoryFile } from '../identity/load.js';
import { parsePolicy } from '../policy/parse.js';
import { looksLikeSuite, suiteFindings } from '../policy-testing/suite.js';
import type { Finding, PolicyKind } from '../policy/types.js';

/** Checks one parsed document (JSON or YAML) from `file` and returns its findings. */
export type FileValidator = (doc: unknown, file: string, opts: FileValidatorOptions) => Finding[];

export interface FileValidatorOptions {
  /** `--kind`: where policy documents are used, when the command line says so. */
  readonly policyKind?: PolicyKind;
}

export interface FileKind {
  readonly kind: string;
  /** Whether this kind reads the file, judged by its path and its parsed content. */
  readonly claims: (file: string, doc: unknown) => boolean;
  readonly validate: FileValidator;
}

/** Claims files whose name, without `.yaml`/`.yml`/`.json`, is one of `names`. */
export function byBaseName(...names: readonly string[]): (file: string) => boolean {
  return (file) => names.includes(basename(file).replace(/\.(?:ya?ml|json)$/i, ''));
}

/** A policy document is an object with a Statement or a Version element. */
function looksLikePolicy(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return false;
  return Object.hasOwn(doc, 'Statement') || Object.hasOwn(doc, 'Version');
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
  { kind: 'directory', claims: byBaseName('directory'), validate: (doc, file) => validateDirectoryFile(doc, file) },
  { kind: 'routes', claims: byBaseName('routes'), validate: (doc, file) => parseRouteMap(doc, file).findings },
  {
    kind: 'config',
    claims: byBaseName('iamgate'),
    validate: (doc, file) => {
      const read = readConfig(doc, {}, file);
      return read.ok ? [] : [...read.problems];
    },
  },
  { kind: 'policy test suite', claims: (_file, doc) => looksLikeSuite(doc), validate: (doc, file) => suiteFindings(doc, file) },
  policyKind,
];
