// The policy engine's plain data: what goes in (documents, requests) and what comes out
// (findings, decisions). Nothing here knows about HTTP, Redis or tokens.

/** A JSON value as it appears in a policy document before validation. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** Severity of a validation finding, as IAM Access Analyzer's policy checks grade them. */
export type Severity = 'error' | 'warning' | 'security' | 'suggestion';

/** One problem found in a policy document (or directory / route file), located by JSON path. */
export interface Finding {
  readonly severity: Severity;
  /** Stable, machine-readable code, e.g. `UNKNOWN_CONDITION_OPERATOR`. */
  readonly code: string;
  /** JSON path inside the document, e.g. `Statement[2].Condition.NumericLessThan.aws:x`. */
  readonly path: string;
  readonly message: string;
  /** The file the document came from, when it came from a file. */
  readonly file?: string;
}

export type Effect = 'Allow' | 'Deny';

export type PolicyVersion = '2012-10-17' | '2008-10-17';

/** A single scalar a request context key can hold. */
export type ContextScalar = string | number | boolean;

/** A context value: a scalar, or a set of scalars for multivalued keys (an empty array is a present, empty set). */
export type ContextValue = ContextScalar | readonly ContextScalar[];

/**
 * Request context with key names lower-cased (IAM condition key names are case-insensitive).
 * Build it with `createContext` so every lookup can use the lower-case name.
 */
export type RequestContext = ReadonlyMap<string, ContextValue>;

/** The request an authorization decision is about. */
export interface AuthzRequest {
  /** ARN of the calling principal, e.g. `arn:aws:iam::111122223333:user/alice`. */
  readonly principal: string;
  /** `service:Action`, matched case-insensitively. */
  readonly action: string;
  /** ARN of the resource (or `*`), matched case-sensitively. */
  readonly resource: string;
  readonly context: RequestContext;
}

/** Where a policy sits in AWS's evaluation logic. */
export type PolicyKind = 'identity' | 'resource' | 'boundary' | 'scp' | 'rcp' | 'session';

/** The result of an evaluation, as a value (never an exception). */
export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Identifies one statement of one policy. */
export interface StatementRef {
  /** The policy's name: a managed policy name, or a positional label such as `identity[0]`. */
  readonly policy: string;
  readonly kind: PolicyKind;
  /** Index in the policy's Statement array (0 when Statement was a single object). */
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
}

/**
 * Why a request was implicitly denied: which policy type had no allow.
 * `no_identity_allow` also covers "no resource policy allow" for cross-account requests.
 */
export type ImplicitDenyReason =
  | 'no_identity_allow'
  | 'no_resource_allow'
  | 'scp_no_allow'
  | 'boundary_no_allow'
  | 'session_no_allow'
  | 'trust_policy_no_allow';

/** A condition that stopped a statement from applying, for explanations. */
export interface ConditionFailure {
  /** `Statement[1].Condition.Bool.aws:MultiFactorAuthPresent` style path. */
  readonly path: string;
  readonly operator: string;
  /** The condition key as written in the policy. */
  readonly key: string;
  /**
   * `missing` when the key was absent from the context, `unreadable` when a value of it is not one
   * the operator reads (text that is not a number under `Numeric*`, not a date, an address, ...),
   * else `mismatch`.
   */
  readonly why: 'missing' | 'mismatch' | 'unreadable';
}

/** A statement that matched action and resource but whose conditions failed: what came closest. */
export interface NearMiss {
  readonly statement: StatementRef;
  readonly failed: readonly ConditionFailure[];
}

/**
 * A decision, as a value. Values are immutable and may be shared: a decision made by one statement
 * alone, and each implicit deny, is one frozen value handed to every request it decides.
 */
export interface Decision {
  readonly decision: DecisionKind;
  /** Statements that decided: the matching Deny statements, or the Allow statements that granted. */
  readonly matched: readonly StatementRef[];
  /** For an implicit deny, which required policy type gave no allow. */
  readonly implicitReason?: ImplicitDenyReason;
  /** For a deny: Allow statements that matched action and resource but failed on conditions. */
  readonly nearMisses?: readonly NearMiss[];
}

/** `Principal` / `NotPrincipal` after parsing: `*`, or lists per principal type. */
export type PrincipalSpec =
  | '*'
  | {
      readonly AWS?: readonly string[];
      readonly Service?: readonly string[];
      readonly Federated?: readonly string[];
      readonly CanonicalUser?: readonly string[];
    };

/** One condition test: operator, key, and the values (OR'ed), as written. */
export interface ParsedCondition {
  /** Operator name as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** Condition key as written, e.g. `aws:PrincipalTag/team`. */
  readonly key: string;
  readonly values: readonly ContextScalar[];
  /** JSON path of this key inside the document, e.g. `Statement[0].Condition.StringEquals.aws:username`. */
  readonly path: string;
}

/** A validated statement; every list is normalised from "string or array". */
export interface ParsedStatement {
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly principal?: PrincipalSpec;
  readonly notPrincipal?: PrincipalSpec;
  /** All condition tests of the statement (AND'ed), in document order. */
  readonly conditions: readonly ParsedCondition[];
}

/** A validated policy document. A missing `Version` parses as 2008-10-17, as in AWS (no policy variables). */
export interface ParsedPolicy {
  readonly version: PolicyVersion;
  readonly id?: string;
  readonly statements: readonly ParsedStatement[];
}
