// The decision endpoint for other proxies (`/.iamgate/authz`): the same pipeline, answering 200
// with identity headers, or the rejection, instead of forwarding. Three dialects:
//   nginx auth_request:   X-Original-Method + X-Original-URI (or X-Original-URL, as ingress-nginx sends)
//   Traefik ForwardAuth:  X-Forwarded-Method + X-Forwarded-Uri (+ X-Forwarded-Host)
//   Envoy ext_authz HTTP: the original method, path appended to the endpoint's path
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { IDENTITY_HEADERS } from '../proxy/index.js';
import { headerValue, type RequestFacts } from './context.js';
import { errorBody, GATEWAY_ERRORS } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';
import { rejectionOutcome, requestFacts } from './proxy-handler.js';
import { writeJson } from './respond.js';

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

/** The original request a forward-auth call asks about, or undefined when the call does not say. */
export function originalRequest(incoming: IncomingMessage): { dialect: ForwardAuthDialect; method: string; target: string } | undefined {
  const raw = incoming.rawHeaders;
  const originalUrl = headerValue(raw, 'x-original-url');
  const nginxUri = headerValue(raw, 'x-original-uri') ?? (originalUrl === undefined ? undefined : targetOfUrl(originalUrl));
  if (nginxUri !== undefined) {
    const method = headerValue(raw, 'x-original-method');
    return method ? { dialect: 'nginx', method: method.toUpperCase(), target: nginxUri } : undefined;
  }
  const traefikUri = headerValue(raw, 'x-forwarded-uri');
  if (traefikUri !== undefined) {
    const method = headerValue(raw, 'x-forwarded-method');
    return method ? { dialect: 'traefik', method: method.toUpperCase(), target: traefikUri } : undefined;
  }
  const url = incoming.url ?? '';
  if (url.startsWith(FORWARD_AUTH_PATH + '/')) {
    return { dialect: 'envoy', method: incoming.method ?? 'GET', target: url.slice(FORWARD_AUTH_PATH.length) };
  }
  return undefined;
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
  const nextId = deps.requestId ?? randomUUID;
  return async (incoming, outgoing) => {
    const started = performance.now();
    const requestId = nextId();
    const done = (outcome: string): void => {
      deps.metrics.requests.inc({ outcome: `forward_auth_${outcome}` });
      deps.metrics.totalSeconds.observe((performance.now() - started) / 1000);
    };
    const original = originalRequest(incoming);
    if (!original) {
      writeJson(incoming, outgoing, GATEWAY_ERRORS.forward_auth_incomplete.status, errorBody('forward_auth_incomplete', requestId), requestId);
      done('bad_request');
      return;
    }
    const facts: RequestFacts = { ...requestFacts(incoming, requestId, deps.now()), method: original.method, target: original.target };
    let outcome;
    try {
      outcome = await deps.pipeline.run(facts, 'forward-auth');
    } catch (err) {
      deps.logger.error({ requestId, err }, 'pipeline failed');
      writeJson(incoming, outgoing, GATEWAY_ERRORS.internal_error.status, errorBody('internal_error', requestId), requestId);
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
    };
    if (p.sessionName !== undefined) headers[IDENTITY_HEADERS.session] = p.sessionName;
    if (!incoming.complete) headers['connection'] = 'close';
    outgoing.writeHead(200, headers);
    outgoing.end();
    done('allowed');
  };
}
