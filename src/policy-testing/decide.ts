// Deciding one request offline, the way the gateway's pipeline would decide it: the principal
// resolved from the directory, the request mapped through the route map (or given as an action
// and resource), the context built with the gateway's own code, and the caller-facing reason.
import { canPresentMfa, onRole, timeKeys } from '../auth/index.js';
import { buildRequestContext, denyReason, normalizeTarget, syntheticTokenFacts, type RequestFacts } from '../gateway/index.js';
import { roleByArn, type Directory, type Principal } from '../identity/index.js';
import {
  createContext,
  evaluate,
  explainDecision,
  policySetKeys,
  type AuthzRequest,
  type ContextValue,
  type Decision,
  type PolicySet,
  type RequestContext,
} from '../policy/index.js';
import type { PolicyWorld } from './world.js';

/** Who asks: a directory user or role (by name or ARN), with what the token would add. */
export interface PrincipalSpec {
  readonly user?: string;
  readonly role?: string;
  readonly arn?: string;
  readonly mfa?: boolean;
  /** User tags asserted by the token, or session tags of a role session. */
  readonly tags?: Readonly<Record<string, string>>;
  /** A session policy document (role sessions only). */
  readonly sessionPolicy?: unknown;
  readonly sessionName?: string;
  /** The source identity a role session carries (`aws:SourceIdentity`). */
  readonly sourceIdentity?: string;
}

/** What is asked: an HTTP request through the route map, or an action on a resource. */
export type RequestSpec =
  | { readonly method: string; readonly path: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly action: string; readonly resource: string };

export type OfflineReason = 'allowed' | 'explicit_deny' | 'implicit_deny' | 'mfa_required' | 'no_route' | 'bad_path' | 'ambiguous_parameter' | 'unknown_principal';

export interface OfflineDecision {
  readonly decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  readonly reason: OfflineReason;
  readonly action?: string;
  readonly resource?: string;
  /** The route pattern the request matched. */
  readonly route?: string;
  /** The engine's decision and the request it decided, when the request reached the engine. */
  readonly engine?: Decision;
  readonly request?: AuthzRequest;
  /** The policy set it was decided against. */
  readonly set?: PolicySet;
  /** Why, in sentences: the deciding statements or what was missing. */
  readonly explanation: readonly string[];
}

const ISSUER = 'iamgate:offline';
const SESSION = 'offline';
const LOOPBACK = '127.0.0.1';

/** Resolves a principal spec against the directory; undefined when it names nobody there. */
export function resolvePrincipal(world: PolicyWorld, spec: PrincipalSpec, now: number): Principal | undefined {
  const { directory, resolver } = world;
  let user = spec.user;
  let role = spec.role;
  if (spec.arn !== undefined) {
    for (const u of directory.users.values()) if (u.arn === spec.arn) user = u.name;
    role = roleByArn(directory, spec.arn)?.name ?? role;
    if (user === undefined && role === undefined) return undefined;
  }
  const mfa = spec.mfa === true;
  const facts = syntheticTokenFacts(ISSUER, 'offline', mfa, now);
  if (user !== undefined) {
    const r = resolver.user({ ...facts, userName: user, ...(spec.tags ? { tags: spec.tags } : {}) }, now);
    return r.ok ? r.principal : undefined;
  }
  if (role === undefined) return undefined;
  const r = resolver.roleSession(
    {
      ...facts,
      roleName: role,
      sessionName: spec.sessionName ?? SESSION,
      type: 'AssumedRole',
      ...(spec.sessionPolicy !== undefined ? { sessionPolicy: JSON.stringify(spec.sessionPolicy) } : {}),
      ...(spec.tags ? { sessionTags: spec.tags } : {}),
      ...(spec.sourceIdentity !== undefined ? { sourceIdentity: spec.sourceIdentity } : {}),
    },
    now,
  );
  return r.ok ? r.principal : undefined;
}

/** The context keys of a case, lower-cased, laid over what the gateway would set. */
function withOverrides(base: RequestContext, extra: Readonly<Record<string, ContextValue>>): RequestContext {
  const names = Object.keys(extra);
  if (names.length === 0) return base;
  const merged = new Map(base);
  for (const name of names) merged.set(name.toLowerCase(), extra[name] as ContextValue);
  return createContext(merged);
}

/**
 * The principal's keys and the time keys of a decision made without a request (as the STS's own
 * decisions take them, from the same writer), for a request given as action and resource.
 */
function directContext(principal: Principal, now: number): RequestContext {
  return createContext({ ...principal.context, ...timeKeys(now) });
}

const ASSUME_ACTIONS = new Set(['sts:assumerole', 'sts:tagsession', 'sts:setsourceidentity']);

/**
 * What decides a request: for assuming a directory role, as the STS endpoint decides it, the role's
 * trust policy as the resource policy (its deny reason too: mfa_required only where the trust
 * policy would admit the caller with a second factor); otherwise the principal's own policies.
 */
function decidingSet(directory: Directory, principal: Principal, request: AuthzRequest): PolicySet {
  if (!ASSUME_ACTIONS.has(request.action.toLowerCase())) return principal.policySet;
  const role = roleByArn(directory, request.resource);
  return role ? onRole(principal.policySet, role) : principal.policySet;
}

/**
 * The deny reason the gateway or the STS endpoint would give: assuming a role, `mfa_required` only
 * for a caller that can send a code (a role session is refused as for any other want, as the STS
 * refuses it).
 */
function offlineDenyReason(set: PolicySet, request: AuthzRequest, engine: Decision, principal: Principal): OfflineReason {
  const reason = denyReason(set, request, engine, policySetKeys(set));
  if (reason !== 'mfa_required' || canPresentMfa(principal) || !ASSUME_ACTIONS.has(request.action.toLowerCase())) return reason;
  return engine.decision === 'ExplicitDeny' ? 'explicit_deny' : 'implicit_deny';
}

function denied(reason: OfflineReason, explanation: string, mapped: { action?: string; resource?: string } = {}): OfflineDecision {
  return { decision: 'ImplicitDeny', reason, ...mapped, explanation: [explanation] };
}

/**
 * Decides a request for a principal as the gateway would: an unmatched route or a bad path is a
 * deny with the gateway's reason; `context` entries override the keys the gateway would set
 * (a request given as a path is seen from 127.0.0.1 without TLS unless the context says otherwise).
 */
export function decideOffline(
  world: PolicyWorld,
  principal: Principal,
  request: RequestSpec,
  context: Readonly<Record<string, ContextValue>>,
  now: number,
): OfflineDecision {
  let action: string;
  let resource: string;
  let route: string | undefined;
  let base: RequestContext;
  if ('action' in request) {
    action = request.action;
    resource = request.resource;
    base = directContext(principal, now);
  } else {
    const normalized = normalizeTarget(request.path, world.pathRules);
    if (!normalized.ok) return denied('bad_path', `the path is refused before any decision (${normalized.reason})`);
    const target = normalized.target;
    const method = request.method.toUpperCase();
    const match = world.routes.match(method, target.segments, target.path);
    if (!match) return denied('no_route', `no route matches ${method} ${target.path}`);
    action = match.action;
    resource = match.resource;
    route = match.route;
    const rawHeaders = Object.entries(request.headers ?? {}).flat();
    const facts: RequestFacts = { requestId: 'offline', method, target: request.path, rawHeaders, peerAddress: LOOPBACK, secure: false, now };
    const built = buildRequestContext(principal, facts, match, target.path, target.query, { sourceIp: LOOPBACK, secure: false });
    if (!built.ok) return denied('ambiguous_parameter', `condition key ${built.key} has more than one value`, { action, resource });
    base = built.context;
  }
  const authz: AuthzRequest = { principal: principal.arn, action, resource, context: withOverrides(base, context) };
  const set = decidingSet(world.directory, principal, authz);
  const engine = evaluate(set, authz);
  const reason = engine.decision === 'Allow' ? 'allowed' : offlineDenyReason(set, authz, engine, principal);
  return { decision: engine.decision, reason, action, resource, ...(route !== undefined ? { route } : {}), engine, request: authz, set, explanation: explainDecision(engine) };
}
