// The decision endpoint for other proxies (`/.iamgate/authz`): the same pipeline, answering 200
// with identity headers, or the rejection, instead of forwarding. Three dialects:
//   nginx auth_request:   X-Original-Method + X-Original-URI (or X-Original-URL, as ingress-nginx sends)
//   Traefik ForwardAuth:  X-Forwarded-Method + X-Forwarded-Uri (+ X-Forwarded-Host)
//   Envoy ext_authz HTTP: the original method, path appended to the endpoint's path
import { createIdSource } from '../audit/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DESCRIBING, IDENTITY_HEADERS, type DescribingHeader } from '../proxy/index.js';
import { headerValue, type RequestFacts } from './context.js';
import { isPrintableMethod } from './described-framing.js';
import type { GatewayMetrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';
import { rejectionOutcome, requestFacts } from './proxy-handler.js';
import { closeAfterAnswer, writeError, writeJson } from './respond.js';

export const FORWARD_AUTH_PATH = '/.iamgate/authz';

export type ForwardAuthDialect = 'nginx' | 'traefik' | 'envoy';

/**
 * The request target of an absolute URL (`https://host/a/../b?x` → `/a/../b?x`), taken as
 * written: it is normalised by the pipeline like any other target, never by a URL parser first.
 */
function targetOfUrl(url: string): string | undefined {
  const m = /^https?:\/\/[^/?#]*/i.exec(url);
  if (!m) return undefined;
  const rest = url.slice(m[0].length);
  return rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
}

/** One place a forward-auth call can describe the original request in. */
interface Description {
  readonly dialect: ForwardAuthDialect;
  readonly method: string | undefined;
  readonly target: string | undefined;
}

/**
 * The headers forward-auth reads as the original request. They are on the proxy's list of
 * describing headers (the type says so), so iamgate's own proxy never passes one to an upstream.
 */
const READS = {
  originalUri: 'x-original-uri',
  originalUrl: 'x-original-url',
  originalMethod: 'x-original-method',
  forwardedUri: 'x-forwarded-uri',
  forwardedMethod: 'x-forwarded-method',
} as const satisfies Record<string, DescribingHeader>;

/** The describing headers (of the proxy's whole list, not only those read) a call carries, or the first it repeats. */
function describingPresent(raw: readonly string[]): { readonly repeated: string | undefined; readonly present: ReadonlySet<string> | undefined } {
  let seen: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (!DESCRIBING.has(lower)) continue;
    if (seen?.has(lower)) return { repeated: lower, present: seen };
    (seen ??= new Set()).add(lower);
  }
  return { repeated: undefined, present: seen };
}

/** The describing headers each dialect reads; any other one on the call would describe a request iamgate did not decide on. */
const READ_BY: Readonly<Record<ForwardAuthDialect, ReadonlySet<string>>> = {
  nginx: new Set([READS.originalUri, READS.originalUrl, READS.originalMethod]),
  traefik: new Set([READS.forwardedUri, READS.forwardedMethod]),
  envoy: new Set(),
};

/** The first describing header on the call that none of the descriptions found reads. */
function unreadDescription(present: ReadonlySet<string> | undefined, found: readonly Description[]): string | undefined {
  if (!present) return undefined;
  for (const name of present) if (!found.some((d) => READ_BY[d.dialect].has(name))) return name;
  return undefined;
}

export type OriginalRequest =
  | { readonly ok: true; readonly dialect: ForwardAuthDialect; readonly method: string; readonly target: string }
  | { readonly ok: false; readonly code: 'forward_auth_incomplete'; readonly detail: string }
  | { readonly ok: false; readonly code: 'forward_auth_ambiguous'; readonly detail: string };

/**
 * The original request a forward-auth call asks about, from exactly one description. Every
 * description the call carries — X-Original-URI, X-Original-URL, X-Forwarded-Uri, the Envoy
 * path — must say the same method and target, no describing header may be repeated, and none
 * may be present that no description reads: a client can add headers that its proxy passes on,
 * so iamgate never picks one of two answers.
 */
export function originalRequest(incoming: IncomingMessage): OriginalRequest {
  const raw = incoming.rawHeaders;
  const { repeated, present } = describingPresent(raw);
  if (repeated !== undefined) return { ok: false, code: 'forward_auth_ambiguous', detail: `${repeated} is repeated` };
  const found: Description[] = [];
  const originalMethod = headerValue(raw, READS.originalMethod);
  const uri = headerValue(raw, READS.originalUri);
  if (uri !== undefined) found.push({ dialect: 'nginx', method: originalMethod, target: uri });
  const url = headerValue(raw, READS.originalUrl);
  if (url !== undefined) found.push({ dialect: 'nginx', method: originalMethod, target: targetOfUrl(url) });
  const forwardedUri = headerValue(raw, READS.forwardedUri);
  if (forwardedUri !== undefined) found.push({ dialect: 'traefik', method: headerValue(raw, READS.forwardedMethod), target: forwardedUri });
  const path = incoming.url ?? '';
  if (path.startsWith(FORWARD_AUTH_PATH + '/')) found.push({ dialect: 'envoy', method: incoming.method, target: path.slice(FORWARD_AUTH_PATH.length) });
  const first = found[0];
  if (!first) return { ok: false, code: 'forward_auth_incomplete', detail: 'no original URI' };
  for (const other of found.slice(1)) {
    if (other.target !== first.target || other.method?.toUpperCase() !== first.method?.toUpperCase()) {
      return { ok: false, code: 'forward_auth_ambiguous', detail: `the ${first.dialect} and ${other.dialect} descriptions differ` };
    }
  }
  // A header such as X-HTTP-Method-Override or X-Rewrite-URL may make the service act on another
  // request than the one described, so a call carrying one iamgate does not read is refused.
  const unread = unreadDescription(present, found);
  if (unread !== undefined) return { ok: false, code: 'forward_auth_ambiguous', detail: `${unread} is not read by the ${first.dialect} description` };
  if (!first.method || first.target === undefined) return { ok: false, code: 'forward_auth_incomplete', detail: 'no original method or URI' };
  if (!isPrintableMethod(first.method)) return { ok: false, code: 'forward_auth_incomplete', detail: 'the original method is not printable ASCII' };
  return { ok: true, dialect: first.dialect, method: first.method.toUpperCase(), target: first.target };
}

export interface ForwardAuthDeps {
  readonly pipeline: Pipeline;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly requestId?: () => string;
}

/** Creates the forward-auth handler on raw Node objects. */
export function createForwardAuthHandler(deps: ForwardAuthDeps): (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<void> {
  const nextId = deps.requestId ?? createIdSource();
  return async (incoming, outgoing) => {
    const started = performance.now();
    const requestId = nextId();
    const done = (outcome: string): void => {
      deps.metrics.count.request(`forward_auth_${outcome}`);
      deps.metrics.totalSeconds.observe((performance.now() - started) / 1000);
    };
    const original = originalRequest(incoming);
    const own = requestFacts(incoming, requestId, deps.now());
    const facts: RequestFacts = original.ok ? { ...own, method: original.method, target: original.target } : own;
    let outcome;
    try {
      outcome = await deps.pipeline.run(facts, 'forward-auth', original.ok ? undefined : { refusal: { code: original.code, detail: original.detail } });
    } catch (err) {
      deps.logger.error({ requestId, err }, 'pipeline failed');
      writeError(incoming, outgoing, 'internal_error', requestId);
      done('internal_error');
      return;
    }
    if (outcome.kind === 'reject') {
      writeJson(incoming, outgoing, outcome.status, outcome.body, requestId, outcome.headers);
      done(rejectionOutcome(outcome.code));
      return;
    }
    const p = outcome.principal;
    const headers: Record<string, string> = {
      [IDENTITY_HEADERS.principal]: p.arn,
      [IDENTITY_HEADERS.account]: p.accountId,
      [IDENTITY_HEADERS.mfa]: p.mfa ? 'true' : 'false',
      'cache-control': 'no-store',
      'content-length': '0',
      [IDENTITY_HEADERS.requestId]: requestId,
      // Always present, empty without a role session: a proxy that copies it then overwrites (or,
      // as nginx does with an empty value, drops) a caller's own copy instead of letting it pass.
      [IDENTITY_HEADERS.session]: p.sessionName ?? '',
    };
    if (!incoming.complete) {
      headers['connection'] = 'close';
      closeAfterAnswer(incoming.socket);
    }
    outgoing.writeHead(200, headers);
    outgoing.end();
    done('allowed');
  };
}
