// The closed set of policy finding codes, each with its one severity, and the sink that collects
// findings while a document is read. Codes are stable: tools and tests match on them.
import type { Finding, Severity } from '../types.js';

interface CodeInfo {
  readonly severity: Severity;
  /** What the code means, in one line (for docs and `--help`-style listings). */
  readonly title: string;
}

function code(severity: Severity, title: string): CodeInfo {
  return { severity, title };
}

/** Every finding code the policy validator can report. */
export const POLICY_FINDING_CODES = {
  // The document as JSON.
  JSON_SYNTAX_ERROR: code('error', 'The text is not valid JSON'),
  DUPLICATE_KEY: code('error', 'An object names the same key twice, so its meaning is ambiguous'),
  INEXACT_NUMBER: code('error', 'A JSON number has more precision or range than a double holds, so it would be read as another number'),
  POLICY_NOT_OBJECT: code('error', 'The policy document is not a JSON object'),
  DATA_TYPE_MISMATCH: code('error', 'A value has the wrong JSON type for its element'),
  EMPTY_ARRAY: code('error', 'An array that must hold at least one value is empty'),
  // Elements.
  UNKNOWN_KEY: code('error', 'A key (a policy element) is not one this place accepts; names are case-sensitive'),
  INVALID_VERSION: code('error', 'Version is neither 2012-10-17 nor 2008-10-17'),
  MISSING_STATEMENT: code('error', 'The policy has no Statement'),
  DUPLICATE_SID: code('error', 'Two statements share one Sid'),
  INVALID_SID: code('error', 'A Sid of an IAM policy holds characters other than ASCII letters and digits'),
  MISSING_EFFECT: code('error', 'A statement has no Effect'),
  INVALID_EFFECT: code('error', 'Effect is neither Allow nor Deny'),
  MISSING_ACTION: code('error', 'A statement has neither Action nor NotAction'),
  ACTION_AND_NOT_ACTION: code('error', 'A statement has both Action and NotAction'),
  INVALID_ACTION: code('error', 'An action is not `*` or `service:Action`'),
  MISSING_RESOURCE: code('error', 'A statement has neither Resource nor NotResource'),
  RESOURCE_AND_NOT_RESOURCE: code('error', 'A statement has both Resource and NotResource'),
  INVALID_RESOURCE: code('error', 'A resource is not `*` or a well-formed ARN pattern'),
  RESOURCE_TRAILING_BLANK: code('warning', 'A resource ends with a blank, which matches only resources whose names end with one'),
  EMPTY_RESOURCE_PART: code('warning', 'A resource ARN has an empty resource part and matches no resource'),
  TRUST_POLICY_ACTION: code('error', 'A role trust policy names an action other than sts:AssumeRole*, sts:TagSession, sts:SetSourceIdentity or sts:SetContext'),
  TRUST_POLICY_RESOURCE: code('error', 'A role trust policy names a Resource or NotResource (the role is the resource)'),
  RCP_VERSION: code('error', 'A resource control policy is not Version 2012-10-17'),
  RCP_PRINCIPAL: code('error', 'A resource control policy names a Principal other than "*"'),
  RCP_ALLOW: code('error', 'A resource control policy allows other than as RCPFullAWSAccess does; RCPs restrict with Deny'),
  RCP_UNSUPPORTED_ELEMENT: code('error', 'A resource control policy uses NotAction, which RCPs do not support'),
  MISSING_PRINCIPAL: code('error', 'A statement of a resource-based policy or RCP names no Principal or NotPrincipal'),
  UNSUPPORTED_PRINCIPAL: code('error', 'Principal or NotPrincipal appears in a policy that is not resource-based, or NotPrincipal in a trust policy or RCP'),
  PRINCIPAL_AND_NOT_PRINCIPAL: code('error', 'A statement has both Principal and NotPrincipal'),
  ALLOW_WITH_NOT_PRINCIPAL: code('error', 'NotPrincipal with Allow, which IAM does not support: NotPrincipal is for Deny'),
  EMPTY_PRINCIPAL: code('error', 'A Principal object names no principal type'),
  INVALID_PRINCIPAL_KEY: code('error', 'A principal type is not AWS, Service, Federated or CanonicalUser'),
  INVALID_PRINCIPAL: code('error', 'A principal value is malformed for its type'),
  // Conditions.
  UNKNOWN_CONDITION_OPERATOR: code('error', 'A condition operator is not one IAM defines (names are case-sensitive)'),
  NULL_WITH_IF_EXISTS: code('error', 'The Null operator takes no IfExists suffix'),
  NULL_WITH_SET_QUALIFIER: code('error', 'The Null operator takes no ForAllValues/ForAnyValue qualifier'),
  INVALID_CONDITION_KEY: code('error', 'A condition key is not of the form `prefix:name`'),
  UNKNOWN_GLOBAL_CONDITION_KEY: code('warning', 'An `aws:` condition key, or the key a policy variable names, is not a global condition key AWS documents'),
  DUPLICATE_CONDITION_KEY: code('error', 'One operator names the same condition key twice in different case'),
  INVALID_CONDITION_VALUE: code('error', 'A condition value does not fit its operator'),
  EMPTY_CONDITION: code('warning', 'A Condition or operator block is empty and restricts nothing'),
  // Versions and variables.
  MISSING_VERSION: code('warning', 'No Version: the policy is read as 2008-10-17, without policy variables'),
  POLICY_VARIABLE_NOT_SUPPORTED: code('warning', 'A policy variable under Version 2008-10-17 is literal text'),
  INVALID_POLICY_VARIABLE: code('error', 'A `${...}` policy variable under Version 2012-10-17 is malformed or names no `prefix:name` key'),
  MISPLACED_POLICY_VARIABLE: code('error', 'A `${...}` policy variable where IAM substitutes none: in Action, Principal, a condition key, or the partition, service or region of a Resource'),
  // Condition values that do not do what they look like (./checks-values.ts).
  EQUALS_WITH_WILDCARD: code('warning', 'A string equality operator is given * or ?, which it compares as characters, not as wildcards'),
  CONDITION_TYPE_MISMATCH: code('warning', 'A condition operator reads another type than the global key it tests holds (a date, a number, a boolean, an IP address or an ARN)'),
  IP_RANGE_HOST_BITS: code('suggestion', 'An IP block has bits set after its prefix, which are ignored'),
  // Redundancy.
  REDUNDANT_STATEMENT: code('warning', 'A statement repeats an earlier one'),
  EMPTY_SID: code('suggestion', 'A statement has an empty Sid'),
  NOT_ACTION_WILDCARD: code('warning', 'NotAction holds "*", so the statement applies to no action'),
  NOT_RESOURCE_WILDCARD: code('warning', 'NotResource holds "*", so the statement applies to no resource'),
  BOOLEAN_BOTH_VALUES: code('warning', 'A Bool or Null condition lists both true and false, so it no longer tests the value'),
  IF_EXISTS_UNDER_SET_OPERATOR: code('warning', 'IfExists under ForAllValues or ForAnyValue, where a missing key already makes ForAllValues true and ForAnyValue false'),
  REDUNDANT_CONDITION_VALUE: code('suggestion', 'A Numeric less-than or greater-than condition lists limits the widest one covers'),
  REDUNDANT_ACTION: code('suggestion', 'An action is already covered by another in the same list'),
  REDUNDANT_RESOURCE: code('suggestion', 'A resource is already covered by another in the same list'),
  ALLOW_NEVER_APPLIES: code('warning', 'An Allow statement requires a condition key to be both absent and present'),
  // Security.
  ALLOW_ALL_ACTIONS_ALL_RESOURCES: code('security', 'Allow with `*` action on `*` resource grants everything'),
  ALLOW_WITH_NOT_ACTION: code('security', 'Allow with NotAction grants every action not listed, including future ones'),
  ALLOW_WITH_NOT_RESOURCE: code('security', 'Allow with NotResource grants every resource not listed'),
  PASS_ROLE_WILDCARD: code('security', 'iam:PassRole is reachable through a wildcard on every resource'),
  ALLOW_PUBLIC_ACCESS: code('security', 'A resource-based Allow trusts every principal with no condition'),
  DENY_NEVER_APPLIES: code('security', 'A Deny statement requires a condition key to be both absent and present, so it never denies'),
  MFA_DENY_BYPASSABLE: code('security', 'A Deny on aws:MultiFactorAuthPresent without IfExists skips requests that lack the key'),
  FORALLVALUES_WITH_SINGLE_VALUED_KEY: code('security', 'ForAllValues on a single-valued key also matches when the key is absent'),
  MULTIVALUED_POLICY_VARIABLE: code('warning', 'A `${...}` policy variable names a multivalued key, which IAM does not substitute, so the variable never has a value'),
  // What AWS would refuse to store (./checks-aws-limits.ts).
  POLICY_CHARACTER_NOT_ACCEPTED: code('warning', 'A key or value holds a character other than tab, line feed, carriage return or U+0020 to U+00FF, which IAM refuses in a policy document'),
  POLICY_SIZE_QUOTA: code('warning', 'The document is longer, whitespace not counted, than AWS allows a policy of its kind'),
  MISSING_SET_OPERATOR: code('security', 'A condition on a multivalued key has no ForAnyValue or ForAllValues, which IAM requires there'),
} as const satisfies Record<string, CodeInfo>;

export type PolicyFindingCode = keyof typeof POLICY_FINDING_CODES;

/** Collects findings for one document; the severity always comes from the code table. */
export interface FindingSink {
  add(code: PolicyFindingCode, path: string, message: string): void;
  /** Number of error findings so far (a reader compares counts to know whether a part was clean). */
  errorCount(): number;
  readonly findings: readonly Finding[];
}

/** Creates a sink whose findings carry `file` when one is given. */
export function createFindingSink(file?: string): FindingSink {
  const findings: Finding[] = [];
  let errors = 0;
  return {
    add(code, path, message) {
      const severity = POLICY_FINDING_CODES[code].severity;
      if (severity === 'error') errors++;
      findings.push(file === undefined ? { severity, code, path, message } : { severity, code, path, message, file });
    },
    errorCount: () => errors,
    findings,
  };
}
