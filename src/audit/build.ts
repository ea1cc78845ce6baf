// Builds the event body from what the caller passed, copying only the named fields, each checked
// and bounded. Extra keys (headers, tokens, codes) are never read, so they can never be written;
// a string that still looks like a bearer token is replaced.
import type {
  AuditAuthn,
  AuditDecision,
  AuditEventBody,
  AuditEventInput,
  AuditKind,
  AuditPrincipal,
  AuditStatement,
  AuditUpstream,
  CacheLevel,
} from './schema.js';
import { SCHEMA_VERSION } from './schema.js';

/** Longest value kept for each string field; the sum keeps a record under 4 KiB (one atomic pipe write). */
export const FIELD_LIMITS = {
  id: 64,
  arn: 256,
  name: 64,
  issuer: 200,
  action: 128,
  resource: 512,
  path: 768,
  reason: 64,
  ip: 64,
  method: 16,
  statements: 6,
  methods: 4,
} as const;

const KINDS: ReadonlySet<string> = new Set<AuditKind>([
  'request',
  'forward_auth',
  'sts',
  'mfa',
  'policy_reload',
  'revocation',
  'outcome',
]);
const CACHE_LEVELS: ReadonlySet<string> = new Set<CacheLevel>(['l1', 'l2', 'miss', 'off']);

/** A JWT (three base64url parts, the first a JSON header) anywhere in a string. */
const BEARER_TOKEN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\./;
export const REDACTED = '[redacted]';

/** Where the builder gets time and identifiers from. */
export interface BuildDeps {
  readonly now: () => number;
  readonly randomId: () => string;
}

function text(value: unknown, limit: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const bounded = value.length > limit ? value.slice(0, limit) : value;
  return BEARER_TOKEN.test(bounded) ? REDACTED : bounded;
}

function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined;
}

function principalOf(value: AuditPrincipal | undefined): AuditPrincipal | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  return omitUndefined({
    arn: text(value.arn, FIELD_LIMITS.arn) ?? '',
    type: text(value.type, FIELD_LIMITS.name) ?? '',
    session: text(value.session, FIELD_LIMITS.name),
    sourceIdentity: text(value.sourceIdentity, FIELD_LIMITS.name),
  });
}

function authnOf(value: AuditAuthn | undefined): AuditAuthn | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const methods = Array.isArray(value.methods)
    ? value.methods
        .slice(0, FIELD_LIMITS.methods)
        .map((m) => text(m, FIELD_LIMITS.method))
        .filter((m): m is string => m !== undefined)
    : undefined;
  return omitUndefined({
    issuer: text(value.issuer, FIELD_LIMITS.issuer),
    methods,
    mfa: typeof value.mfa === 'boolean' ? value.mfa : undefined,
  });
}

function statementsOf(value: readonly AuditStatement[] | undefined): AuditStatement[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: AuditStatement[] = [];
  for (const s of value.slice(0, FIELD_LIMITS.statements)) {
    if (s === null || typeof s !== 'object') continue;
    out.push(omitUndefined({ policy: text(s.policy, FIELD_LIMITS.name) ?? '', sid: text(s.sid, FIELD_LIMITS.name) }));
  }
  return out;
}

function upstreamOf(value: AuditUpstream | undefined): AuditUpstream | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const latency = value.latencyMs;
  return omitUndefined({
    status: integer(value.status),
    latencyMs: typeof latency === 'number' && Number.isFinite(latency) ? Math.round(latency * 1000) / 1000 : undefined,
    error: text(value.error, FIELD_LIMITS.reason),
  });
}

/** `ExplicitDeny` and `ImplicitDeny` (the engine's words) are recorded as `Deny`; the reason code keeps which. */
function decisionOf(value: AuditEventInput['decision']): AuditDecision | undefined {
  if (value === 'Allow') return 'Allow';
  if (value === 'Deny' || value === 'ExplicitDeny' || value === 'ImplicitDeny') return 'Deny';
  return undefined;
}

/** Drops the query string and fragment: they can carry credentials and are not part of the decision's path. */
function pathOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cut = value.search(/[?#]/);
  return text(cut === -1 ? value : value.slice(0, cut), FIELD_LIMITS.path);
}

type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/** Returns the object without its undefined members (exactOptionalPropertyTypes forbids storing them). */
function omitUndefined<T extends object>(value: T): Defined<T> {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value as Defined<T>;
}

/**
 * Builds an event body from the caller's input: named fields only, strings bounded, tokens redacted,
 * the query string dropped. Throws TypeError for an unknown kind (a programming error, not input).
 */
export function buildAuditEvent(input: AuditEventInput, deps: BuildDeps): AuditEventBody {
  if (!KINDS.has(input.kind)) throw new TypeError(`unknown audit event kind: ${String(input.kind)}`);
  return omitUndefined({
    schemaVersion: SCHEMA_VERSION,
    kind: input.kind,
    time: new Date(deps.now()).toISOString(),
    eventId: deps.randomId(),
    requestId: text(input.requestId, FIELD_LIMITS.id),
    principal: principalOf(input.principal),
    authn: authnOf(input.authn),
    action: text(input.action, FIELD_LIMITS.action),
    resource: text(input.resource, FIELD_LIMITS.resource),
    decision: decisionOf(input.decision),
    reason: text(input.reason, FIELD_LIMITS.reason) ?? 'unspecified',
    statements: statementsOf(input.statements),
    cache: typeof input.cache === 'string' && CACHE_LEVELS.has(input.cache) ? input.cache : undefined,
    policyGeneration: integer(input.policyGeneration),
    sourceIp: text(input.sourceIp, FIELD_LIMITS.ip),
    method: text(input.method, FIELD_LIMITS.method),
    path: pathOf(input.path),
    status: integer(input.status),
    upstream: upstreamOf(input.upstream),
  });
}
