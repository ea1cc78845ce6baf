// The STS-style endpoints as a hono sub-app (mounted at /.iamgate/sts) and the JWKS handler
// (/.well-known/jwks.json). Bodies are small JSON objects with AWS's parameter names; every
// answer is JSON; failures carry a stable `error` code and a public title, never internals.
import { Hono, type Context, type Handler } from 'hono';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createIdSource } from '../../audit/index.js';
import { repeatedAuthorization } from '../authenticators/index.js';
import { AUTH_ERRORS, authErrorBody } from '../errors.js';
import type { SigningKeyRing } from '../keys/signing.js';
import type { Principal } from '../../identity/index.js';
import { REQUEST_KEYS } from '../../policy/index.js';
import { hasBody, readJsonBody } from './body.js';
import { STS_ERRORS, stsErrorBody, type StsErrorCode } from '../../errors/index.js';
import { isPrintableArn, readAssumeRole, readCommon, readWebIdentity, type Input } from './input.js';
import { createStsOperations, type IssuedCredentials, type RequestKeys, type StsAction, type StsDeps, type StsEvent, type StsFailure, type StsResult } from './operations.js';

type Obj = Record<string, unknown>;

/** Each endpoint's path and the action its audit records name. */
const ACTIONS: Readonly<Record<string, StsAction>> = {
  '/GetSessionToken': 'GetSessionToken',
  '/AssumeRole': 'AssumeRole',
  '/AssumeRoleWithWebIdentity': 'AssumeRoleWithWebIdentity',
  '/mfa/enroll': 'EnrollMfa',
  '/mfa/confirm': 'ConfirmMfa',
  '/RevokeSessions': 'RevokeSessions',
};

/**
 * The matched endpoint's action, and the call's request id (also read by the gateway's error
 * handler, which answers a call that failed on its way), set before anything can refuse the call.
 */
type StsEnv = { Variables: { stsAction: StsAction; requestId: string } };
/** The STS sub-app, mounted on the gateway port. */
export type StsApp = Hono<StsEnv>;
type StsContext = Context<StsEnv>;

function failure(c: StsContext, f: StsFailure): Response {
  if (f.retryAfterSeconds !== undefined) c.header('Retry-After', String(f.retryAfterSeconds));
  return stsError(c, f.code, undefined, {
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
    ...(f.findings ? { findings: f.findings.map(({ code, path, message }) => ({ code, path, message })) } : {}),
  });
}

/** The table's answer for `code`, with a finer message or extra fields when given, and the call's request id. */
function stsError(c: StsContext, code: StsErrorCode, message?: string, extra?: Readonly<Record<string, unknown>>): Response {
  return c.json(stsErrorBody(code, c.get('requestId'), message, extra), STS_ERRORS[code].status);
}

function credentials(c: Context, r: IssuedCredentials, roleSession: boolean): Response {
  const body: Obj = {
    Credentials: { SessionToken: r.token, TokenType: 'Bearer', Expiration: new Date(r.expiresAt).toISOString() },
  };
  if (roleSession) body['AssumedRoleUser'] = { Arn: r.principalArn, AssumedRoleId: r.principalId };
  if (r.sourceIdentity !== undefined) body['SourceIdentity'] = r.sourceIdentity;
  c.header('Cache-Control', 'no-store');
  return c.json(body);
}

/**
 * Why a call failed on its way, as its record says: the caller gone; a body the gateway failed
 * because it can never arrive whole (`ERR_REQUEST_BODY`, whose `failure` is the code the gateway
 * answers: `request_timeout` or `malformed_request`); else `internal_error`.
 */
function failedOnItsWay(err: unknown): string {
  const { code, failure } = (err ?? {}) as { code?: unknown; failure?: unknown };
  if (code === 'ECONNRESET') return 'client_closed';
  if (code === 'ERR_REQUEST_BODY' && typeof failure === 'string') return failure;
  return 'internal_error';
}

/** Creates the STS sub-app. Mount it with `app.route('/.iamgate/sts', createStsApp(deps))`. */
export function createStsApp(deps: StsDeps): StsApp {
  // The call being answered: its own condition keys, read once, and the address its records carry.
  // The operations report outcomes through `onEvent` without knowing the call; this store follows
  // each call's handler (and everything it awaits), so every record of a call names its address.
  const calls = new AsyncLocalStorage<{ readonly keys: RequestKeys; readonly sourceIp: string | undefined; readonly requestId: string }>();
  const onEvent = deps.onEvent;
  const emit = (event: StsEvent): void => {
    const call = calls.getStore();
    if (!call) return void onEvent?.(event);
    onEvent?.({ ...event, requestId: call.requestId, ...(call.sourceIp !== undefined ? { sourceIp: call.sourceIp } : {}) });
  };
  const nextId = deps.requestId ?? createIdSource();
  const idHeader = deps.requestIdHeader;
  const ops = createStsOperations({ ...deps, onEvent: emit });
  const app = new Hono<StsEnv>();
  const keysOf = (): RequestKeys => calls.getStore()?.keys ?? {};

  /**
   * Records a call refused before its operation ran (unauthenticated, a body that is not JSON or
   * too large, bad parameters), so every answer leaves a record as the operations' own answers do.
   */
  const refusal = (c: StsContext, code: string, caller?: Principal): void => {
    emit({ action: c.get('stsAction'), outcome: 'denied', code, requestId: c.get('requestId'), ...(caller ? { caller: caller.arn } : {}) });
  };
  const refuse = (c: StsContext, code: StsErrorCode, message?: string, caller?: Principal): Response => {
    refusal(c, code, caller);
    return stsError(c, code, message);
  };
  const badInput = (c: StsContext, input: Exclude<Input<unknown>, { ok: true }>, caller?: Principal): Response => {
    refusal(c, input.code, caller);
    return stsError(c, input.code, undefined, { detail: input.detail });
  };

  /** A refusal that leaves the body unread closes the connection: nothing more is read from it. */
  const unread = (c: Context): void => {
    if (hasBody(c.req.raw)) c.header('Connection', 'close');
  };
  /**
   * Callers, roles and their policies come with the first policies loaded: until then there is no
   * one to resolve, so a call is refused as every request is then, unread, and never failed.
   */
  const notLoaded = (c: StsContext): Response => {
    unread(c);
    return refuse(c, 'not_ready');
  };

  // Every call is named as a request through the gateway is: the id is on its answer (header, and
  // the body of a refusal) and in its audit record. (A path that names no action is not an STS
  // call: the gateway's pipeline answers it as any other reserved path.)
  for (const [path, action] of Object.entries(ACTIONS)) {
    app.use(path, async (c, next) => {
      const requestId = nextId();
      c.set('requestId', requestId);
      if (idHeader !== undefined) c.header(idHeader, requestId);
      c.set('stsAction', action);
      const keys = deps.requestKeys?.(c) ?? {};
      const sourceIp = keys[REQUEST_KEYS.sourceIp];
      const call = { keys, sourceIp: typeof sourceIp === 'string' ? sourceIp : undefined, requestId };
      if (c.req.method === 'POST' && deps.loaded?.() === false) return calls.run(call, () => notLoaded(c));
      await calls.run(call, next);
    });
  }

  /** The call's JSON object body (read after authentication, bounded), or the refusal to answer. */
  const body = async (c: StsContext, caller?: Principal): Promise<{ ok: true; body: Obj } | { ok: false; answer: Response }> => {
    const read = await readJsonBody(c.req.raw);
    if (read.ok) return read;
    if (read.code === 'request_too_large') {
      unread(c);
      return { ok: false, answer: refuse(c, 'request_too_large', undefined, caller) };
    }
    return { ok: false, answer: refuse(c, 'invalid_request', 'The body must be a JSON object', caller) };
  };

  /** Authenticates the caller (bearer token) and parses the body, or answers the failure. */
  const withCaller = async (c: StsContext, run: (caller: Principal, body: Obj) => Promise<Response>): Promise<Response> => {
    const auth = repeatedAuthorization(deps.authorizationLines?.(c) ?? 1) ?? (await deps.authenticator.authenticate({ authorization: c.req.header('authorization') }));
    if (!auth.ok) {
      refusal(c, auth.code);
      const bearer = AUTH_ERRORS[auth.code].bearerError;
      c.header('WWW-Authenticate', bearer ? `Bearer error="${bearer}"` : 'Bearer');
      unread(c);
      return c.json(authErrorBody(auth.code, c.get('requestId')), auth.status);
    }
    const read = await body(c, auth.principal);
    return read.ok ? run(auth.principal, read.body) : read.answer;
  };

  const answer = <T>(c: StsContext, result: StsResult<T>, ok: (value: T) => Response): Response => (result.ok ? ok(result.value) : failure(c, result));

  app.post('/GetSessionToken', (c) =>
    withCaller(c, async (caller, body) => {
      const input = readCommon(body, ['DurationSeconds', 'TokenCode']);
      if (!input.ok) return badInput(c, input, caller);
      return answer(c, await ops.getSessionToken(caller, input.value), (r) => credentials(c, r, false));
    }),
  );

  app.post('/AssumeRole', (c) =>
    withCaller(c, async (caller, body) => {
      const input = readAssumeRole(body);
      if (!input.ok) return badInput(c, input, caller);
      return answer(c, await ops.assumeRole(caller, input.value, keysOf()), (r) => credentials(c, r, true));
    }),
  );

  app.post('/AssumeRoleWithWebIdentity', async (c) => {
    const read = await body(c);
    if (!read.ok) return read.answer;
    const input = readWebIdentity(read.body);
    if (!input.ok) return badInput(c, input);
    return answer(c, await ops.assumeRoleWithWebIdentity(input.value, keysOf()), (r) => credentials(c, r, true));
  });

  app.post('/mfa/enroll', (c) =>
    withCaller(c, async (caller) =>
      answer(c, await ops.enrollMfa(caller, keysOf()), (r) => {
        c.header('Cache-Control', 'no-store');
        return c.json({ SecretBase32: r.secret, OtpauthUri: r.uri });
      }),
    ),
  );

  app.post('/mfa/confirm', (c) =>
    withCaller(c, async (caller, body) => {
      const code = body['TokenCode'];
      if (typeof code !== 'string') return refuse(c, 'invalid_request', 'TokenCode is required', caller);
      return answer(c, await ops.confirmMfa(caller, code, keysOf()), () => c.json({ Enrolled: true }));
    }),
  );

  app.post('/RevokeSessions', (c) =>
    withCaller(c, async (caller, body) => {
      const arn = body['PrincipalArn'];
      const beforeRaw = body['Before'];
      const now = (deps.now ?? Date.now)();
      const before = beforeRaw === undefined ? now : typeof beforeRaw === 'string' ? Date.parse(beforeRaw) : NaN;
      // A time before 1970 is refused: stored, it would not read as a time (STORED_TIME) but as a
      // damaged entry revoking every session, while this answer named a time long past. A time
      // after now is refused too: it would revoke sessions not issued yet, until that time, and a
      // revocation is never lifted.
      // The ARN is the record's resource: one that is not printable ASCII names no principal anyway.
      if (!isPrintableArn(arn) || !Number.isFinite(before) || before < 0 || before > now) {
        return refuse(c, 'invalid_request', 'PrincipalArn (a user, role or role session ARN: arn: and at most 2048 printable ASCII characters) and an optional ISO Before, from 1970 to the time now, are required', caller);
      }
      return answer(c, await ops.revokeSessions(caller, arn, before, keysOf()), (r) => c.json({ RevokedBefore: new Date(r.before).toISOString() }));
    }),
  );

  // A call that fails on its way (the caller went away while sending its body, a body that can
  // never arrive whole, a key that cannot be read) is recorded too, then answered by the gateway's
  // own error handler.
  app.onError((err, c) => {
    if (c.get('stsAction') !== undefined) refusal(c, failedOnItsWay(err));
    throw err;
  });
  return app;
}

/** Serves the public signing keys of iamgate's session tokens as a JWK Set. */
export function createJwksHandler(ring: SigningKeyRing): Handler {
  return (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(ring.publicJwks());
  };
}
