// Who the caller is: the request's credential facts offered to the authenticator chain (the
// snapshot's token authenticator, with the mesh peer's identity before it when configured; an
// operator simulation's stand-in instead). The chain answers the challenge of a 401, never this stage.
import { authenticatorsOf, bearerChallenge, createAuthenticatorChain, repeatedAuthorization, type Authenticator, type AuthenticatorChain, type ChainOutcome, type CredentialFacts } from '../../auth/authenticators/index.js';
import type { Principal } from '../../identity/index.js';
import type { GatewayErrorCode } from '../../errors/index.js';
import { CONTINUE, required, type Answer, type EventBase, type StageContext, type StageFactory, type StageResult } from './stage.js';

const PRINCIPAL_TYPES: Readonly<Record<Principal['type'], string>> = { User: 'user', AssumedRole: 'assumed-role', WebIdentity: 'web-identity' };

type EventFields = Required<Pick<EventBase, 'principal' | 'authn'>>;

/**
 * The audit fields of a principal, built once per principal object (a cached token yields the same
 * one). Frozen, so the audit encoder may keep their text per object (src/audit/encode.ts).
 */
function recordOf(recorded: WeakMap<Principal, EventFields>, principal: Principal): EventFields {
  let fields = recorded.get(principal);
  if (!fields) {
    fields = {
      principal: Object.freeze({
        arn: principal.arn,
        type: PRINCIPAL_TYPES[principal.type],
        ...(principal.sessionName !== undefined ? { session: principal.sessionName } : {}),
        ...(principal.sourceIdentity !== undefined ? { sourceIdentity: principal.sourceIdentity } : {}),
      }),
      authn: Object.freeze({ issuer: principal.issuer, methods: Object.freeze([...principal.authMethods]), mfa: principal.mfa }),
    };
    recorded.set(principal, fields);
  }
  return fields;
}

/** An authenticator must answer bad input with a failure; a throw is an outage: fail closed. */
function outage(err: unknown): Answer {
  return { code: 'auth_unavailable', reason: 'auth_error', detail: err instanceof Error ? err.message : String(err) };
}

type Rejection = Exclude<ChainOutcome, { readonly ok: true }>;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The stage's answer for a failed authentication. The chain shares one frozen outcome per failure
 * without a detail (no token, say), and `settle` keeps one answer per such outcome, so this runs
 * per request only for failures that carry a detail.
 */
function rejection(auth: Rejection): Answer {
  const code: GatewayErrorCode = auth.status === 401 ? 'unauthenticated' : auth.status === 429 ? 'rate_limited' : 'auth_unavailable';
  const headers = auth.challenge !== undefined ? { 'www-authenticate': auth.challenge } : NO_HEADERS;
  return { code, reason: auth.code, status: auth.status, message: auth.message, headers, ...(auth.detail !== undefined ? { detail: auth.detail } : {}) };
}

/** What the stage keeps between requests: each principal's audit fields, each shared outcome's answer. */
interface Memo {
  readonly recorded: WeakMap<Principal, EventFields>;
  readonly answers: WeakMap<Rejection, Answer>;
}

function settle(memo: Memo, ctx: StageContext, auth: ChainOutcome): StageResult {
  if (!auth.ok) {
    // The chain shares one frozen outcome per failure without a detail (no token, say): its answer is built once.
    if (!Object.isFrozen(auth)) return rejection(auth);
    let answer = memo.answers.get(auth);
    if (answer === undefined) memo.answers.set(auth, (answer = Object.freeze(rejection(auth))));
    return answer;
  }
  const principal = auth.principal;
  ctx.principal = principal;
  const fields = recordOf(memo.recorded, principal);
  ctx.event.principal = fields.principal;
  ctx.event.authn = fields.authn;
  return CONTINUE;
}

export const authenticate: StageFactory = (deps) => {
  // One chain per token authenticator (one per policy load) and per operator stand-in, built on first use.
  const chains = new WeakMap<Authenticator, AuthenticatorChain>();
  const memo: Memo = { recorded: new WeakMap(), answers: new WeakMap() };
  // The snapshot's authenticator is the same for every request until a reload: its chain is kept at hand.
  let lastTokens: Authenticator | undefined;
  let lastChain: AuthenticatorChain | undefined;
  const snapshotChain = (tokens: Authenticator): AuthenticatorChain => {
    if (tokens !== lastTokens || !lastChain) {
      lastChain = chainOf(tokens, false);
      lastTokens = tokens;
    }
    return lastChain;
  };
  const chainOf = (tokens: Authenticator, alone: boolean): AuthenticatorChain => {
    let chain = chains.get(tokens);
    if (!chain) {
      chain = createAuthenticatorChain(alone ? [tokens] : authenticatorsOf({ tokens, peer: deps.peerAuthenticator }), deps.realm);
      chains.set(tokens, chain);
    }
    return chain;
  };
  return {
    name: 'authenticate',
    run(ctx) {
      const { headers, facts } = ctx;
      const repeated = repeatedAuthorization(headers.authorizationCount);
      if (repeated) return rejection({ ...repeated, challenge: bearerChallenge(deps.realm, repeated) });
      const stand = ctx.override?.authenticator;
      const chain = stand ? chainOf(stand, true) : snapshotChain(required(ctx.snapshot, 'the policy snapshot').authenticator);
      const credentials: CredentialFacts = {
        authorization: headers.authorization,
        rawHeaders: facts.rawHeaders,
        peerAddress: facts.peerAddress,
        peerPrincipal: facts.peerPrincipal,
        peerCertificate: facts.peerCertificate,
        now: facts.now,
      };
      let auth: ChainOutcome | Promise<ChainOutcome>;
      try {
        auth = chain.authenticate(credentials);
      } catch (err) {
        return outage(err);
      }
      if (auth instanceof Promise) return auth.then((a) => settle(memo, ctx, a), outage);
      return settle(memo, ctx, auth);
    },
  };
};
