// The shape of one authenticator: given what the request offers as proof of identity, it answers
// with a principal, with a failure, or with "not mine" (it does not recognise the credential, and
// the next authenticator of the chain is asked). Each owns the challenge of its scheme.
import type { Principal } from '../../identity/index.js';

/** What an authentication decided: a principal, or a failure with a stable code. */
export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      /** Stable reason code, e.g. `token_expired`. */
      readonly code: string;
      readonly status: 401 | 429 | 503;
      /** Public title; safe to show the caller. */
      readonly message: string;
      /** Audit-only detail; never sent to the caller. */
      readonly detail?: string;
    };

export type AuthRejection = Extract<AuthOutcome, { readonly ok: false }>;

/** The authenticator does not recognise the request's credential: the next one is asked. */
export const NOT_MINE: unique symbol = Symbol('not mine');

export type AuthResult = AuthOutcome | typeof NOT_MINE;

/** What a request offers as proof of identity, the same whichever front door it came through. */
export interface CredentialFacts {
  /** The Authorization header, when the request has one (a request with two is refused before: `repeatedAuthorization`). */
  readonly authorization: string | undefined;
  /** Every header as received, `[name, value, ...]`. */
  readonly rawHeaders: readonly string[];
  readonly peerAddress: string;
  /** The peer's identity as the asking proxy authenticated it (ext_authz: a SPIFFE ID under Istio). */
  readonly peerPrincipal?: string | undefined;
  /** The caller's TLS client certificate (PEM), read only when asked. */
  readonly peerCertificate?: (() => string | undefined) | undefined;
  /** Epoch ms when the request arrived. */
  readonly now: number;
}

/** One way of proving identity. Never throws for bad input: a throw is an outage (the request fails closed). */
export interface Authenticator {
  /** Synchronous when it can answer without waiting (a cached token). */
  authenticate(facts: CredentialFacts): AuthResult | Promise<AuthResult>;
  /**
   * The `WWW-Authenticate` challenge of this scheme for a 401: for the failure it answered, or
   * (`undefined`) for a request no authenticator claimed. Absent or undefined: no challenge.
   */
  challenge?(realm: string, failure: AuthRejection | undefined): string | undefined;
}
