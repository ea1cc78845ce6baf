// Builds the event body from what the caller passed, copying only the named fields, each checked
// and bounded. Extra keys (headers, tokens, codes) are never read, so they can never be written;
// a string that still looks like a bearer token is replaced. This is the record's reference layout,
// plain and easy to check; the audit log writes the same text faster with encode.ts, and
// test/audit/encode.test.ts holds the two to the same bytes.
import type { UnsealedRecord } from './chain.js';
import type {
  AuditAuthn,
  AuditDecision,
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

export const KINDS: ReadonlySet<string> = new Set<AuditKind>([
  'request',
  'forward_auth',
  'ext_authz',
  'sts',
  'mfa',
  'policy_reload',
  'revocation',
  'outcome',
  'tunnel_close',
]);
export const CACHE_LEVELS: ReadonlySet<string> = new Set<CacheLevel>(['l1', 'l2', 'miss', 'off']);

export const REDACTED = '[redacted]';

/** Where the builder gets time and identifiers from. */
export interface BuildDeps {
  readonly now: () => number;
  readonly randomId: () => string;
  /** Formats `now()` as ISO 8601 (a per-millisecond memo on the audit log's path). */
  readonly isoTime?: (ms: number) => string;
}

/**
 * Ends a string cut to its field's limit. A kept string is never longer than the limit, so a
 * string that is (its first `limit` characters, then this mark) is always a cut one, never a whole
 * value that happens to end the same way: two values recorded alike are the same value. A record
 * re-encoded to fit one pipe write (fit.ts) cuts at fewer characters than the field's limit: there
 * a string ending in the mark may also be a whole value that ends with it.
 */
export const CUT_MARK = '\u2026';

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * `value` cut to its first `limit` UTF-16 units followed by CUT_MARK, a surrogate pair at the
 * boundary kept whole (the record holds no lone surrogate a cut made); `value` itself when it fits.
 */
export function cutText(value: string, limit: number): string {
  if (value.length <= limit) return value;
  const end = limit > 0 && isHighSurrogate(value.charCodeAt(limit - 1)) ? limit + 1 : limit;
  return value.slice(0, end) + CUT_MARK;
}

/**
 * The string a field keeps: replaced when it holds a bearer token, else cut to `limit` with a mark
 * (cutText); undefined for a non-string. The whole value is searched before any cut: a cut that
 * ended a token before its second dot would leave its header and part of its payload unrecognised.
 */
export function text(value: unknown, limit: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const kept = withoutBearerToken(value);
  return kept.length > limit ? cutText(kept, limit) : kept;
}

/** `value`, or REDACTED when it holds a bearer token anywhere: for records, and for log lines that quote a caller's input. */
export function withoutBearerToken(value: string): string {
  return holdsBearerToken(value) ? REDACTED : value;
}

/** Whether `code` is a base64url character (A-Z, a-z, 0-9, `-`, `_`). */
function isBase64Url(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x5f;
}

/** Where the run of base64url characters starting at `from` ends. */
function endOfRun(value: string, from: number): number {
  let i = from;
  while (i < value.length && isBase64Url(value.charCodeAt(i))) i++;
  return i;
}

/**
 * Where the first JWT in `value` at or after `from` starts (its `eyJ`), or -1: `eyJ` (a JSON
 * header's start) and at least four more base64url characters, a dot, at least four base64url
 * characters, a dot; with `orCut`, also one that ends before that second dot (text some library cut
 * short, its payload's start still in it). One pass over the value, whatever it holds: an `eyJ` inside a run that failed
 * ends where that run ends and fails the same way, so the search goes on after the run (a
 * backtracking regex took quadratic time on `eyJeyJeyJ...`: seconds for a 64 KB value a caller chose).
 */
function findBearerToken(value: string, from: number, orCut: boolean): number {
  for (let at = value.indexOf('eyJ', from); at !== -1; ) {
    const header = endOfRun(value, at + 3);
    if (header - at >= 7 && value.charCodeAt(header) === 0x2e) {
      const payload = endOfRun(value, header + 1);
      if (payload - header - 1 >= 4 && (orCut || value.charCodeAt(payload) === 0x2e)) return at;
    }
    at = value.indexOf('eyJ', Math.max(header, at + 1));
  }
  return -1;
}

/** Whether `value` holds a JWT anywhere (findBearerToken). */
export function holdsBearerToken(value: string): boolean {
  return findBearerToken(value, 0, false) !== -1;
}

/**
 * `text` with every JWT in it replaced by REDACTED and the rest kept: from its `eyJ` to the end of
 * its last dot-separated part (a JWE's five parts included), for text that quotes input among other
 * words, such as a log line. A token cut short after its header's dot counts too: a library quoting
 * input (a YAML error's excerpt, say) may have ended it before its second dot.
 */
export function withBearerTokensRedacted(text: string): string {
  let at = findBearerToken(text, 0, true);
  if (at === -1) return text;
  let out = '';
  let kept = 0;
  while (at !== -1) {
    let end = endOfRun(text, at + 3);
    while (text.charCodeAt(end) === 0x2e) end = endOfRun(text, end + 1);
    out += text.slice(kept, at) + REDACTED;
    kept = end;
    at = findBearerToken(text, end, true);
  }
  return out + text.slice(kept);
}

export function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined;
}

/**
 * Builders below insert members in sorted order, so that JSON.stringify of a built record is its
 * canonical form (see chain.ts; verification re-sorts and would notice any drift).
 */
type Out = Record<string, unknown>;

function put(out: Out, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

function principalOf(value: AuditPrincipal | undefined): Out | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const out: Out = { arn: text(value.arn, FIELD_LIMITS.arn) ?? '' };
  put(out, 'session', text(value.session, FIELD_LIMITS.name));
  put(out, 'sourceIdentity', text(value.sourceIdentity, FIELD_LIMITS.name));
  out['type'] = text(value.type, FIELD_LIMITS.name) ?? '';
  return out;
}

function authnOf(value: AuditAuthn | undefined): Out | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const out: Out = {};
  put(out, 'issuer', text(value.issuer, FIELD_LIMITS.issuer));
  if (Array.isArray(value.methods)) {
    const methods: string[] = [];
    for (const m of value.methods.slice(0, FIELD_LIMITS.methods)) {
      const method = text(m, FIELD_LIMITS.method);
      if (method !== undefined) methods.push(method);
    }
    out['methods'] = methods;
  }
  if (typeof value.mfa === 'boolean') out['mfa'] = value.mfa;
  return out;
}

function statementsOf(value: readonly AuditStatement[] | undefined): Out[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Out[] = [];
  for (const s of value.slice(0, FIELD_LIMITS.statements)) {
    if (s === null || typeof s !== 'object') continue;
    const statement: Out = { policy: text(s.policy, FIELD_LIMITS.name) ?? '' };
    put(statement, 'sid', text(s.sid, FIELD_LIMITS.name));
    out.push(statement);
  }
  return out;
}

function upstreamOf(value: AuditUpstream | undefined): Out | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  const out: Out = {};
  put(out, 'error', text(value.error, FIELD_LIMITS.reason));
  put(out, 'latencyMs', latencyOf(value.latencyMs));
  put(out, 'status', integer(value.status));
  return out;
}

/** `ExplicitDeny` and `ImplicitDeny` (the engine's words) are recorded as `Deny`; the reason code keeps which. */
export function decisionOf(value: AuditEventInput['decision']): AuditDecision | undefined {
  if (value === 'Allow') return 'Allow';
  if (value === 'Deny' || value === 'ExplicitDeny' || value === 'ImplicitDeny') return 'Deny';
  return undefined;
}

/** Drops the query string and fragment: they can carry credentials and are not part of the decision's path. */
export function pathOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const query = value.indexOf('?');
  const fragment = value.indexOf('#');
  const cut = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return text(cut === -1 ? value : value.slice(0, cut), FIELD_LIMITS.path);
}

/** Upstream latency as recorded: milliseconds rounded to the microsecond; undefined unless that is a finite number. */
export function latencyOf(value: unknown): number | undefined {
  if (typeof value !== 'number') return undefined;
  const rounded = Math.round(value * 1000) / 1000;
  return Number.isFinite(rounded) ? rounded : undefined;
}

/**
 * Builds an event from the caller's input: named fields only, strings bounded, tokens redacted,
 * the query string dropped, laid out for the chain to seal. Throws TypeError for an unknown kind
 * (a programming error, not input).
 */
export function buildAuditEvent(input: AuditEventInput, deps: BuildDeps): UnsealedRecord {
  if (!KINDS.has(input.kind)) throw new TypeError(`unknown audit event kind: ${String(input.kind)}`);
  const out: Out = {};
  put(out, 'action', text(input.action, FIELD_LIMITS.action));
  put(out, 'authn', authnOf(input.authn));
  if (typeof input.cache === 'string' && CACHE_LEVELS.has(input.cache)) out['cache'] = input.cache;
  put(out, 'decision', decisionOf(input.decision));
  out['eventId'] = deps.randomId();
  out['instanceId'] = undefined;
  out['kind'] = input.kind;
  put(out, 'method', text(input.method, FIELD_LIMITS.method));
  put(out, 'path', pathOf(input.path));
  put(out, 'policyGeneration', integer(input.policyGeneration));
  out['prev'] = undefined;
  put(out, 'principal', principalOf(input.principal));
  out['reason'] = text(input.reason, FIELD_LIMITS.reason) ?? 'unspecified';
  put(out, 'requestId', text(input.requestId, FIELD_LIMITS.id));
  put(out, 'resource', text(input.resource, FIELD_LIMITS.resource));
  out['schemaVersion'] = SCHEMA_VERSION;
  out['seq'] = undefined;
  if (input.shadow === 'would_allow' || input.shadow === 'would_deny') out['shadow'] = input.shadow;
  put(out, 'sourceIp', text(input.sourceIp, FIELD_LIMITS.ip));
  put(out, 'statements', statementsOf(input.statements));
  put(out, 'status', integer(input.status));
  out['time'] = deps.isoTime ? deps.isoTime(deps.now()) : new Date(deps.now()).toISOString();
  put(out, 'traceId', text(input.traceId, FIELD_LIMITS.id));
  put(out, 'upstream', upstreamOf(input.upstream));
  // Every member was checked above; the cast only says so to the type system.
  return out as unknown as UnsealedRecord;
}
