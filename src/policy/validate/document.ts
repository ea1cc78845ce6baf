// Reading the document level: Version, Id, Statement (one object or an array), and Sids that
// must be unique across statements.
import type { ParsedPolicy, PolicyKind, PolicyVersion } from '../types.js';
import type { FindingSink } from './findings.js';
import { checkElementNames, childPath, isJsonObject, itemPath, jsonTypeName } from './read.js';
import { checkRcpVersion } from './rcp.js';
import { readStatement, type ReadStatement, type StatementContext } from './statement.js';

const POLICY_ELEMENTS = ['Version', 'Id', 'Statement'] as const;
const VERSIONS: readonly PolicyVersion[] = ['2012-10-17', '2008-10-17'];

export interface ReadDocument {
  readonly policy: ParsedPolicy;
  readonly kind: PolicyKind;
  /** The statements that could be read, with their paths (a single-object Statement is `Statement`). */
  readonly statements: readonly ReadStatement[];
}

function readVersion(doc: Record<string, unknown>, sink: FindingSink): PolicyVersion {
  if (!Object.hasOwn(doc, 'Version')) {
    sink.add('MISSING_VERSION', 'Version', 'no Version: the policy is read as 2008-10-17, where policy variables are not supported; add "Version": "2012-10-17"');
    return '2008-10-17';
  }
  const version = VERSIONS.find((v) => v === doc.Version);
  if (version) return version;
  const shown = typeof doc.Version === 'string' ? `"${doc.Version}"` : jsonTypeName(doc.Version);
  sink.add('INVALID_VERSION', 'Version', `Version ${shown} is not supported: use "2012-10-17"`);
  return '2012-10-17';
}

/** The Statement element as a list of raw statements with their paths. */
function statementList(doc: Record<string, unknown>, sink: FindingSink): { raw: unknown; path: string }[] {
  if (!Object.hasOwn(doc, 'Statement')) {
    sink.add('MISSING_STATEMENT', 'Statement', 'the policy has no Statement');
    return [];
  }
  const value = doc.Statement;
  if (isJsonObject(value)) return [{ raw: value, path: 'Statement' }];
  if (!Array.isArray(value)) {
    sink.add('DATA_TYPE_MISMATCH', 'Statement', `Statement must be an object or an array of objects, not ${jsonTypeName(value)}`);
    return [];
  }
  if (value.length === 0) sink.add('EMPTY_ARRAY', 'Statement', 'Statement must hold at least one statement');
  return value.map((raw: unknown, i) => ({ raw, path: itemPath('Statement', i) }));
}

/** A document that names principals is resource-based; otherwise it is read as an identity policy. */
function inferKind(raws: readonly { raw: unknown }[]): PolicyKind {
  const namesPrincipal = raws.some(
    ({ raw }) => isJsonObject(raw) && (Object.hasOwn(raw, 'Principal') || Object.hasOwn(raw, 'NotPrincipal')),
  );
  return namesPrincipal ? 'resource' : 'identity';
}

function checkUniqueSids(statements: readonly ReadStatement[], sink: FindingSink): void {
  const seen = new Map<string, string>();
  for (const { statement, path } of statements) {
    if (statement.sid === undefined || statement.sid === '') continue;
    const first = seen.get(statement.sid);
    if (first !== undefined) sink.add('DUPLICATE_SID', childPath(path, 'Sid'), `Sid "${statement.sid}" is already used by ${first}`);
    else seen.set(statement.sid, path);
  }
}

/**
 * Reads a policy document. `kind` decides whether principals are required or refused; when it is
 * not given, a document that names any principal is taken as resource-based. `trust` marks a
 * role's trust policy.
 */
export function readPolicyDocument(value: unknown, kind: PolicyKind | undefined, sink: FindingSink, trust = false): ReadDocument | undefined {
  if (!isJsonObject(value)) {
    sink.add('POLICY_NOT_OBJECT', '', `a policy document must be a JSON object, not ${jsonTypeName(value)}`);
    return undefined;
  }
  checkElementNames(value, POLICY_ELEMENTS, '', sink);
  const version = readVersion(value, sink);
  let id: string | undefined;
  if (Object.hasOwn(value, 'Id')) {
    if (typeof value.Id === 'string') id = value.Id;
    else sink.add('DATA_TYPE_MISMATCH', 'Id', `Id must be a string, not ${jsonTypeName(value.Id)}`);
  }
  const raws = statementList(value, sink);
  const ctx: StatementContext = { version, kind: kind ?? inferKind(raws), trust, sink };
  if (ctx.kind === 'rcp') checkRcpVersion(version, Object.hasOwn(value, 'Version'), sink);
  const statements = raws.flatMap(({ raw, path }, i) => readStatement(raw, i, path, ctx) ?? []);
  checkUniqueSids(statements, sink);
  const policy: ParsedPolicy = {
    version,
    ...(id !== undefined && { id }),
    statements: statements.map((s) => s.statement),
  };
  return { policy, kind: ctx.kind, statements };
}
