// Policy test suites: YAML or JSON files of named cases (a principal, a request, a context and
// what should come of it). Read and checked whole before anything runs; every problem is
// reported with its file, JSON path and reason.
import { fileErrorReason, readTextFile } from '../config/index.js';
import { dirname, resolve } from 'node:path';
import { finding, type Finding, type FindingCode } from '../config/findings.js';
import { FileReader, isDoc } from '../config/reader.js';
import { parseYamlText } from '../config/yaml.js';
import { isContextValue, sameKeyTwice, type ContextValue } from '../policy/index.js';
import type { PrincipalSpec, RequestSpec } from './decide.js';

export type ExpectedDecision = 'Allow' | 'Deny' | 'ExplicitDeny' | 'ImplicitDeny';
const EXPECTED: readonly ExpectedDecision[] = ['Allow', 'Deny', 'ExplicitDeny', 'ImplicitDeny'];

export interface TestCase {
  readonly name: string;
  /** JSON path of the case in its file, for messages. */
  readonly path: string;
  /** A bare name (a user, else a role), or the full spec. */
  readonly principal: string | PrincipalSpec;
  readonly request: RequestSpec;
  readonly context: Readonly<Record<string, ContextValue>>;
  readonly expect: ExpectedDecision;
  /** A deciding statement, `policy:Sid` (or `policy:Statement[i]`, or just `policy`). */
  readonly statement?: string;
  /** The gateway's reason (`mfa_required`, `no_route`, ...) or the engine's implicit-deny reason. */
  readonly reason?: string;
}

export interface TestSuite {
  readonly file: string;
  /** The policy folder the suite runs against. */
  readonly policies: string;
  readonly cases: readonly TestCase[];
}

export type SuiteRead = { readonly ok: true; readonly suite: TestSuite } | { readonly ok: false; readonly problems: readonly Finding[] };

const CASE_KEYS = ['name', 'principal', 'request', 'context', 'expect', 'statement', 'reason'];
const PRINCIPAL_KEYS = ['user', 'role', 'arn', 'mfa', 'tags', 'sessionPolicy', 'sessionName', 'sourceIdentity'];
const ACTION_KEYS = ['action', 'resource'];
const LINE_KEYS = ['method', 'path', 'headers'];
const SUITE_KEYS = ['cases', 'policies'];
const REQUEST_LINE = /^([A-Za-z]+) (\/\S*)$/;

/** The suite's readings on top of the shared reader; `fail` reports and gives the caller nothing. */
class SuiteReader extends FileReader {
  fail(code: FindingCode, path: string, message: string): undefined {
    this.add(code, path, message);
    return undefined;
  }
  str(v: unknown, path: string): string | undefined {
    if (typeof v === 'string' && v !== '') return v;
    return this.fail(v === undefined ? 'MISSING_KEY' : typeof v === 'string' ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', path, 'must be a non-empty string');
  }
  tags(v: unknown, path: string): Readonly<Record<string, string>> | undefined {
    if (!isDoc(v)) return this.fail('DATA_TYPE_MISMATCH', path, 'must be a map of tag names to strings');
    for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') this.add('DATA_TYPE_MISMATCH', `${path}.${k}`, 'must be a string');
    return v as Readonly<Record<string, string>>;
  }
}

function readPrincipal(r: SuiteReader, v: unknown, path: string): string | PrincipalSpec | undefined {
  if (typeof v === 'string') return r.str(v, path);
  if (!isDoc(v)) return r.fail(v === undefined ? 'MISSING_KEY' : 'DATA_TYPE_MISMATCH', path, 'must be a user or role name, an ARN, or a map with user, role or arn');
  r.unknownKeys(v, path, PRINCIPAL_KEYS);
  const named = ['user', 'role', 'arn'].filter((k) => v[k] !== undefined);
  if (named.length !== 1) return r.fail('EXCLUSIVE_KEYS', path, 'must name exactly one of user, role or arn');
  const key = named[0] as 'user' | 'role' | 'arn';
  const who = r.str(v[key], `${path}.${key}`);
  if (v['mfa'] !== undefined && typeof v['mfa'] !== 'boolean') r.add('DATA_TYPE_MISMATCH', `${path}.mfa`, 'must be true or false');
  if (v['sessionPolicy'] !== undefined && (key === 'user' || !isDoc(v['sessionPolicy']))) {
    r.add(key === 'user' ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', `${path}.sessionPolicy`, key === 'user' ? 'only role sessions carry a session policy' : 'must be a policy document');
  }
  if (v['sessionName'] !== undefined) r.str(v['sessionName'], `${path}.sessionName`);
  if (v['sourceIdentity'] !== undefined && r.str(v['sourceIdentity'], `${path}.sourceIdentity`) !== undefined && key === 'user') {
    r.add('INVALID_VALUE', `${path}.sourceIdentity`, 'only role sessions carry a source identity');
  }
  const tags = v['tags'] === undefined ? undefined : r.tags(v['tags'], `${path}.tags`);
  if (who === undefined) return undefined;
  return {
    [key]: who,
    ...(v['mfa'] === true ? { mfa: true } : {}),
    ...(tags ? { tags } : {}),
    ...(isDoc(v['sessionPolicy']) ? { sessionPolicy: v['sessionPolicy'] } : {}),
    ...(typeof v['sessionName'] === 'string' ? { sessionName: v['sessionName'] } : {}),
    ...(typeof v['sourceIdentity'] === 'string' && v['sourceIdentity'] !== '' ? { sourceIdentity: v['sourceIdentity'] } : {}),
  };
}

function readRequest(r: SuiteReader, v: unknown, path: string): RequestSpec | undefined {
  if (typeof v === 'string') {
    const m = REQUEST_LINE.exec(v);
    return m ? { method: (m[1] as string).toUpperCase(), path: m[2] as string } : r.fail('INVALID_VALUE', path, 'must read "METHOD /path" (or be a map with method and path, or action and resource)');
  }
  if (!isDoc(v)) return r.fail(v === undefined ? 'MISSING_KEY' : 'DATA_TYPE_MISMATCH', path, 'must be "METHOD /path", or a map with method and path, or with action and resource');
  if (v['action'] !== undefined || v['resource'] !== undefined) {
    r.unknownKeys(v, path, ACTION_KEYS);
    const action = r.str(v['action'], `${path}.action`);
    if (action !== undefined && !/^[\w-]+:[\w*?-]+$/.test(action)) r.add('INVALID_VALUE', `${path}.action`, 'must read service:Action');
    const resource = r.str(v['resource'], `${path}.resource`);
    return action !== undefined && resource !== undefined ? { action, resource } : undefined;
  }
  r.unknownKeys(v, path, LINE_KEYS);
  const method = r.str(v['method'], `${path}.method`);
  const target = r.str(v['path'], `${path}.path`);
  if (target !== undefined && !target.startsWith('/')) r.add('INVALID_VALUE', `${path}.path`, 'must start with /');
  const headers = v['headers'] === undefined ? undefined : r.tags(v['headers'], `${path}.headers`);
  if (method === undefined || target === undefined) return undefined;
  return { method: method.toUpperCase(), path: target, ...(headers ? { headers } : {}) };
}

function readContext(r: SuiteReader, v: unknown, path: string): Readonly<Record<string, ContextValue>> {
  if (v === undefined) return {};
  if (!isDoc(v)) return r.fail('DATA_TYPE_MISMATCH', path, 'must be a map of condition keys to values') ?? {};
  for (const [k, x] of Object.entries(v)) {
    if (!isContextValue(x)) r.add('DATA_TYPE_MISMATCH', `${path}.${k}`, 'must be a string, number, boolean or a list of them');
  }
  const twice = sameKeyTwice(Object.keys(v));
  if (twice) r.add('DUPLICATE_ENTRY', `${path}.${twice[1]}`, `names the key of "${twice[0]}" again: condition key names are case-insensitive`);
  return v as Readonly<Record<string, ContextValue>>;
}

function readCase(r: SuiteReader, v: unknown, path: string, names: Set<string>): TestCase | undefined {
  if (!isDoc(v)) return r.fail('DATA_TYPE_MISMATCH', path, 'must be a map with name, principal, request and expect');
  r.unknownKeys(v, path, CASE_KEYS);
  const name = r.str(v['name'], `${path}.name`);
  if (name !== undefined) {
    if (names.has(name)) r.add('DUPLICATE_ENTRY', `${path}.name`, `"${name}" names an earlier case too`);
    names.add(name);
  }
  const principal = readPrincipal(r, v['principal'], `${path}.principal`);
  const request = readRequest(r, v['request'], `${path}.request`);
  const context = readContext(r, v['context'], `${path}.context`);
  const expect = EXPECTED.find((e) => e === v['expect']) ?? r.fail(v['expect'] === undefined ? 'MISSING_KEY' : 'INVALID_VALUE', `${path}.expect`, `must be one of ${EXPECTED.join(', ')}`);
  const statement = v['statement'] === undefined ? undefined : r.str(v['statement'], `${path}.statement`);
  const reason = v['reason'] === undefined ? undefined : r.str(v['reason'], `${path}.reason`);
  if (name === undefined || principal === undefined || request === undefined || expect === undefined) return undefined;
  return { name, path, principal, request, context, expect, ...(statement !== undefined ? { statement } : {}), ...(reason !== undefined ? { reason } : {}) };
}

/**
 * Reads a suite document: a list of cases, or a map with `cases` and optionally `policies` (the
 * policy folder, relative to the file; by default the folder that holds the suite's folder).
 */
export function readSuiteDocument(root: unknown, file: string): SuiteRead {
  const r = new SuiteReader(file);
  let list: unknown = root;
  let policies = resolve(dirname(file), '..');
  if (isDoc(root)) {
    r.unknownKeys(root, '', SUITE_KEYS);
    list = root['cases'];
    if (root['policies'] !== undefined) {
      const p = r.str(root['policies'], 'policies');
      if (p !== undefined) policies = resolve(dirname(file), p);
    }
  }
  const where = isDoc(root) ? 'cases' : '';
  if (!Array.isArray(list) || list.length === 0) {
    r.add(list === undefined ? 'MISSING_KEY' : Array.isArray(list) ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', where, 'must be a non-empty list of cases');
    return { ok: false, problems: r.findings };
  }
  const names = new Set<string>();
  const cases = list.flatMap((c, i) => readCase(r, c, `${where}[${i}]`, names) ?? []);
  if (r.findings.length > 0) return { ok: false, problems: r.findings };
  return { ok: true, suite: { file, policies, cases } };
}

/** Reads a suite from text (YAML, of which JSON is a subset). */
export function parseSuite(text: string, file: string): SuiteRead {
  const doc = parseYamlText(text, file);
  if (!doc.ok) return { ok: false, problems: doc.findings };
  return readSuiteDocument(doc.value, file);
}

/** Whether a parsed document is a policy test suite: a map holding `cases`. */
export function looksLikeSuite(doc: unknown): boolean {
  return isDoc(doc) && Array.isArray(doc['cases']);
}

/** A suite's problems as validator findings (`iamgate validate`). */
export function suiteFindings(doc: unknown, file: string): Finding[] {
  const read = readSuiteDocument(doc, file);
  return read.ok ? [] : [...read.problems];
}

/** Reads a suite file. */
export async function readSuite(file: string): Promise<SuiteRead> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    return { ok: false, problems: [finding('FILE_UNREADABLE', '', `cannot read: ${fileErrorReason(err)}`, file)] };
  }
  return parseSuite(text, file);
}
