// `iamgate simulate --cases FILE.json [--explain]`: runs authorization cases through the engine,
// one JSON line per case, per the contract in DESIGN.md.
import { knownFileReason, readTextFile } from '../config/index.js';
import { compilePolicy, createContext, describeInexactNumber, didYouMean, evaluate, explainDecision, isContextValue, parsePolicy, readJsonText, sameKeyTwice, statementLabel, type CompiledPolicy, type ContextValue, type Finding, type PolicyKind, type PolicySet } from '../policy/index.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';

interface SimulationCase {
  readonly name: string;
  readonly policies: {
    readonly identity?: unknown[];
    readonly boundary?: unknown;
    readonly resource?: unknown;
    readonly scp?: unknown[];
    readonly rcp?: unknown[];
    readonly session?: unknown[];
  };
  readonly request: {
    readonly principal: string;
    readonly action: string;
    readonly resource: string;
    readonly context?: Record<string, ContextValue>;
  };
  readonly expect?: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
}

class CaseFormatError extends Error {
  readonly code = 'ERR_SIMULATE_CASE_FORMAT';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A case's context holds context values, each key spelt once (names are case-insensitive). */
function checkContext(context: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(context)) {
    if (!isContextValue(value)) throw new CaseFormatError(`${where}: "request.context.${key}" must be a string, number, boolean or an array of them`);
  }
  const twice = sameKeyTwice(Object.keys(context));
  if (twice) throw new CaseFormatError(`${where}: "request.context" names one key twice, as "${twice[0]}" and "${twice[1]}": condition key names are case-insensitive`);
}

const CASE_FIELDS = ['name', 'policies', 'request', 'expect'];
const POLICY_FIELDS = ['identity', 'boundary', 'resource', 'scp', 'rcp', 'session'];
const REQUEST_FIELDS = ['principal', 'action', 'resource', 'context'];

/** Refuses a key the case format does not have: a misspelt "boundary" would leave a policy out of the decision. */
function checkKeys(obj: Record<string, unknown>, known: readonly string[], where: string, prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw new CaseFormatError(`${where}: "${prefix}${key}" is not a key of a case${didYouMean(key, known)}`);
  }
}

function checkCase(raw: unknown, i: number): SimulationCase {
  const where = `case [${i}]`;
  if (!isRecord(raw)) throw new CaseFormatError(`${where}: not an object`);
  const { name, policies, request, expect } = raw;
  if (typeof name !== 'string') throw new CaseFormatError(`${where}: "name" must be a string`);
  checkKeys(raw, CASE_FIELDS, `${where} (${name})`, '');
  if (!isRecord(policies)) throw new CaseFormatError(`${where} (${name}): "policies" must be an object`);
  checkKeys(policies, POLICY_FIELDS, `${where} (${name})`, 'policies.');
  for (const key of ['identity', 'scp', 'rcp', 'session']) {
    if (policies[key] !== undefined && !Array.isArray(policies[key])) {
      throw new CaseFormatError(`${where} (${name}): "policies.${key}" must be an array`);
    }
  }
  if (!isRecord(request)) throw new CaseFormatError(`${where} (${name}): "request" must be an object`);
  checkKeys(request, REQUEST_FIELDS, `${where} (${name})`, 'request.');
  for (const key of ['principal', 'action', 'resource']) {
    if (typeof request[key] !== 'string') throw new CaseFormatError(`${where} (${name}): "request.${key}" must be a string`);
  }
  const context = request['context'];
  if (context !== undefined && !isRecord(context)) throw new CaseFormatError(`${where} (${name}): "request.context" must be an object`);
  if (context !== undefined) checkContext(context, `${where} (${name})`);
  if (expect !== undefined && expect !== 'Allow' && expect !== 'ExplicitDeny' && expect !== 'ImplicitDeny') {
    throw new CaseFormatError(`${where} (${name}): "expect" must be Allow, ExplicitDeny or ImplicitDeny`);
  }
  return raw as unknown as SimulationCase;
}

/** Whether a request's resource policy is a role's trust policy: the action assumes a role. */
function assumesRole(action: string): boolean {
  return action.toLowerCase().startsWith('sts:assumerole');
}

/** Parses and compiles one case's policies, collecting findings labelled by policy position. */
function buildSet(c: SimulationCase, duplicates: readonly Finding[]): { set?: PolicySet; errors: Finding[] } {
  const errors: Finding[] = [...duplicates];
  // For sts:AssumeRole* the resource policy is the role's trust policy.
  const trust = assumesRole(c.request.action);
  const one = (doc: unknown, name: string, kind: PolicyKind): CompiledPolicy | undefined => {
    const { policy, findings } = parsePolicy(doc, { file: name, kind, trust: trust && kind === 'resource' });
    errors.push(...findings.filter((f) => f.severity === 'error'));
    return policy && compilePolicy(policy, name, kind);
  };
  const many = (docs: unknown[] | undefined, label: string, kind: PolicyKind): CompiledPolicy[] =>
    (docs ?? []).flatMap((d, i) => one(d, `${label}[${i}]`, kind) ?? []);
  const p = c.policies;
  const identity = many(p.identity, 'identity', 'identity');
  const scp = many(p.scp, 'scp', 'scp');
  const rcp = many(p.rcp, 'rcp', 'rcp');
  const session = many(p.session, 'session', 'session');
  const boundary = p.boundary === undefined ? undefined : one(p.boundary, 'boundary', 'boundary');
  const resource = p.resource === undefined ? undefined : one(p.resource, 'resource', 'resource');
  if (errors.length > 0) return { errors };
  return {
    set: {
      identity,
      ...(boundary ? { boundary } : {}),
      ...(resource ? { resource } : {}),
      ...(p.scp ? { scp } : {}),
      ...(p.rcp ? { rcp } : {}),
      ...(p.session ? { session } : {}),
    },
    errors,
  };
}

const USAGE = 'usage: iamgate simulate --cases FILE.json [--explain]';
const HELP = `${USAGE}

Runs authorization cases through the policy engine and prints one JSON line per case,
{"name", "decision", "matched": [...]}; where cases carry "expect", a last line
"N cases, M as expected". The case format is in docs/policy-evaluation.md.

  --cases FILE.json  a JSON array of cases
  --explain          add why each decision was made ("explain")

Exits 0 when every case with "expect" got it, 1 when one did not, 2 on a usage error or a
cases file that cannot be read (missing, malformed JSON with its line and column, a case of the
wrong shape or with a key the format does not have, a key given twice outside a policy document). A case whose policies do not validate
(a key given twice in one among them) prints "decision": "Error" with its findings.`;

// A key given twice inside a case's policy document (`[3].policies.identity[0].Statement[0].Effect`):
// the case, its policy label and the key's path in that policy.
const KEY_IN_POLICY = /^\[(\d+)\]\.policies\.((?:identity|scp|rcp|session)\[\d+\]|boundary|resource)\.(.+)$/;

interface ReadCases {
  readonly cases: SimulationCase[];
  /** Per case, the keys its policy documents give twice, as those policies' DUPLICATE_KEY findings. */
  readonly duplicates: ReadonlyMap<number, Finding[]>;
}

/**
 * Sorts the keys a cases file gives twice: one inside a policy document is an error of that policy,
 * which the validator and the gateway refuse too (JSON readers disagree on which value counts);
 * one anywhere else leaves the case itself ambiguous, so the file is refused.
 */
function sortDuplicates(paths: readonly string[]): Map<number, Finding[]> | string {
  const byCase = new Map<number, Finding[]>();
  for (const path of paths) {
    const m = KEY_IN_POLICY.exec(path);
    if (!m) return `${path}: the key is given more than once`;
    const [, index = '', file = '', at = ''] = m;
    const finding: Finding = { severity: 'error', code: 'DUPLICATE_KEY', path: at, message: `"${at}" is given more than once`, file };
    byCase.set(Number(index), [...(byCase.get(Number(index)) ?? []), finding]);
  }
  return byCase;
}

/** Reads the cases file into cases, or a one-line reason it cannot. */
async function readCases(file: string): Promise<ReadCases | string> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    return knownFileReason(err) ?? (err instanceof Error ? err.message : String(err));
  }
  const json = readJsonText(text);
  if (json.error || !Array.isArray(json.value)) {
    const other = await (await import('./file-kinds.js')).notACasesFile(file);
    if (other !== undefined) return other;
  }
  if (json.error) return `not valid JSON: ${json.error.message} at line ${json.error.line}, column ${json.error.column}`;
  const inexact = json.inexactNumbers[0];
  if (inexact) return `${inexact.path}: ${describeInexactNumber(inexact.text)}`;
  const duplicates = sortDuplicates(json.duplicateKeys);
  if (typeof duplicates === 'string') return duplicates;
  try {
    if (!Array.isArray(json.value)) throw new CaseFormatError('the file must hold a JSON array of cases');
    return { cases: json.value.map(checkCase), duplicates };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Runs the simulate command; returns the process exit code. */
export async function runSimulate(argv: readonly string[], io: CliIo): Promise<number> {
  let file: string | undefined;
  let explain = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      io.stdout(HELP);
      return EXIT.ok;
    }
    if (arg === '--cases') file = argv[++i];
    else if (arg === '--explain') explain = true;
    else {
      io.stderr(`iamgate simulate: ${unknownArgument(arg ?? '', ['--cases', '--explain', '--help'])}\n${USAGE}`);
      return EXIT.usage;
    }
  }
  if (!file) {
    io.stderr(`iamgate simulate: no --cases FILE given\n${USAGE}`);
    return EXIT.usage;
  }
  const read = await readCases(file);
  if (typeof read === 'string') {
    io.stderr(`iamgate simulate: ${file}: ${read}`);
    return EXIT.usage;
  }
  let expected = 0;
  let withExpect = 0;
  for (const [i, c] of read.cases.entries()) {
    const { set, errors } = buildSet(c, read.duplicates.get(i) ?? []);
    if (!set) {
      io.stdout(JSON.stringify({ name: c.name, decision: 'Error', matched: [], errors }));
      if (c.expect) withExpect++;
      continue;
    }
    const decision = evaluate(set, {
      principal: c.request.principal,
      action: c.request.action,
      resource: c.request.resource,
      context: createContext(c.request.context ?? {}),
    });
    const line: Record<string, unknown> = {
      name: c.name,
      decision: decision.decision,
      matched: decision.matched.map(statementLabel),
    };
    if (explain) line['explain'] = explainDecision(decision);
    if (c.expect) {
      withExpect++;
      if (c.expect === decision.decision) expected++;
      else line['expected'] = c.expect;
    }
    io.stdout(JSON.stringify(line));
  }
  if (withExpect > 0) io.stdout(`${withExpect} cases, ${expected} as expected`);
  return expected === withExpect ? EXIT.ok : EXIT.failed;
}
