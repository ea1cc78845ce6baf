// The operations listener: liveness, readiness (and why not), Prometheus metrics, and operator
// endpoints that explain a decision without forwarding anything. It belongs on a port only the
// platform can reach (probes, scrapers, operators), never the public one.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { explainDecision } from '../policy/index.js';
import { incomingOf } from './app.js';
import type { Authenticator } from './auth.js';
import type { RequestFacts } from './context.js';
import { GATEWAY_ERRORS, operatorErrorBody } from '../errors/index.js';
import type { GatewayMetrics } from './metrics.js';
import { operationsHosts } from './ops-hosts.js';
import { refusedFromWebPage } from './ops-origins.js';
import type { Pipeline } from './pipeline.js';
import type { ShadowSummary } from './shadow.js';

/** A sample value prom-client wrote as `Nan` (at the end of its line). */
const NOT_A_NUMBER = / Nan$/gm;

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (empty when ready); also the last reload failure while the previous policies keep serving. */
  readonly reasons: readonly string[];
  /** What serves but helps no one, such as no trusted issuer; absent when there is nothing to say. */
  readonly warnings?: readonly string[];
  readonly generation?: number;
  readonly loadedAt?: string;
}

export interface ReloadReport {
  readonly ok: boolean;
  readonly generation?: number;
  readonly problems: readonly string[];
}

export interface OperationsDeps {
  readonly metrics: GatewayMetrics;
  readonly readiness: () => Readiness;
  readonly pipeline: Pipeline;
  readonly operatorEndpoints: boolean;
  /** Host names the listener answers to besides IP addresses and `localhost` (`operations.hosts`). */
  readonly hosts?: readonly string[];
  readonly reload: () => Promise<ReloadReport>;
  /** Resolves a directory principal for a simulated decision (`principal` + `mfa` in the request). */
  readonly simulatedAuthenticator: (principalArn: string, mfa: boolean) => Authenticator | undefined;
  readonly now: () => number;
  /** Shadow evaluation so far: counts by direction and the latest disagreements. */
  readonly shadow?: () => ShadowSummary;
  /** Told about an error an endpoint failed with (answered 500 internal_error). */
  readonly onError?: (err: unknown) => void;
}

interface ExplainBody {
  readonly method?: unknown;
  readonly path?: unknown;
  readonly headers?: unknown;
  readonly principal?: unknown;
  readonly mfa?: unknown;
  readonly sourceIp?: unknown;
}

function badRequest(message: string): Response {
  return Response.json(operatorErrorBody('bad_request', message), { status: GATEWAY_ERRORS.bad_request.status });
}

/** Headers from the explain request body, as a flat raw list. */
function rawHeaderList(headers: unknown): string[] | undefined {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return undefined;
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') return undefined;
    out.push(k, v);
  }
  return out;
}

/** The largest body an operator endpoint reads (an explain request with a token in its headers fits many times over). */
export const OPERATOR_BODY_BYTES = 64 * 1024;

/**
 * The answer to a request the Node adapter cannot make into one for the app (a Host it cannot
 * read, a `*` target): the table's JSON, as every other refusal of this listener.
 */
export function operationsRequestError(): Response {
  return Response.json(operatorErrorBody('malformed_request'), { status: GATEWAY_ERRORS.malformed_request.status });
}

/** Creates the operations app (`/healthz`, `/readyz`, `/metrics`, `/v1/...`). */
export function createOperationsApp(deps: OperationsDeps): Hono {
  const app = new Hono();
  const hostAllowed = operationsHosts(deps.hosts ?? []);
  // Every answer is the table's JSON, as the endpoints' own refusals are: hono's defaults would be
  // bare text, and its error handler writes the error (paths, a stack) to standard error, past the
  // operational log and its redaction.
  app.notFound((c) => c.json(operatorErrorBody('reserved_path', 'this listener serves no such path, or not with this method'), GATEWAY_ERRORS.reserved_path.status));
  app.onError((err, c) => {
    deps.onError?.(err);
    return c.json(operatorErrorBody('internal_error'), GATEWAY_ERRORS.internal_error.status);
  });
  // Before every route, those mounted later (the audit key, the assertion keys) included.
  app.use('*', async (c, next) => {
    // A URL as the target names a host of its own, which HTTP has a server take over the Host
    // header checked below: only a path is taken, as on the gateway port.
    const target = incomingOf(c)?.url;
    if (target !== undefined && !target.startsWith('/')) {
      return c.json(operatorErrorBody('bad_path', 'this listener takes a path as the request target, not a URL'), GATEWAY_ERRORS.bad_path.status);
    }
    if (!hostAllowed(c.req.header('host'))) {
      return c.json(operatorErrorBody('misdirected_host', 'this listener answers to an IP address, localhost or a name in operations.hosts'), GATEWAY_ERRORS.misdirected_host.status);
    }
    if (refusedFromWebPage(c.req.method, c.req.header('origin'), c.req.header('sec-fetch-site'))) {
      return c.json(operatorErrorBody('web_page_refused', 'this listener answers no request but a read (GET, HEAD) that a web page sends (Origin or Sec-Fetch-Site)'), GATEWAY_ERRORS.web_page_refused.status);
    }
    await next();
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const r = deps.readiness();
    return c.json(r, r.ready ? 200 : GATEWAY_ERRORS.not_ready.status);
  });
  app.get('/metrics', async (c) => {
    // prom-client writes a value it has no sample for (the event-loop lag between two samples) as
    // `Nan`; the exposition format spells it `NaN`, and strict parsers take nothing else.
    const text = (await deps.metrics.registry.metrics()).replace(NOT_A_NUMBER, ' NaN');
    return c.body(text, 200, { 'content-type': deps.metrics.registry.contentType });
  });
  const shadow = deps.shadow;
  if (shadow) app.get('/shadow', (c) => c.json(shadow()));
  if (!deps.operatorEndpoints) return app;

  // An explain request is a few hundred bytes: larger bodies are refused before they are read (by
  // their Content-Length) or as soon as they pass the limit, and the connection is closed rather
  // than drained, so a client cannot make this listener hold or read without end.
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: OPERATOR_BODY_BYTES,
      onError: (c) => {
        c.header('connection', 'close');
        return c.json(operatorErrorBody('body_too_large', `operator requests take at most ${OPERATOR_BODY_BYTES} bytes of body`), GATEWAY_ERRORS.body_too_large.status);
      },
    }),
  );

  // Explains what iamgate would decide for a request, without forwarding it or auditing it.
  // Either `headers.authorization` carries a real token, or `principal` names a directory user
  // or role to simulate (with `mfa` saying whether a second factor was presented).
  app.post('/v1/decisions/explain', async (c) => {
    let body: ExplainBody;
    try {
      body = (await c.req.json()) as ExplainBody;
    } catch {
      return badRequest('the body must be JSON');
    }
    if (typeof body !== 'object' || body === null) return badRequest('the body must be a JSON object');
    const method = typeof body.method === 'string' ? body.method.toUpperCase() : 'GET';
    if (typeof body.path !== 'string') return badRequest('"path" (the request target, e.g. "/orders/1?x=1") is required');
    const rawHeaders = rawHeaderList(body.headers);
    if (!rawHeaders) return badRequest('"headers" must map header names to strings');
    let authenticator: Authenticator | undefined;
    if (body.principal !== undefined) {
      if (typeof body.principal !== 'string') return badRequest('"principal" must be an ARN');
      authenticator = deps.simulatedAuthenticator(body.principal, body.mfa === true);
      if (!authenticator) return badRequest(`"${body.principal}" is not a user or role in the directory`);
    }
    const facts: RequestFacts = {
      requestId: `explain-${crypto.randomUUID()}`,
      method,
      target: body.path,
      rawHeaders,
      peerAddress: typeof body.sourceIp === 'string' ? body.sourceIp : '127.0.0.1',
      secure: false,
      now: deps.now(),
    };
    const outcome = await deps.pipeline.run(facts, 'operator', authenticator ? { authenticator } : undefined);
    const verdict = outcome.verdict;
    return c.json({
      outcome: outcome.kind,
      status: outcome.kind === 'allow' ? 200 : outcome.status,
      reason: outcome.event.reason,
      principal: outcome.event.principal?.arn ?? null,
      action: outcome.event.action ?? null,
      resource: outcome.event.resource ?? null,
      decision: verdict?.decision ?? null,
      explanation: verdict ? explainDecision(verdict.decision) : [],
      ...(outcome.kind === 'reject' ? { body: outcome.body } : {}),
    });
  });

  app.post('/v1/policies/reload', async (c) => {
    const report = await deps.reload();
    return c.json(report, report.ok ? 200 : GATEWAY_ERRORS.policies_invalid.status);
  });
  return app;
}
