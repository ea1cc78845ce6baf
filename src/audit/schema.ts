// The audit record, schema version 2: what one line of the trail holds. docs/audit.md describes
// every field; a change to this file that adds, removes or renames a field needs a new version.
// Version 2 added `traceId`; version 1 records (written by older gateways) are read and verified alike.

export const SCHEMA_VERSION = 2;

/** Versions `audit verify` and the reports read: every version written so far. */
export const READABLE_SCHEMA_VERSIONS: ReadonlySet<unknown> = new Set([1, 2]);

/** Kinds of event that record a decision (exactly one per decision). */
export const DECISION_KINDS = ['request', 'forward_auth', 'ext_authz', 'sts', 'mfa', 'policy_reload', 'revocation'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/**
 * Every kind a caller may record: the decision kinds; `outcome`, which carries the upstream's
 * status and latency for an earlier `request` decision with the same request id; and
 * `tunnel_close`, iamgate ending a WebSocket tunnel that request opened (the reason says why).
 */
export type AuditKind = DecisionKind | 'outcome' | 'tunnel_close';

/** Kinds the audit log writes itself to hold the chain together (never passed to `record`). */
export type ChainKind = 'audit.start' | 'audit.digest';

/** A note a sink writes outside the chain when it had to drop records (never passed to `record`). */
export type GapKind = 'audit.gap';

export type AuditDecision = 'Allow' | 'Deny';

/** Which level answered the decision. */
export type CacheLevel = 'l1' | 'l2' | 'miss' | 'off';

export interface AuditPrincipal {
  readonly arn: string;
  /** `user`, `assumed-role`, `web-identity`, `anonymous` ... */
  readonly type: string;
  /** Session name of an assumed-role or web-identity session. */
  readonly session?: string;
  readonly sourceIdentity?: string;
}

export interface AuditAuthn {
  /** The token issuer that vouched for the caller. */
  readonly issuer?: string;
  /** Authentication methods, e.g. `["jwt", "totp"]`. */
  readonly methods?: readonly string[];
  readonly mfa?: boolean;
}

/** A statement that decided: the policy's name and the statement's Sid (when it has one). */
export interface AuditStatement {
  readonly policy: string;
  readonly sid?: string;
}

export interface AuditUpstream {
  readonly status?: number;
  readonly latencyMs?: number;
  /** `unreachable`, `timeout`, `reset` ... when there was no response. */
  readonly error?: string;
}

/**
 * What a caller hands to `AuditLog.record`. Only these fields reach the trail: the builder copies
 * them one by one, so tokens, TOTP codes, secrets or header maps cannot ride along on extra keys.
 */
export interface AuditEventInput {
  readonly kind: AuditKind;
  /** Stable reason code: `allowed`, `explicit_deny`, `implicit_deny`, `mfa_required`, `token_expired` ... */
  readonly reason: string;
  readonly requestId?: string;
  readonly principal?: AuditPrincipal;
  readonly authn?: AuditAuthn;
  readonly action?: string;
  readonly resource?: string;
  /** The engine's `ExplicitDeny` / `ImplicitDeny` are accepted and recorded as `Deny`. */
  readonly decision?: AuditDecision | 'ExplicitDeny' | 'ImplicitDeny';
  readonly statements?: readonly AuditStatement[];
  readonly cache?: CacheLevel;
  readonly policyGeneration?: number;
  /** Shadow evaluation: the candidate policies would decide the other way. */
  readonly shadow?: 'would_allow' | 'would_deny';
  readonly sourceIp?: string;
  readonly method?: string;
  /** The request path; anything from `?` on is dropped (query strings can carry credentials). */
  readonly path?: string;
  /** The HTTP status iamgate answered with. */
  readonly status?: number;
  readonly upstream?: AuditUpstream;
  /** The W3C trace id the request belongs to (the caller's traceparent, or one iamgate started). */
  readonly traceId?: string;
}

/** The event fields after the builder: bounded, cleaned, plus identity and time. */
export interface AuditEventBody extends Omit<AuditEventInput, 'kind' | 'decision'> {
  readonly kind: AuditKind | ChainKind;
  readonly decision?: AuditDecision;
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly time: string;
  readonly eventId: string;
}

/** The signing key a chain's digests are checked with, as the chain's first record publishes it. */
export interface PublishedKey {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly jwk: Readonly<Record<string, string>>;
}

/**
 * How far a writer's chain has been written: every record to `seq` was taken by every sink when
 * the head was read. Published outside the trail (`GET /audit/head`, `/metrics`), it lets
 * `audit verify --head` tell a tail that was cut off from one a crash left.
 */
export interface ChainHead {
  readonly instanceId: string;
  readonly seq: number;
  /** The hash of record `seq`, when it is the last record sealed (nothing waits to be written). */
  readonly hash?: string;
}

/** What a digest record signs, besides its own place in the chain. */
export interface DigestInfo {
  /** First and last sequence number this digest covers (the records since the previous digest). */
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  /** True for the digest written on close: nothing of this chain follows it. */
  readonly final: boolean;
  /** Records each sink has dropped since the chain began (cumulative), by sink name. */
  readonly dropped: Readonly<Record<string, number>>;
}

/** One line of the trail as written: an event (or chain record) sealed into the chain. */
export interface AuditRecord extends AuditEventBody {
  readonly instanceId: string;
  readonly seq: number;
  /** SHA-256 (hex) of the previous record of this chain; 64 zeros for seq 1. */
  readonly prev: string;
  /** On `audit.start`: the key this chain's digests are signed with. */
  readonly key?: PublishedKey;
  /** On `audit.digest`. */
  readonly digest?: DigestInfo;
  /** On `audit.digest`: base64url signature. */
  readonly sig?: string;
  /** SHA-256 (hex) of this record's canonical form without `hash`. */
  readonly hash: string;
}

/** A sink's note that records of a chain were dropped (written outside the chain). */
export interface GapNote {
  readonly kind: GapKind;
  readonly schemaVersion: typeof SCHEMA_VERSION;
  readonly time: string;
  readonly instanceId: string;
  readonly sink: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
}

export const GENESIS_PREV = '0'.repeat(64);
