// The hono app on the gateway port: iamgate's reserved endpoints first, then every other request
// through the proxy handler, which writes straight onto Node's response (hono routes, undici forwards).
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IDENTITY_HEADERS } from '../proxy/index.js';
import { errorAnswer } from '../errors/index.js';
import { errorCodeOf } from './errors.js';
import { FORWARD_AUTH_PATH } from './forward-auth.js';
import { closeAfterAnswer } from './respond.js';

/** `requestId`: set by a mounted endpoint that names its calls (STS), so a call failing on its way is answered under its own id. */
export type GatewayEnv = { Bindings: HttpBindings; Variables: { requestId: string | undefined } };

/** The Node request a hono call came in on, when it came over the network (a call made in-process has none). */
export function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming;
}

type RawHandler = (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<void> | undefined;

export interface GatewayAppDeps {
  readonly proxy: RawHandler;
  /** The forward-auth decision endpoint, when enabled. */
  readonly forwardAuth?: RawHandler;
  /** Mounts other reserved endpoints (STS under `/.iamgate/sts`, the JWKS at `/.well-known/jwks.json`). */
  readonly mount?: (app: Hono<GatewayEnv>) => void;
  /** Told about errors thrown by mounted endpoints (answered 500). */
  readonly onError: (err: unknown) => void;
  /** The gateway's source of request ids, for a failure no mounted endpoint named. */
  readonly requestId: () => string;
}

/** Wraps a raw-Node handler as a hono handler that tells the adapter the response is already written. */
function raw(handler: RawHandler) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    await handler(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

const ALREADY_SENT = 'x-hono-already-sent';

/**
 * The app's fetch for the Node adapter. Hono answers HEAD by running the GET route and copying its
 * answer into a new Response: the copy of RESPONSE_ALREADY_SENT is no longer the adapter's marker,
 * so the adapter would write a bare 200 over the answer a raw handler has not written yet (a
 * refusal written on the next tick, an upstream's answer still to come). The marker is handed back.
 */
export function adapterFetch(app: Hono<GatewayEnv>): Hono<GatewayEnv>['fetch'] {
  return (request, env, ctx) => {
    const answer = app.fetch(request, env, ctx);
    if (request.method !== 'HEAD') return answer;
    return Promise.resolve(answer).then((res) => (res.headers.has(ALREADY_SENT) ? RESPONSE_ALREADY_SENT : res));
  };
}

/**
 * Middleware for a mounted endpoint whose answer may close the connection (the STS refusing a call
 * whose body it did not read): marks the connection, as writeJson does, so what Node parses behind
 * it is dropped unanswered. Used only where such an answer can come, so forward-auth and ext_authz
 * checks, on every request of the proxies that ask them, do not pay for it.
 */
export const markClosingAnswer: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  await next();
  const socket = c.env?.incoming?.socket;
  if (socket && c.res.headers.get('connection')?.toLowerCase() === 'close') closeAfterAnswer(socket);
};

/** Creates the gateway's hono app. */
export function createGatewayApp(deps: GatewayAppDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.onError((err, c) => {
    deps.onError(err);
    const requestId = c.get('requestId') ?? deps.requestId();
    const { status, body } = errorAnswer(errorCodeOf(err), requestId);
    return Response.json(body, { status, headers: { 'cache-control': 'no-store', [IDENTITY_HEADERS.requestId]: requestId } });
  });
  deps.mount?.(app);
  if (deps.forwardAuth) {
    app.all(FORWARD_AUTH_PATH, raw(deps.forwardAuth));
    app.all(`${FORWARD_AUTH_PATH}/*`, raw(deps.forwardAuth));
  }
  app.all('*', raw(deps.proxy));
  return app;
}
