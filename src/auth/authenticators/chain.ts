// The authenticators of a gateway as one chain: each is offered the request in turn, and the
// first that claims it decides. A request none claims has no credential iamgate knows: 401
// `token_missing`, challenged by every scheme that has a challenge.
import { authFailure } from '../errors.js';
import { NOT_MINE, type Authenticator, type AuthOutcome, type AuthRejection, type AuthResult, type CredentialFacts } from './authenticator.js';

/** A chain's answer: a principal, or a failure with the challenge of the scheme that answered it. */
export type ChainOutcome = Extract<AuthOutcome, { readonly ok: true }> | (AuthRejection & { readonly challenge: string | undefined });

export interface AuthenticatorChain {
  /** Synchronous when the authenticator that claims the request answers synchronously. */
  authenticate(facts: CredentialFacts): ChainOutcome | Promise<ChainOutcome>;
}

const MAX_MEMOISED = 16;

/** Creates a chain over authenticators in precedence order; `realm` is named in challenges. */
export function createAuthenticatorChain(members: readonly Authenticator[], realm: string): AuthenticatorChain {
  /**
   * The challenge of the scheme that answered; a scheme without one of its own (the mesh peer)
   * still gets a 401 that names a scheme the caller could use instead, as RFC 7235 wants.
   */
  const challengeFor = (member: Authenticator, failure: AuthRejection): string | undefined => {
    const own = member.challenge?.(realm, failure);
    if (own !== undefined) return own;
    for (const other of members) {
      const c = other === member ? undefined : other.challenge?.(realm, failure);
      if (c !== undefined) return c;
    }
    return undefined;
  };

  /**
   * A member's challenge for a failure, memoised by the failure's code and message (what a
   * challenge is built from): a missing or expired token is challenged the same way every time.
   */
  const memo = new Map<Authenticator, Map<string, Map<string, string | undefined>>>();
  const challengeOf = (member: Authenticator, failure: AuthRejection): string | undefined => {
    let byCode = memo.get(member);
    if (byCode === undefined) memo.set(member, (byCode = new Map()));
    let byText = byCode.get(failure.code);
    if (byText === undefined) byCode.set(failure.code, (byText = new Map()));
    if (byText.has(failure.message)) return byText.get(failure.message);
    const challenge = challengeFor(member, failure);
    // Messages are the failures' public titles, a few a code; the bound is a guard.
    if (byText.size < MAX_MEMOISED) byText.set(failure.message, challenge);
    return challenge;
  };

  // Every field named: a copy made with a spread and one more key costs V8 microseconds a request.
  const answered = (member: Authenticator, outcome: AuthOutcome): ChainOutcome => {
    if (outcome.ok) return outcome;
    const challenge = outcome.status === 401 ? challengeOf(member, outcome) : undefined;
    const { code, status, message, detail } = outcome;
    return detail === undefined ? { ok: false, code, status, message, challenge } : { ok: false, code, status, message, detail, challenge };
  };

  /**
   * The answer to a request no member claims: the same for every such request (a challenge depends
   * on the realm and the failure only), so it is built once, with the chain, and shared frozen.
   */
  const unclaimedOutcome: ChainOutcome = (() => {
    const challenges: string[] = [];
    for (const m of members) {
      const c = m.challenge?.(realm, undefined);
      if (c !== undefined) challenges.push(c);
    }
    return Object.freeze({ ...authFailure('token_missing'), challenge: challenges.length > 0 ? challenges.join(', ') : undefined });
  })();

  const from = (index: number, facts: CredentialFacts): ChainOutcome | Promise<ChainOutcome> => {
    for (let i = index; i < members.length; i++) {
      const member = members[i]!;
      const result: AuthResult | Promise<AuthResult> = member.authenticate(facts);
      if (result instanceof Promise) return result.then((r) => (r === NOT_MINE ? from(i + 1, facts) : answered(member, r)));
      if (result !== NOT_MINE) return answered(member, result);
    }
    return unclaimedOutcome;
  };

  return { authenticate: (facts) => from(0, facts) };
}
