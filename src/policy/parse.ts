// Parsing and validating a policy document: JSON text or a value in, a ParsedPolicy and findings
// out, the way IAM Access Analyzer's policy checks grade them. The checks live in ./validate/.
import type { Finding, ParsedPolicy, PolicyKind } from './types.js';
import { checkAwsLimits } from './validate/checks-aws-limits.js';
import { checkIneffective } from './validate/checks-ineffective.js';
import { checkRedundancy } from './validate/checks-redundancy.js';
import { checkConditionValues } from './validate/checks-values.js';
import { checkSecurity } from './validate/checks-security.js';
import { readPolicyDocument } from './validate/document.js';
import { createFindingSink } from './validate/findings.js';
import { describeInexactNumber, givenTwice, readJsonText } from './validate/json-text.js';

export interface ParseOptions {
  /** Recorded on every finding. */
  readonly file?: string;
  /** Where the policy is used; decides whether principals are required. Inferred when absent. */
  readonly kind?: PolicyKind;
  /** The document is a role's trust policy (a resource-based policy), which takes no NotPrincipal. */
  readonly trust?: boolean;
}

export interface ParseResult {
  /** The validated policy, or undefined when any finding is an error. */
  readonly policy: ParsedPolicy | undefined;
  readonly findings: Finding[];
}

/** Parses a policy document (a JSON string or an already-parsed value) and reports every finding. */
export function parsePolicy(doc: unknown, opts: ParseOptions = {}): ParseResult {
  const sink = createFindingSink(opts.file);
  let value = doc;
  let readable = true;
  if (typeof doc === 'string') {
    const text = readJsonText(doc);
    for (const path of text.duplicateKeys) sink.add('DUPLICATE_KEY', path, givenTwice(path));
    for (const { path, text: number } of text.inexactNumbers) {
      sink.add('INEXACT_NUMBER', path, describeInexactNumber(number));
    }
    if (text.error) {
      const { message, line, column } = text.error;
      sink.add('JSON_SYNTAX_ERROR', '', `${message} at line ${line}, column ${column}`);
      readable = false;
    }
    value = text.value;
  }
  const read = readable ? readPolicyDocument(value, opts.kind, sink, opts.trust === true) : undefined;
  if (read) {
    checkSecurity(read, sink);
    checkRedundancy(read, sink);
    checkConditionValues(read, sink);
    checkIneffective(read, sink);
    checkAwsLimits(value, { kind: read.kind, trust: opts.trust === true }, sink);
  }
  const policy = read && sink.errorCount() === 0 ? read.policy : undefined;
  return { policy, findings: [...sink.findings] };
}
