// Policy test suites: YAML or JSON files of named cases (a principal, a request, a context and
// what should come of it). Read and checked whole before anything runs; every problem is
// reported with its file, JSON path and reason.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseYamlText } from '../config/yaml.js';
import type { ContextValue, Finding } from '../policy/index.js';
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

export interface SuiteProblem {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

export type SuiteRead = { readonly ok: true; readonly suite: TestSuite } | { readonly ok: false; readonly problems: readonly SuiteProblem[] };

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const CASE_KEYS = new Set(['name', 'principal', 'request', 'context', 'expect', 'statement', 'reason']);
const PRINCIPAL_KEYS = new Set(['user', 'role', 'arn', 'mfa', 'tags', 'sessionPolicy', 'sessionName']);
const REQUEST_LINE = /^([A-Za-z]+) (\/\S*)$/;

/** Collects problems at JSON paths while reading one file. */
class Reader {
  readonly problems: SuiteProblem[] = [];
  constructor(readonly file: string) {}
  add(path: string, message: string): undefined {
    this.problems.push({ file: this.file, path, message });
    return undefined;
  }
  string(v: unknown, path: string): string | undefined {
    return typeof v === 'string' && v !== '' ? v : this.add(path, 'must be a non-empty string');
  }
  tags(v: unknown, path: string): Readonly<Record<string, string>> | undefined {
    if (!isObj(v)) return this.add(path, 'must be a map of tag names to strings');
    for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') this.add(`${path}.${k}`, 'must be a string');
    return v as Readonly<Record<string, string>>;
  }
}

function readPrincipal(r: Reader, v: unknown, path: string): string | PrincipalSpec | undefined {
  if (typeof v === 'string') return r.string(v, path);
  if (!isObj(v)) return r.add(path, 'must be a user or role name, an ARN, or a map with user, role or arn');
  for (const k of Object.keys(v)) if (!PRINCIPAL_KEYS.has(k)) r.add(`${path}.${k}`, `unknown key (expected one of ${[...PRINCIPAL_KEYS].join(', ')})`);
  const named = ['user', 'role', 'arn'].filter((k) => v[k] !== undefined);
  if (named.length !== 1) return r.add(path, 'must name exactly one of user, role or arn');
  const key = named[0] as 'user' | 'role' | 'arn';
  const who = r.string(v[key], `${path}.${key}`);
  if (v['mfa'] !== undefined && typeof v['mfa'] !== 'boolean') r.add(`${path}.mfa`, 'must be true or false');
  if (v['sessionPolicy'] !== undefined && (key === 'user' || !isObj(v['sessionPolicy']))) {
    r.add(`${path}.sessionPolicy`, key === 'user' ? 'only role sessions carry a session policy' : 'must be a policy document');
  }
  if (v['sessionName'] !== undefined) r.string(v['sessionName'], `${path}.sessionName`);
  const tags = v['tags'] === undefined ? undefined : r.tags(v['tags'], `${path}.tags`);
  if (who === undefined) return undefined;
  return {
    [key]: who,
    ...(v['mfa'] === true ? { mfa: true } : {}),
    ...(tags ? { tags } : {}),
    ...(isObj(v['sessionPolicy']) ? { sessionPolicy: v['sessionPolicy'] } : {}),
    ...(typeof v['sessionName'] === 'string' ? { sessionName: v['sessionName'] } : {}),
  };
}

function readRequest(r: Reader, v: unknown, path: string): RequestSpec | undefined {
  if (typeof v === 'string') {
    const m = REQUEST_LINE.exec(v);
    return m ? { method: (m[1] as string).toUpperCase(), path: m[2] as string } : r.add(path, 'must read "METHOD /path" (or be a map with method and path, or action and resource)');
  }
  if (!isObj(v)) return r.add(path, 'must be "METHOD /path", or a map with method and path, or with action and resource');
  if (v['action'] !== undefined || v['resource'] !== undefined) {
    for (const k of Object.keys(v)) if (k !== 'action' && k !== 'resource') r.add(`${path}.${k}`, 'unknown key beside action and resource');
    const action = r.string(v['action'], `${path}.action`);
    if (action !== undefined && !/^[\w-]+:[\w*?-]+$/.test(action)) r.add(`${path}.action`, 'must read service:Action');
    const resource = r.string(v['resource'], `${path}.resource`);
    return action !== undefined && resource !== undefined ? { action, resource } : undefined;
  }
  for (const k of Object.keys(v)) if (!['method', 'path', 'headers'].includes(k)) r.add(`${path}.${k}`, 'unknown key (expected method, path, headers)');
  const method = r.string(v['method'], `${path}.method`);
  const target = r.string(v['path'], `${path}.path`);
  if (target !== undefined && !target.startsWith('/')) r.add(`${path}.path`, 'must start with /');
  const headers = v['headers'] === undefined ? undefined : r.tags(v['headers'], `${path}.headers`);
  if (method === undefined || target === undefined) return undefined;
  return { method: method.toUpperCase(), path: target, ...(headers ? { headers } : {}) };
}

function readContext(r: Reader, v: unknown, path: string): Readonly<Record<string, ContextValue>> {
  if (v === undefined) return {};
  if (!isObj(v)) return r.add(path, 'must be a map of condition keys to values') ?? {};
  const scalar = (x: unknown): boolean => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x));
  for (const [k, x] of Object.entries(v)) {
    if (!(scalar(x) || (Array.isArray(x) && x.every(scalar)))) r.add(`${path}.${k}`, 'must be a string, number, boolean or a list of them');
  }
  return v as Readonly<Record<string, ContextValue>>;
}

function readCase(r: Reader, v: unknown, path: string, names: Set<string>): TestCase | undefined {
  if (!isObj(v)) return r.add(path, 'must be a map with name, principal, request and expect');
  for (const k of Object.keys(v)) if (!CASE_KEYS.has(k)) r.add(`${path}.${k}`, `unknown key (expected one of ${[...CASE_KEYS].join(', ')})`);
  const name = r.string(v['name'], `${path}.name`);
  if (name !== undefined) {
    if (names.has(name)) r.add(`${path}.name`, `"${name}" names an earlier case too`);
    names.add(name);
  }
  const principal = readPrincipal(r, v['principal'], `${path}.principal`);
  const request = readRequest(r, v['request'], `${path}.request`);
  const context = readContext(r, v['context'], `${path}.context`);
  const expect = EXPECTED.find((e) => e === v['expect']) ?? r.add(`${path}.expect`, `must be one of ${EXPECTED.join(', ')}`);
  const statement = v['statement'] === undefined ? undefined : r.string(v['statement'], `${path}.statement`);
  const reason = v['reason'] === undefined ? undefined : r.string(v['reason'], `${path}.reason`);
  if (name === undefined || principal === undefined || request === undefined || expect === undefined) return undefined;
  return { name, path, principal, request, context, expect, ...(statement !== undefined ? { statement } : {}), ...(reason !== undefined ? { reason } : {}) };
}

/**
 * Reads a suite document: a list of cases, or a map with `cases` and optionally `policies` (the
 * policy folder, relative to the file; by default the folder that holds the suite's folder).
 */
export function readSuiteDocument(root: unknown, file: string): SuiteRead {
  const r = new Reader(file);
  let list: unknown = root;
  let policies = resolve(dirname(file), '..');
  if (isObj(root)) {
    for (const k of Object.keys(root)) if (k !== 'cases' && k !== 'policies') r.add(k, 'unknown key (expected cases, policies)');
    list = root['cases'];
    if (root['policies'] !== undefined) {
      const p = r.string(root['policies'], 'policies');
      if (p !== undefined) policies = resolve(dirname(file), p);
    }
  }
  const where = isObj(root) ? 'cases' : '';
  if (!Array.isArray(list) || list.length === 0) {
    r.add(where, 'must be a non-empty list of cases');
    return { ok: false, problems: r.problems };
  }
  const names = new Set<string>();
  const cases = list.flatMap((c, i) => readCase(r, c, `${where}[${i}]`, names) ?? []);
  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  return { ok: true, suite: { file, policies, cases } };
}

/** Reads a suite from text (YAML, of which JSON is a subset). */
export function parseSuite(text: string, file: string): SuiteRead {
  const doc = parseYamlText(text, 'SUITE_SYNTAX', file);
  if (!doc.ok) return { ok: false, problems: doc.findings.map((f) => ({ file, path: '', message: f.message })) };
  return readSuiteDocument(doc.value, file);
}

/** Whether a parsed document is a policy test suite: a map holding `cases`. */
export function looksLikeSuite(doc: unknown): boolean {
  return isObj(doc) && Array.isArray(doc['cases']);
}

/** A suite's problems as validator findings (`iamgate validate`). */
export function suiteFindings(doc: unknown, file: string): Finding[] {
  const read = readSuiteDocument(doc, file);
  return read.ok ? [] : read.problems.map((p) => ({ severity: 'error', code: 'TEST_SUITE_INVALID', path: p.path, message: p.message, file }));
}

/** Reads a suite file. */
export async function readSuite(file: string): Promise<SuiteRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }] };
  }
  return parseSuite(text, file);
}
