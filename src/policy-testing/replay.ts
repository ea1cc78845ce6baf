// Replaying an audit trail against a candidate policy folder: each request decision of the trail
// is decided again, offline, and every decision that would change is reported.
//
// A record holds the caller's ARN, whether a second factor was presented, the method, the
// normalised path (without its query), the source address and the time. It does not hold the
// query string, the request headers (User-Agent, Referer, headers a route reads), whether TLS was
// used, or what the token asserted beyond MFA (tags, groups, a role session's session policy and
// tags, a web identity's provider, sub and aud). So a record is replayed when the candidate's
// policies for that principal and route read none of those facts; otherwise it is replayed as an
// approximation and marked with what is missing.
import { firstReadings, readRecord, type AuditRecord, type TrailEntry } from '../audit/index.js';
import { normalizeTarget, UNKNOWN_SOURCE_ADDRESS } from '../gateway/index.js';
import { policySetKeys } from '../policy/index.js';
import { decideOffline, resolvePrincipal, type PrincipalSpec } from './decide.js';
import type { PolicyWorld } from './world.js';

/** Reasons that the policies (or the route map) gave; any other denial happened before a decision. */
const POLICY_REASONS: ReadonlySet<string> = new Set(['allowed', 'explicit_deny', 'implicit_deny', 'mfa_required', 'no_route']);
const REQUEST_KINDS: ReadonlySet<string> = new Set(['request', 'forward_auth']);
/** Keys the gateway sets from facts a record does not keep. */
const UNRECORDED_KEYS: Readonly<Record<string, string>> = {
  'aws:useragent': 'the User-Agent header',
  'aws:referer': 'the Referer header',
  'aws:securetransport': 'whether TLS was used',
  'aws:multifactorauthage': 'when the second factor was presented',
  'aws:tokenissuetime': 'when the token was issued',
};
const ASSUMED_ROLE = /^arn:[^:]+:sts::[^:]*:assumed-role\/([^/]+)\/(.+)$/;

export interface ReplayedChange {
  readonly ref: string;
  readonly requestId?: string;
  readonly time: string;
  readonly principal: string;
  readonly method: string;
  readonly path: string;
  readonly action?: string;
  readonly before: { readonly decision: string; readonly reason: string };
  readonly after: { readonly decision: 'Allow' | 'Deny'; readonly reason: string };
  /** Facts the decision may depend on that the record does not hold; empty when the replay is exact. */
  readonly missing: readonly string[];
}

export interface ReplayReport {
  readonly records: number;
  readonly replayed: number;
  /** Replayed, but the candidate reads facts the trail does not hold. */
  readonly approximate: number;
  readonly changes: readonly ReplayedChange[];
  /** Records not replayed, counted by why. */
  readonly skipped: Readonly<Record<string, number>>;
}

/** Who a record's principal was: a role session keeps its session name and the source identity it carried. */
function principalSpec(arn: string, mfa: boolean, sourceIdentity: string | undefined): PrincipalSpec {
  const session = ASSUMED_ROLE.exec(arn);
  if (!session) return { arn, mfa };
  return { role: session[1] as string, sessionName: session[2] as string, mfa, ...(sourceIdentity !== undefined ? { sourceIdentity } : {}) };
}

/**
 * Whether the keys name a web identity's facts: `aws:FederatedProvider`, or a provider's own
 * `PREFIX:sub` / `PREFIX:aud` (any key outside `aws:` and `iamgate:` ending so).
 */
function readsWebIdentity(keys: ReadonlySet<string>): boolean {
  for (const key of keys) {
    if (key === 'aws:federatedprovider') return true;
    if ((key.endsWith(':sub') || key.endsWith(':aud')) && !key.startsWith('aws:') && !key.startsWith('iamgate:')) return true;
  }
  return false;
}

/** What the candidate's decision could depend on that the record does not hold. */
function missingFacts(keys: ReadonlySet<string>, routeKeys: readonly { key: string; from: string }[], roleSession: boolean): string[] {
  const missing: string[] = [];
  for (const [key, what] of Object.entries(UNRECORDED_KEYS)) if (keys.has(key)) missing.push(what);
  for (const r of routeKeys) if (keys.has(r.key.toLowerCase())) missing.push(`${r.key} (from the ${r.from})`);
  if (roleSession) missing.push("the session's session policy and tags");
  // A user's token may assert tags over the directory's (aws:PrincipalTag/*); the record keeps none.
  else if ([...keys].some((k) => k.startsWith('aws:principaltag/'))) missing.push('the tags the token asserted');
  if (roleSession && readsWebIdentity(keys)) missing.push("the web identity's provider, sub and aud");
  return missing;
}

/** Re-decides every request decision of a trail under a candidate policy folder. */
export async function replayTrail(entries: AsyncIterable<TrailEntry> | Iterable<TrailEntry>, world: PolicyWorld): Promise<ReplayReport> {
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const changes: ReplayedChange[] = [];
  let records = 0;
  let replayed = 0;
  let approximate = 0;
  const firstTime = firstReadings();
  for await (const entry of entries) {
    const read = readRecord(entry.text);
    if (read === undefined) {
      skip('not an audit record');
      continue;
    }
    if (!firstTime(read)) {
      skip('repeats a record already read');
      continue;
    }
    const r: Partial<AuditRecord> = read;
    records++;
    if (!REQUEST_KINDS.has(r.kind ?? '')) {
      skip(`not a request decision (${String(r.kind)})`);
      continue;
    }
    if (!POLICY_REASONS.has(r.reason ?? '')) {
      skip(`refused before any policy decision (${String(r.reason)})`);
      continue;
    }
    const arn = r.principal?.arn;
    const time = typeof r.time === 'string' ? Date.parse(r.time) : NaN;
    if (arn === undefined || typeof r.method !== 'string' || typeof r.path !== 'string' || Number.isNaN(time)) {
      skip('missing principal, method, path or time');
      continue;
    }
    const sourceIdentity = r.principal?.sourceIdentity;
    const spec = principalSpec(arn, r.authn?.mfa === true, typeof sourceIdentity === 'string' ? sourceIdentity : undefined);
    const principal = resolvePrincipal(world, spec, time);
    // Builds before UNKNOWN_SOURCE_ADDRESS recorded an address they could not read as "", which
    // Null reads as null: replayed as such, an Allow on a null address would grant it.
    const context = typeof r.sourceIp === 'string' ? { 'aws:SourceIp': r.sourceIp === '' ? UNKNOWN_SOURCE_ADDRESS : r.sourceIp } : {};
    const d = principal
      ? decideOffline(world, principal, { method: r.method, path: r.path }, context, time)
      : { decision: 'ImplicitDeny' as const, reason: 'unknown_principal' as const, explanation: [] };
    replayed++;
    const target = normalizeTarget(r.path, world.pathRules);
    const match = target.ok ? world.routes.match(r.method, target.target.segments, target.target.path) : undefined;
    const routeKeys = (match?.context ?? []).map((c) => ({ key: c.key, from: c.from === 'query' ? `query parameter ${c.name}` : `header ${c.name}` }));
    const missing = principal ? missingFacts(policySetKeys(principal.policySet), routeKeys, spec.role !== undefined) : [];
    if (missing.length > 0) approximate++;
    const after = d.decision === 'Allow' ? 'Allow' : 'Deny';
    if (after === r.decision && (after === 'Allow' || d.reason === r.reason)) continue;
    changes.push({
      ref: entry.ref,
      ...(typeof r.requestId === 'string' ? { requestId: r.requestId } : {}),
      time: r.time as string,
      principal: arn,
      method: r.method,
      path: r.path,
      ...(d.action !== undefined ? { action: d.action } : {}),
      before: { decision: String(r.decision), reason: String(r.reason) },
      after: { decision: after, reason: d.reason },
      missing,
    });
  }
  return { records, replayed, approximate, changes, skipped };
}
